package main

import (
	"context"
	"time"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// tailorCaller is tailor's HTTP client (a go-kit client endpoint on
// tailor's transport), alone or, with policy, behind a resilience policy
// with every section at its defaults: a timeout, retries of idempotent
// calls under a budget, a circuit breaker and a bulkhead.
func tailorCaller(policy bool) newCaller {
	return func(url string) (func(context.Context) error, error) {
		e, err := thttp.NewClient("POST", url, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[order.Receipt]())
		if err != nil {
			return nil, err
		}
		if policy {
			e = resilience.NewPolicy(resilience.PolicyConfig{
				Name:     "orders",
				Timeout:  2 * time.Second,
				Retry:    &resilience.RetryConfig{},
				Breaker:  &resilience.BreakerConfig{},
				Bulkhead: &resilience.BulkheadConfig{},
			}).Middleware()(e)
		}
		place := tailor.Call[order.Request, order.Receipt](e)
		req := order.Request{SKU: "mug-blue", Quantity: 2, Note: "gift wrap"}
		return func(ctx context.Context) error {
			_, err := place(ctx, req)
			return err
		}, nil
	}
}
