package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// A client policy for one callee, declared in one place. The callee fails
// twice with a retryable error and then answers; the retry hides that.
func ExampleNewPolicy() {
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:     "inventory",
		Timeout:  2 * time.Second,
		Retry:    &resilience.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond},
		Breaker:  &resilience.BreakerConfig{ConsecutiveFailures: 5},
		Bulkhead: &resilience.BulkheadConfig{MaxConcurrent: 32},
	})

	attempts := 0
	var inventory endpoint.Endpoint = func(ctx context.Context, request any) (any, error) {
		attempts++
		if attempts < 3 {
			return nil, fault.New(fault.Unavailable, "warming up")
		}
		return "42 in stock", nil
	}
	call := policy.Middleware()(inventory)

	// Only calls marked idempotent are retried.
	ctx := resilience.WithIdempotent(context.Background())
	response, err := call(ctx, "sku-1")
	fmt.Println(response, err, "after", attempts, "attempts")
	fmt.Println("breaker:", policy.Breaker().State())
	// Output:
	// 42 in stock <nil> after 3 attempts
	// breaker: closed
}

// The order in which a Policy applies its mechanisms: the timeout is set
// once for all attempts, each attempt passes the breaker and the bulkhead,
// and the fallback sees only what is left when everything else failed.
func ExampleNewPolicy_order() {
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:     "inventory",
		Timeout:  time.Second,
		Retry:    &resilience.RetryConfig{MaxAttempts: 2, BaseDelay: time.Millisecond},
		Breaker:  &resilience.BreakerConfig{},
		Bulkhead: &resilience.BulkheadConfig{MaxConcurrent: 1},
		Fallback: func(_ context.Context, _ any, err error) (any, error) {
			fmt.Println("fallback after:", err)
			return "cached: 40 in stock", nil
		},
	})
	var deadline time.Time
	call := policy.Middleware()(func(ctx context.Context, _ any) (any, error) {
		d, _ := ctx.Deadline()
		fmt.Println("attempt: same deadline as the first:", deadline.IsZero() || d.Equal(deadline),
			"| in bulkhead:", policy.Bulkhead().InFlight())
		deadline = d
		return nil, fault.New(fault.Unavailable, "down")
	})
	response, err := call(resilience.WithIdempotent(context.Background()), "sku-1")
	fmt.Println(response, err)
	// Output:
	// attempt: same deadline as the first: true | in bulkhead: 1
	// attempt: same deadline as the first: true | in bulkhead: 1
	// fallback after: unavailable: down
	// cached: 40 in stock <nil>
}

// Errors that say the request is wrong are never retried, and never count
// against the callee's health.
func ExampleNewPolicy_clientError() {
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:    "inventory",
		Retry:   &resilience.RetryConfig{AllIdempotent: true},
		Breaker: &resilience.BreakerConfig{ConsecutiveFailures: 1},
	})
	attempts := 0
	call := policy.Middleware()(func(context.Context, any) (any, error) {
		attempts++
		return nil, fault.New(fault.NotFound, `no product "sku-9"`)
	})
	_, err := call(context.Background(), "sku-9")
	fmt.Println(err)
	fmt.Println("attempts:", attempts, "breaker:", policy.Breaker().State())
	// Output:
	// not found: no product "sku-9"
	// attempts: 1 breaker: closed
}

// An open breaker fails fast with an unavailable error that names it and
// says when it will try again; an operator can force it either way.
func ExampleNewBreaker() {
	breaker := resilience.NewBreaker("payments", resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 30 * time.Second},
		resilience.WithStateChange(func(c resilience.StateChange) {
			fmt.Printf("event: %s %s -> %s (%s)\n", c.Breaker, c.From, c.To, c.Reason)
		}))
	call := breaker.Middleware()(func(context.Context, any) (any, error) {
		return nil, fault.New(fault.Unavailable, "connection refused")
	})
	for range 3 {
		_, err := call(context.Background(), nil)
		if errors.Is(err, resilience.ErrOpen) {
			fmt.Println("refused fast, retry after", fault.RetryAfter(err).Round(time.Second))
		}
	}
	breaker.SetOverride(resilience.OverrideForceClosed)
	// Output:
	// event: payments closed -> open (after 2 consecutive failures)
	// refused fast, retry after 30s
	// event: payments open -> closed (operator set force-closed)
}

// One breaker per instance; an operator can force every one of them at
// once, including those made after the override.
func ExampleNewBreakers() {
	byInstance := func(_ context.Context, request any) string { return request.(string) }
	set := resilience.NewBreakers("inventory", byInstance, resilience.BreakerConfig{IdleTimeout: 10 * time.Minute})
	call := set.Middleware()(func(context.Context, any) (any, error) { return "ok", nil })

	_, _ = call(context.Background(), "10.0.0.7:8080")
	set.SetOverride(resilience.OverrideForceOpen)
	_, err := call(context.Background(), "10.0.0.8:8080")
	fmt.Println(errors.Is(err, resilience.ErrOpen), set.Get("10.0.0.7:8080").State())
	set.SetOverride(resilience.OverrideAuto)
	_, err = call(context.Background(), "10.0.0.8:8080")
	fmt.Println(err, set.Len())
	// Output:
	// true open
	// <nil> 2
}

// A throttle refuses a share of calls while the callee fails more than
// 1 − 1/K of them, and none once it recovers.
func ExampleNewThrottle() {
	throttle := resilience.NewThrottle("search", resilience.ThrottleConfig{K: 2})
	failing := true
	call := throttle.Middleware()(func(context.Context, any) (any, error) {
		if failing {
			return nil, fault.New(fault.Unavailable, "overloaded")
		}
		return "results", nil
	})
	for range 20 {
		_, _ = call(context.Background(), "mugs")
	}
	fmt.Println("while failing:", throttle.State())
	// Output:
	// while failing: throttling
}

// A retry on its own, with a budget shared by several endpoints of one
// callee.
func ExampleNewRetry() {
	budget := resilience.NewBudget(resilience.BudgetConfig{})
	retry := resilience.NewRetry(resilience.RetryConfig{MaxAttempts: 2, BaseDelay: time.Millisecond}, resilience.WithBudget(budget))
	attempts := 0
	call := retry.Middleware()(func(context.Context, any) (any, error) {
		attempts++
		if attempts == 1 {
			return nil, fault.New(fault.Unavailable, "connection reset")
		}
		return "ok", nil
	})
	response, err := call(resilience.WithIdempotent(context.Background()), nil)
	fmt.Println(response, err, attempts, "attempts;", budget.Refused(), "retries refused by the budget")
	// Output:
	// ok <nil> 2 attempts; 0 retries refused by the budget
}

// A budget starts with one second's floor of retries; each call earns a
// tenth of one more.
func ExampleNewBudget() {
	budget := resilience.NewBudget(resilience.BudgetConfig{Ratio: 0.1, MinPerSecond: 5})
	fmt.Println(budget.Available(), "retries available at the start")
	// Output:
	// 5 retries available at the start
}

// A bulkhead that admits one call at a time refuses a second one at once.
func ExampleNewBulkhead() {
	bulkhead := resilience.NewBulkhead("reports", resilience.BulkheadConfig{MaxConcurrent: 1})
	var call endpoint.Endpoint
	call = bulkhead.Middleware()(func(ctx context.Context, request any) (any, error) {
		if request == "outer" {
			_, err := call(ctx, "inner") // a second call while the first holds the slot
			fmt.Println(errors.Is(err, resilience.ErrBulkheadFull), fault.KindOf(err))
		}
		return nil, nil
	})
	_, _ = call(context.Background(), "outer")
	// Output:
	// true resource exhausted
}

// A hedge sends a second attempt when the first is slower than the delay;
// the first answer wins.
func ExampleNewHedge() {
	hedge := resilience.NewHedge(resilience.HedgeConfig{Delay: 10 * time.Millisecond})
	attempts := make(chan int, 2)
	attempts <- 1
	attempts <- 2
	call := hedge.Middleware()(func(ctx context.Context, _ any) (any, error) {
		if n := <-attempts; n == 1 {
			<-ctx.Done() // the first attempt hangs until the hedge wins
			return nil, ctx.Err()
		}
		return "from the hedge", nil
	})
	response, err := call(resilience.WithIdempotent(context.Background()), nil)
	fmt.Println(response, err)
	// Output:
	// from the hedge <nil>
}

// A rate limit on an endpoint, one bucket per user. On an HTTP server, put
// the limiter in front of the mux with transport/http's RateLimit instead.
func ExampleNewRateLimiter() {
	byUser := func(_ context.Context, request any) string { return request.(string) }
	limiter := resilience.NewRateLimiter("search", resilience.RateLimitConfig{Rate: 1, Burst: 1}, resilience.WithKey(byUser))
	call := limiter.Middleware()(func(context.Context, any) (any, error) { return "ok", nil })
	for _, user := range []string{"ann", "ann", "bob"} {
		_, err := call(context.Background(), user)
		fmt.Println(user, errors.Is(err, resilience.ErrRateLimited))
	}
	// Output:
	// ann false
	// ann true
	// bob false
}

// A shedder admits calls up to its concurrency limit, which it then adapts
// to the latency it measures. On an HTTP server, put it in front of the mux
// with transport/http's Shed instead.
func ExampleNewShedder() {
	shedder := resilience.NewShedder("api", resilience.ShedConfig{InitialLimit: 4, MinLimit: 4})
	release, err := shedder.Acquire()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("in flight:", shedder.InFlight(), "of", shedder.Limit())
	release()
	fmt.Println("in flight:", shedder.InFlight())
	// Output:
	// in flight: 1 of 4
	// in flight: 0
}

// A timeout shorter than the caller's deadline bounds the call, and says
// so when it runs out.
func ExampleTimeout() {
	call := resilience.Timeout(time.Millisecond)(func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return nil, fault.Wrap(ctx.Err(), fault.DeadlineExceeded, "inventory did not answer")
	})
	_, err := call(context.Background(), nil)
	fmt.Println(err)
	// Output:
	// deadline exceeded: the call ran out of its 1ms timeout; retry later or raise the timeout: deadline exceeded: inventory did not answer: context deadline exceeded
}

// An operator's view of a breaker: its state, override and counts.
func ExampleBreaker_Status() {
	b := resilience.NewBreaker("payments", resilience.BreakerConfig{ConsecutiveFailures: 3})
	fail := b.Middleware()(func(context.Context, any) (any, error) {
		return nil, fault.New(fault.Unavailable, "payments is down")
	})
	_, _ = fail(context.Background(), nil)
	_, _ = fail(context.Background(), nil)
	st := b.Status()
	fmt.Println(st.State, st.Override, st.Requests, st.Failures, st.ConsecutiveFailures)
	_, _ = fail(context.Background(), nil)
	st = b.Status()
	fmt.Println(st.State, st.ProbeIn > 0)
	// Output:
	// closed auto 2 2 2
	// open true
}
