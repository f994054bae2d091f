package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// Timeout returns a middleware that gives each call at most d, with
// [context.WithTimeout]. A parent context whose deadline comes sooner keeps
// its deadline: a call never gets longer than its caller allows. When d
// runs out first, the call fails with a [fault.DeadlineExceeded] error that
// says so. A d of zero or less returns a middleware that changes nothing.
func Timeout(d time.Duration) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		if d <= 0 {
			return next
		}
		return func(ctx context.Context, request any) (any, error) {
			cctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			response, err := next(cctx, request)
			if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && fault.KindOf(err) == fault.DeadlineExceeded {
				err = &fault.Error{
					Kind:   fault.DeadlineExceeded,
					Detail: fmt.Sprintf("the call ran out of its %s timeout; retry later or raise the timeout", d),
					Cause:  err,
				}
			}
			return response, err
		}
	}
}
