package observability

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tailorkit/tailor/resilience"
)

// ServerRejections is the name under which a service's own refusals of
// requests (transport/http's RateLimit and Shed, inside
// [Telemetry.HTTPMiddleware]) are counted.
const ServerRejections = "server"

// guards is what a Telemetry knows of the mechanisms that protect the
// service and its callees: the retry budgets and bulkheads packages
// track with it (their maps are guarded by live.mu), and the calls and
// requests refused so far.
type guards struct {
	budgets    map[uint64]namedBudget
	bulkheads  map[uint64]*resilience.Bulkhead
	rejections cache[[2]string, *atomic.Uint64] // by name and reason
}

type namedBudget struct {
	name   string
	budget *resilience.Budget
}

// BudgetStatus is the state of one retry budget.
type BudgetStatus struct {
	Name      string  // the name it was tracked under: the callee's
	Available float64 // the retries it would allow now
	Capacity  float64 // the most it holds in reserve
	Refused   uint64  // the retries and hedges it has refused since it was made
}

// BulkheadStatus is the state of one bulkhead.
type BulkheadStatus struct {
	Name     string // the bulkhead's name: the callee's
	InFlight int    // calls holding a slot now
	Capacity int    // the most calls it lets in flight
}

// RejectionCount is how many calls or requests one mechanism refused for
// one reason.
type RejectionCount struct {
	// Name is the callee's, for a call refused on the client side (see
	// [Telemetry.CallMiddleware]), or [ServerRejections].
	Name string
	// Reason is circuit_open, bulkhead_full, rate_limited or load_shed.
	Reason string
	Count  uint64 // since the Telemetry was made
}

// TrackBudget lists b, named name, among the service's retry budgets
// (see [Telemetry.Budgets]) until the returned func is called; call it
// when b is no longer used. Calling it again does nothing.
func (in *Telemetry) TrackBudget(name string, b *resilience.Budget) (untrack func()) {
	return add(&in.live, &in.guards.budgets, namedBudget{name, b})
}

// Budgets returns the state of the budgets tracked now, by name.
func (in *Telemetry) Budgets() []BudgetStatus {
	in.live.mu.Lock()
	bs := make([]namedBudget, 0, len(in.guards.budgets))
	for _, b := range in.guards.budgets {
		bs = append(bs, b)
	}
	in.live.mu.Unlock()
	out := make([]BudgetStatus, len(bs))
	for i, b := range bs {
		out[i] = BudgetStatus{Name: b.name, Available: b.budget.Available(), Capacity: b.budget.Capacity(), Refused: b.budget.Refused()}
	}
	slices.SortFunc(out, func(a, b BudgetStatus) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// TrackBulkhead lists b among the service's bulkheads (see
// [Telemetry.Bulkheads]) until the returned func is called; call it when
// b is no longer used. Calling it again does nothing.
func (in *Telemetry) TrackBulkhead(b *resilience.Bulkhead) (untrack func()) {
	return add(&in.live, &in.guards.bulkheads, b)
}

// Bulkheads returns the state of the bulkheads tracked now, by name.
func (in *Telemetry) Bulkheads() []BulkheadStatus {
	in.live.mu.Lock()
	out := make([]BulkheadStatus, 0, len(in.guards.bulkheads))
	for _, b := range in.guards.bulkheads {
		out = append(out, BulkheadStatus{Name: b.Name(), InFlight: b.InFlight(), Capacity: b.Capacity()})
	}
	in.live.mu.Unlock()
	slices.SortFunc(out, func(a, b BulkheadStatus) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Rejections returns how many calls and requests were refused, by name
// and reason: those [Telemetry.CallMiddleware] saw refused, and the
// service's own requests refused inside [Telemetry.HTTPMiddleware].
func (in *Telemetry) Rejections() []RejectionCount {
	var out []RejectionCount
	if m := in.guards.rejections.m.Load(); m != nil {
		for k, n := range *m {
			out = append(out, RejectionCount{Name: k[0], Reason: k[1], Count: n.Load()})
		}
	}
	slices.SortFunc(out, func(a, b RejectionCount) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}

// reject counts one refusal by name and reason: in memory, for
// [Telemetry.Rejections], and as tailor.resilience.rejections.
func (in *Telemetry) reject(ctx context.Context, name, reason string) {
	k := [2]string{name, reason}
	n, ok := in.guards.rejections.lookup(k)
	if !ok {
		n = in.guards.rejections.keep(k, new(atomic.Uint64))
	}
	n.Add(1)
	in.rejections.Add(ctx, 1, metric.WithAttributes(attribute.String("name", name), attribute.String("reason", reason)))
}
