package resilience_test

import (
	"context"
	"fmt"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// Classify is what breakers and throttles count: only errors that say the
// callee is unhealthy are failures. The callee answering "not found" is a
// success, and a refusal by a mechanism of this package, or the caller
// giving up, says nothing about the callee.
func ExampleClassify() {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		ctx context.Context
		err error
	}{
		{context.Background(), nil},
		{context.Background(), fault.New(fault.NotFound, `no product "sku-9"`)},
		{context.Background(), fault.New(fault.Unavailable, "connection refused")},
		{context.Background(), resilience.ErrBulkheadFull},
		{canceled, context.Canceled},
	} {
		fmt.Println(resilience.Classify(c.ctx, c.err), c.err)
	}
	// Output:
	// success <nil>
	// success not found: no product "sku-9"
	// failure unavailable: connection refused
	// ignored resilience: bulkhead full
	// ignored context canceled
}

// Fallback answers from elsewhere when a call fails: here a cached value
// while the callee is unavailable. Errors it does not handle it returns
// as they are.
func ExampleFallback() {
	cached := map[string]string{"sku-1": "40 in stock (cached)"}
	fallback := resilience.Fallback(func(_ context.Context, request any, err error) (any, error) {
		if v, ok := cached[request.(string)]; ok && fault.KindOf(err) == fault.Unavailable {
			return v, nil
		}
		return nil, err
	})
	call := fallback(func(_ context.Context, request any) (any, error) {
		if request == "sku-9" {
			return nil, fault.New(fault.NotFound, `no product "sku-9"`)
		}
		return nil, fault.New(fault.Unavailable, "inventory is down")
	})
	fmt.Println(call(context.Background(), "sku-1"))
	fmt.Println(call(context.Background(), "sku-9"))
	// Output:
	// 40 in stock (cached) <nil>
	// <nil> not found: no product "sku-9"
}
