package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// Timeout returns a middleware that gives each call at most d. A parent
// context whose deadline comes sooner is left as it is: a call never gets
// longer than its caller allows. When d runs out first, the call fails with
// a [fault.DeadlineExceeded] error that says so. A d of zero or less returns
// a middleware that changes nothing.
//
// Deadlines belong to contexts, which read the system clock, so Timeout
// takes no [Clock]. The context it passes on starts no timer until
// something waits on its Done channel, so a call that never waits costs
// one allocation instead of context.WithDeadline's four and a timer, and
// its deadline is read from the monotonic clock (see the package
// documentation, "Cost").
func Timeout(d time.Duration) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		if d <= 0 {
			return next
		}
		var clock anchoredClock
		return func(ctx context.Context, request any) (any, error) {
			cctx := newDeadlineContext(ctx, clock.now().Add(d))
			if cctx == nil {
				return next(ctx, request)
			}
			defer cctx.end()
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
