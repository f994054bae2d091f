package observability_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// int64Points returns the data points of the int64 sum or gauge name, by
// the value of attribute key.
func (r *rig) int64Points(t *testing.T, name, key string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var dps []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				dps = d.DataPoints
			case metricdata.Gauge[int64]:
				dps = d.DataPoints
			}
			for _, dp := range dps {
				v, _ := dp.Attributes.Value(attribute.Key(key))
				out[v.AsString()] = dp.Value
			}
		}
	}
	return out
}

func TestObserveBudget(t *testing.T) {
	r := newRig(t, false)
	budget := resilience.NewBudget(resilience.BudgetConfig{Ratio: 0.0001, MinPerSecond: 0.0001})
	reg, err := r.inst.ObserveBudget("inventory", budget)
	if err != nil {
		t.Fatal(err)
	}
	retry := resilience.NewRetry(resilience.RetryConfig{MaxAttempts: 3}, resilience.WithBudget(budget))
	down := func(context.Context, any) (any, error) { return nil, fault.New(fault.Unavailable, "down") }
	e := retry.Middleware()(down)
	ctx := resilience.WithIdempotent(context.Background())
	for range 50 {
		if _, err := e(ctx, nil); !errors.Is(err, fault.Unavailable) {
			t.Fatalf("err = %v, want unavailable", err)
		}
	}
	got := r.int64Points(t, "tailor.retry.budget.refused", "budget")["inventory"]
	if got == 0 || uint64(got) != budget.Refused() {
		t.Fatalf("tailor.retry.budget.refused = %d, budget.Refused() = %d: want equal and above 0", got, budget.Refused())
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
}

func TestObserveInstances(t *testing.T) {
	r := newRig(t, false)
	n := 3
	if _, err := r.inst.ObserveInstances("inventory", func() int { return n }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.inst.ObserveInstances("catalog", func() int { return 1 }); err != nil {
		t.Fatal(err)
	}
	if got := r.int64Points(t, "tailor.discovery.instances", "service"); got["inventory"] != 3 || got["catalog"] != 1 {
		t.Fatalf("tailor.discovery.instances = %v, want inventory 3 and catalog 1", got)
	}
	n = 2
	if got := r.int64Points(t, "tailor.discovery.instances", "service")["inventory"]; got != 2 {
		t.Fatalf("after one instance left: %d, want 2", got)
	}
}
