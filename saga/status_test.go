package saga_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/saga"
)

// The service's one telemetry type is what an orchestrator takes.
var _ saga.Telemetry = (*observability.Telemetry)(nil)

// sagas reads the one kind of saga tel lists.
func sagas(t *testing.T, tel *observability.Telemetry) observability.SagaStatus {
	t.Helper()
	got := tel.Sagas()
	if len(got) != 1 {
		t.Fatalf("the telemetry lists %d kinds of saga (%+v), want the order saga alone", len(got), got)
	}
	return got[0]
}

// An orchestrator made with the service's telemetry lists its saga on the
// dashboard: one completed; one compensating while its compensations
// run, then failed; one left unfinished, running, and stuck once it has
// not advanced for longer than the lease. Each read below is more than a
// second after the last on the orchestrator's clock, past the counts'
// cache.
func TestTelemetryListsSagas(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		tel, err := observability.New(observability.Config{})
		if err != nil {
			t.Fatal(err)
		}
		s := newShop(db)
		o, def := setup(t, db, s, saga.WithTelemetry(tel))
		if got, want := sagas(t, tel), (observability.SagaStatus{Name: "order"}); got != want {
			t.Errorf("before any saga: got %+v, want %+v", got, want)
		}

		start(t, db, def, "o1")
		if _, err := o.Run(context.Background(), "o1"); err != nil {
			t.Fatal(err)
		}
		saga.Ahead(o, 2*time.Second)
		if got, want := sagas(t, tel), (observability.SagaStatus{Name: "order", Completed: 1}); got != want {
			t.Errorf("after a saga completed: got %+v, want %+v", got, want)
		}

		saga.Ahead(o, 4*time.Second)
		s.failAlways("o2/confirm", fault.New(fault.FailedPrecondition, "out of stock"))
		var during observability.SagaStatus
		saga.SetHook(o, func(point string) {
			if point == "call o2/charge/compensate" {
				during = sagas(t, tel)
			}
		})
		start(t, db, def, "o2")
		if st, err := o.Run(context.Background(), "o2"); err != nil || st.State != saga.Compensated {
			t.Fatalf("Run o2 = %+v, %v; want compensated", st, err)
		}
		if want := (observability.SagaStatus{Name: "order", Compensating: 1, Completed: 1}); during != want {
			t.Errorf("while compensating: got %+v, want %+v", during, want)
		}
		saga.Ahead(o, 6*time.Second)
		if got, want := sagas(t, tel), (observability.SagaStatus{Name: "order", Completed: 1, Failed: 1}); got != want {
			t.Errorf("after a saga was compensated: got %+v, want %+v", got, want)
		}

		start(t, db, def, "o3") // and never run
		saga.Ahead(o, 8*time.Second)
		if got, want := sagas(t, tel), (observability.SagaStatus{Name: "order", Running: 1, Completed: 1, Failed: 1}); got != want {
			t.Errorf("a saga started 2s ago: got %+v, want %+v", got, want)
		}
		saga.Ahead(o, 6*time.Second+time.Minute+time.Second) // the default lease is a minute
		if got, want := sagas(t, tel), (observability.SagaStatus{Name: "order", Running: 1, Stuck: 1, Completed: 1, Failed: 1}); got != want {
			t.Errorf("a saga that did not advance for longer than the lease: got %+v, want %+v", got, want)
		}
	})
}
