package resilience

import (
	"context"

	"github.com/go-kit/kit/endpoint"
)

// Fallback returns a middleware that calls f when a call fails, and returns
// what f returns instead: a cached value, a default, or a better error. f
// receives the call's request and error; to keep the error, return it.
// A nil f returns a middleware that changes nothing.
func Fallback(f func(ctx context.Context, request any, err error) (any, error)) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		if f == nil {
			return next
		}
		return func(ctx context.Context, request any) (any, error) {
			response, err := next(ctx, request)
			if err != nil {
				return f(ctx, request, err)
			}
			return response, nil
		}
	}
}
