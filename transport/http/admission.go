package http

import (
	"errors"
	"net/http"

	"github.com/tailorkit/tailor/internal/refusal"
	"github.com/tailorkit/tailor/resilience"
)

// RateLimit returns a middleware that admits each request through l before
// next sees it: a refused request is answered at once with a 429
// problem+json and a Retry-After header, before its body is read. key
// picks the request's bucket (a client IP, a user, an API key); a nil key
// puts every request in one bucket. The middleware fits [WithMiddleware]
// and any func(http.Handler) http.Handler chain; inside the observability
// middleware, its refusals count as the service's own (reason
// rate_limited).
func RateLimit(l *resilience.RateLimiter, key func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := ""
			if key != nil {
				k = key(r)
			}
			if err := l.Allow(k); err != nil {
				refuse(w, r, err)
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
// func(http.Handler) http.Handler chain; inside the observability
// middleware, its refusals count as the service's own (reason load_shed).
func Shed(s *resilience.Shedder) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := s.Acquire()
			if err != nil {
				refuse(w, r, err)
				return
			}
			defer release()
			next.ServeHTTP(w, r)
		})
	}
}

// refuse answers a request that an admission check refused with err,
// first telling the middlewares around it why (see package
// internal/refusal).
func refuse(w http.ResponseWriter, r *http.Request, err error) {
	var rej resilience.Rejection
	if errors.As(err, &rej) {
		refusal.Record(w, rej)
	}
	WriteError(w, r, err)
}
