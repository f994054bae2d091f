package resilience

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// RetryConfig configures a [Retry]. The zero value makes up to 3 attempts
// of idempotent calls, with full-jitter exponential backoff from 50 ms up to
// 1 s, under the default [BudgetConfig].
type RetryConfig struct {
	// MaxAttempts is the most attempts per call, the first included.
	// Default 3; 1 turns retries off.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles with each
	// retry, and the wait is drawn uniformly from zero to it (full jitter).
	// Default 50 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. It also caps the Retry-After a callee may
	// ask for: a longer one ends the retries and returns its error at once.
	// Default 1 s.
	MaxDelay time.Duration
	// AttemptTimeout, when positive, bounds each attempt; the call as a
	// whole is bounded by its context. Default: no bound per attempt.
	AttemptTimeout time.Duration
	// AllIdempotent treats every call as idempotent. By default only calls
	// whose context is marked with [WithIdempotent] are retried.
	AllIdempotent bool
	// Budget caps retries at a share of calls. Ignored when the option
	// [WithBudget] supplies a shared budget.
	Budget BudgetConfig
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 50 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = time.Second
	}
	return c
}

// Retry retries failed calls. Build one with [NewRetry] and wrap an endpoint
// with [Retry.Middleware]. It is safe for concurrent use.
//
// A call is retried only when all of these hold: its error is retryable
// ([fault.IsRetryable]: unavailable, deadline exceeded, resource exhausted),
// the call is idempotent, attempts remain, the budget has a token, and the
// wait (the larger of the backoff and the error's [fault.RetryAfter]) ends
// before the context's deadline. Otherwise the last error is returned as it
// is. Each retry calls next again, so a balancer below may pick another
// instance.
//
// An attempt refused by a circuit breaker ([ErrOpen]) is never waited out:
// the breaker fails fast, and so does the retry. It tries again at once only
// when the call is marked with [WithFailover] and the breaker that refused
// is not one every attempt passes through (a [Policy]'s own); otherwise it
// returns the refusal.
type Retry struct {
	cfg    RetryConfig
	budget *Budget
	own    any // the Policy's breaker or throttle, which every attempt passes
}

// NewRetry returns a retry. It reads the option [WithBudget].
func NewRetry(cfg RetryConfig, opts ...Option) *Retry {
	return newRetry(cfg, buildOptions(opts))
}

func newRetry(cfg RetryConfig, o options) *Retry {
	cfg = cfg.withDefaults()
	b := o.budget
	if b == nil {
		b = NewBudget(cfg.Budget)
	}
	return &Retry{cfg: cfg, budget: b}
}

// Budget returns the budget the retry spends from.
func (r *Retry) Budget() *Budget { return r.budget }

// Middleware returns the retry as an endpoint middleware.
func (r *Retry) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return r.call(ctx, request, next)
		}
	}
}

func (r *Retry) call(ctx context.Context, request any, next endpoint.Endpoint) (any, error) {
	r.budget.deposit()
	var b *backoff.ExponentialBackOff // made at the first retry
	for attempt := 1; ; attempt++ {
		response, err := r.attempt(ctx, request, next)
		if err == nil || attempt >= r.cfg.MaxAttempts || !fault.IsRetryable(err) || ctx.Err() != nil {
			return response, err
		}
		if !r.cfg.AllIdempotent && !Idempotent(ctx) {
			return response, err
		}
		var wait time.Duration
		if refused, ok := errors.AsType[refusedBy](err); ok {
			if !failover(ctx) || refused.source == r.own {
				return response, err
			}
		} else {
			if b == nil {
				b = fullJitter(r.cfg.BaseDelay, r.cfg.MaxDelay)
			}
			wait = b.NextBackOff()
			if after := fault.RetryAfter(err); after > 0 {
				if after > r.cfg.MaxDelay {
					return response, err
				}
				wait = max(wait, after)
			}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return response, err
		}
		if !r.budget.withdraw() {
			return response, err
		}
		if !sleep(ctx, wait) {
			return response, err
		}
	}
}

func (r *Retry) attempt(ctx context.Context, request any, next endpoint.Endpoint) (any, error) {
	if r.cfg.AttemptTimeout <= 0 {
		return next(ctx, request)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AttemptTimeout)
	defer cancel()
	return next(ctx, request)
}

// fullJitter returns the backoff of a retry: before retry n (from 1) it
// waits a duration drawn uniformly from zero to min(base·2ⁿ⁻¹, ceiling).
// backoff/v5 draws from interval·[1 − factor, 1 + factor], so a factor of 1
// on half the ceiling is full jitter.
func fullJitter(base, ceiling time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     base / 2,
		RandomizationFactor: 1,
		Multiplier:          2,
		MaxInterval:         ceiling / 2,
	}
}

// sleep waits d or until ctx is done, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
