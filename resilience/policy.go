package resilience

import (
	"context"
	"time"

	"github.com/go-kit/kit/endpoint"
)

// PolicyConfig declares the resilience of calls to one callee. Each section
// left nil is left out, so a config reads as what it does:
//
//	resilience.PolicyConfig{
//		Name:     "inventory",
//		Timeout:  2 * time.Second,
//		Retry:    &resilience.RetryConfig{MaxAttempts: 3},
//		Breaker:  &resilience.BreakerConfig{},
//		Bulkhead: &resilience.BulkheadConfig{MaxConcurrent: 32},
//	}
//
// The zero value is a policy that changes nothing.
type PolicyConfig struct {
	// Name names the callee in errors and breaker events.
	Name string
	// Timeout bounds each call as a whole, retries included (see
	// [Timeout]). Default: only the caller's deadline.
	Timeout time.Duration
	// Retry retries retryable failures of idempotent calls under a budget.
	Retry *RetryConfig
	// Hedge sends a second attempt of slow idempotent calls. It spends the
	// same budget as Retry.
	Hedge *HedgeConfig
	// Breaker stops calls to a failing callee.
	Breaker *BreakerConfig
	// Throttle refuses a share of calls to a callee that fails a share of
	// them (see [Throttle]): an alternative to Breaker for high-volume
	// clients. With both set, the throttle sits above the breaker.
	Throttle *ThrottleConfig
	// Bulkhead bounds the calls in flight.
	Bulkhead *BulkheadConfig
	// Fallback, when set, is called with the error of a call that failed
	// despite all of the above; see [Fallback].
	Fallback func(ctx context.Context, request any, err error) (any, error)
}

// Policy is a [PolicyConfig] built into one middleware, in the order a
// client needs:
//
//	fallback ▸ timeout ▸ retry (budget) ▸ hedge ▸ throttle ▸ breaker ▸ bulkhead ▸ endpoint
//
// The timeout is outermost so retries share one deadline; retries sit
// outside the breaker so that once it opens the call fails at once: the
// retry neither waits out a backoff nor the open breaker; the bulkhead is
// innermost so it counts only calls actually sent. A Policy is safe for
// concurrent use; its middleware may wrap many endpoints, which then share
// its breaker, throttle, budget and bulkhead.
type Policy struct {
	breaker    *Breaker
	throttle   *Throttle
	budget     *Budget
	bulkhead   *Bulkhead
	middleware endpoint.Middleware
}

// NewPolicy builds cfg. It reads the options [WithStateChange],
// [WithClassifier] and [WithBudget].
func NewPolicy(cfg PolicyConfig, opts ...Option) *Policy {
	o := buildOptions(opts)
	p := &Policy{budget: o.budget}
	if p.budget == nil && (cfg.Retry != nil || cfg.Hedge != nil) {
		var bc BudgetConfig
		if cfg.Retry != nil {
			bc = cfg.Retry.Budget
		} else {
			bc = cfg.Hedge.Budget
		}
		p.budget = NewBudget(bc)
	}
	o.budget = p.budget

	if cfg.Throttle != nil {
		p.throttle = newThrottle(cfg.Name, *cfg.Throttle, o)
	}
	if cfg.Breaker != nil {
		p.breaker = newBreaker(cfg.Name, cfg.Breaker.withDefaults(), o)
	}
	if cfg.Bulkhead != nil {
		p.bulkhead = NewBulkhead(cfg.Name, *cfg.Bulkhead)
	}

	var chain []endpoint.Middleware
	if cfg.Fallback != nil {
		chain = append(chain, Fallback(cfg.Fallback))
	}
	if cfg.Timeout > 0 {
		chain = append(chain, Timeout(cfg.Timeout))
	}
	if cfg.Retry != nil {
		r := newRetry(*cfg.Retry, o)
		// A refusal by the policy's own breaker or throttle ends the
		// retries: every attempt would meet it.
		if p.breaker != nil {
			r.own = p.breaker
		} else if p.throttle != nil {
			r.own = p.throttle
		}
		chain = append(chain, r.Middleware())
	}
	if cfg.Hedge != nil {
		chain = append(chain, newHedge(*cfg.Hedge, o, cfg.Retry == nil).Middleware())
	}
	if p.throttle != nil {
		chain = append(chain, p.throttle.Middleware())
	}
	if p.breaker != nil {
		chain = append(chain, p.breaker.Middleware())
	}
	if p.bulkhead != nil {
		chain = append(chain, p.bulkhead.Middleware())
	}
	p.middleware = func(next endpoint.Endpoint) endpoint.Endpoint {
		for i := len(chain) - 1; i >= 0; i-- {
			next = chain[i](next)
		}
		return next
	}
	return p
}

// Middleware returns the policy as one endpoint middleware.
func (p *Policy) Middleware() endpoint.Middleware { return p.middleware }

// Breaker returns the policy's breaker, for its state and manual override,
// or nil when the config has none.
func (p *Policy) Breaker() *Breaker { return p.breaker }

// Throttle returns the policy's throttle, or nil when the config has none.
func (p *Policy) Throttle() *Throttle { return p.throttle }

// Budget returns the budget that retries and hedges spend, or nil when the
// config has neither.
func (p *Policy) Budget() *Budget { return p.budget }

// Bulkhead returns the policy's bulkhead, or nil when the config has none.
func (p *Policy) Bulkhead() *Bulkhead { return p.bulkhead }
