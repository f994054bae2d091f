package observability_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
)

// Calls through CallMiddleware count in the callee's last minute, and
// the calls a mechanism refused count by reason. A discovery client made
// with WithTelemetry does this for every call it makes.
func ExampleTelemetry_Calls() {
	tel, err := observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:    "payments",
		Breaker: &resilience.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Minute},
	})
	charge := tel.CallMiddleware("payments")(policy.Middleware()(func(context.Context, any) (any, error) {
		return nil, fault.New(fault.Unavailable, "payments is down")
	}))
	for range 3 {
		_, _ = charge(context.Background(), nil) // the first fails and opens the breaker
	}
	for _, c := range tel.Calls(time.Now()) {
		fmt.Printf("%s: %d calls, %d failed, %d refused\n", c.Callee, c.Requests, c.Errors, c.Rejected)
	}
	for _, r := range tel.Rejections() {
		fmt.Printf("%s %s: %d\n", r.Name, r.Reason, r.Count)
	}
	// Output:
	// payments: 3 calls, 1 failed, 2 refused
	// payments circuit_open: 2
}

// A package that holds a retry budget or a bulkhead lists it with the
// telemetry, so an operator's dashboard finds it; it untracks it when
// done.
func ExampleTelemetry_TrackBulkhead() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:     "payments",
		Retry:    &resilience.RetryConfig{},
		Bulkhead: &resilience.BulkheadConfig{MaxConcurrent: 10},
	})
	defer tel.TrackBulkhead(policy.Bulkhead())()
	defer tel.TrackBudget("payments", policy.Budget())()

	for _, b := range tel.Bulkheads() {
		fmt.Printf("bulkhead %s: %d of %d in flight\n", b.Name, b.InFlight, b.Capacity)
	}
	for _, b := range tel.Budgets() {
		fmt.Printf("budget %s: %d refused\n", b.Name, b.Refused)
	}
	// Output:
	// bulkhead payments: 0 of 10 in flight
	// budget payments: 0 refused
}
