package observability_test

import (
	"slices"
	"testing"

	"github.com/tailorkit/tailor/observability"
)

// Consumers and Sagas list what each tracked func reports, by name, and
// stop listing one once untracked; untracking twice does nothing.
func TestTrackProcesses(t *testing.T) {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var untrack []func()
	for _, name := range []string{"ORDERS/stats", "CATALOG/inventory", "ORDERS/reviews"} {
		untrack = append(untrack, tel.TrackConsumer(func() observability.ConsumerStatus {
			return observability.ConsumerStatus{Name: name, Delivered: int64(len(name))}
		}))
	}
	defer tel.TrackSagas(func() observability.SagaStatus { return observability.SagaStatus{Name: "order", Running: 1} })()
	names := func() []string {
		var out []string
		for _, c := range tel.Consumers() {
			if c.Delivered != int64(len(c.Name)) {
				t.Errorf("consumer %+v, want what its func reports", c)
			}
			out = append(out, c.Name)
		}
		return out
	}
	if got, want := names(), []string{"CATALOG/inventory", "ORDERS/reviews", "ORDERS/stats"}; !slices.Equal(got, want) {
		t.Errorf("consumers: got %v, want %v", got, want)
	}
	untrack[0]()
	untrack[0]()
	if got, want := names(), []string{"CATALOG/inventory", "ORDERS/reviews"}; !slices.Equal(got, want) {
		t.Errorf("after untracking the stats consumer: got %v, want %v", got, want)
	}
	if got := tel.Sagas(); len(got) != 1 || got[0] != (observability.SagaStatus{Name: "order", Running: 1}) {
		t.Errorf("sagas: got %+v, want the order saga", got)
	}
	if got := tel.Outboxes(); got == nil || len(got) != 0 {
		t.Errorf("outboxes: got %#v, want an empty list", got)
	}
}
