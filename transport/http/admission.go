package http

import (
	"net/http"

	"github.com/tailorkit/tailor/resilience"
)

// RateLimit returns a middleware that admits each request through l before
// next sees it: a refused request is answered at once with a 429
// problem+json and a Retry-After header, before its body is read. key
// picks the request's bucket (a client IP, a user, an API key); a nil key
// puts every request in one bucket. The middleware fits [WithMiddleware]
// and any func(http.Handler) http.Handler chain.
func RateLimit(l *resilience.RateLimiter, key func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := ""
			if key != nil {
				k = key(r)
			}
			if err := l.Allow(k); err != nil {
				WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Shed returns a middleware that admits each request through s's adaptive
// concurrency limit: a request beyond the limit is answered at once with a
// 503 problem+json and a Retry-After header, before its body is read, and
// an admitted one is timed until next returns, which is how s learns the
// server's latency. The middleware fits [WithMiddleware] and any
// func(http.Handler) http.Handler chain.
func Shed(s *resilience.Shedder) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := s.Acquire()
			if err != nil {
				WriteError(w, r, err)
				return
			}
			defer release()
			next.ServeHTTP(w, r)
		})
	}
}
