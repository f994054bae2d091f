package resilience

import (
	"net/http"

	thttp "github.com/tailorkit/tailor/transport/http"
)

// Handler returns next behind the shedder: a request beyond the limit is
// answered at once with a 503 problem+json and a Retry-After header, before
// its body is read or decoded. Its signature fits func(http.Handler)
// http.Handler, so it composes with any HTTP middleware chain.
func (s *Shedder) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, err := s.admit()
		if err != nil {
			thttp.WriteError(w, r, err)
			return
		}
		defer s.done(start)
		next.ServeHTTP(w, r)
	})
}

// Handler returns next behind the rate limit: a refused request is answered
// with a 429 problem+json and a Retry-After header before its body is read.
// A keyed limiter's key function receives the *http.Request as its request.
func (l *RateLimiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := l.Allow(r.Context(), r); err != nil {
			thttp.WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
