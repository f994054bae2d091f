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
func ExampleBreaker() {
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
	breaker.Override(resilience.ForceClosed)
	// Output:
	// event: payments closed -> open (after 2 consecutive failures)
	// refused fast, retry after 30s
	// event: payments open -> closed (operator set force-closed)
}

// One breaker per instance; an operator can force every one of them at
// once, including those made after the override.
func ExampleBreakers_Override() {
	byInstance := func(_ context.Context, request any) string { return request.(string) }
	set := resilience.NewBreakers("inventory", byInstance, resilience.BreakerConfig{IdleTimeout: 10 * time.Minute})
	call := set.Middleware()(func(context.Context, any) (any, error) { return "ok", nil })

	_, _ = call(context.Background(), "10.0.0.7:8080")
	set.Override(resilience.ForceOpen)
	_, err := call(context.Background(), "10.0.0.8:8080")
	fmt.Println(errors.Is(err, resilience.ErrOpen), set.Get("10.0.0.7:8080").State())
	set.Override(resilience.Auto)
	_, err = call(context.Background(), "10.0.0.8:8080")
	fmt.Println(err)
	// Output:
	// true open
	// <nil>
}
