package outbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability"
)

// The service's one telemetry type is what a relay takes.
var _ messaging.Telemetry = (*observability.Telemetry)(nil)

// A relay made with the service's telemetry lists itself on the dashboard
// while it runs: what it published; with the broker down, its failures
// and the events waiting, the first of them for longer at each read; and
// the backlog gone once the broker is back.
func TestTelemetryListsRelay(t *testing.T) {
	t.Parallel()
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			srv := testenv.Embedded(t, true)
			nc, err := messaging.Connect(srv.ClientURL(), nil, nats.ReconnectWait(20*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			w := newWorld(t, db.Fresh(t), testenv.JetStream(t, nc))
			tel, err := observability.New(observability.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r := w.relay(outbox.WithTelemetry(tel), outbox.WithName("orders"), outbox.WithInterval(5*time.Millisecond),
				outbox.WithMaxBackoff(50*time.Millisecond), outbox.WithPublishTimeout(200*time.Millisecond))
			// The relay's clock moves a second at each read, past its
			// cache of the backlog.
			var (
				mu    sync.Mutex
				clock = time.Now()
			)
			outbox.SetClock(r, func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return clock
			})
			status := func() observability.OutboxStatus {
				t.Helper()
				mu.Lock()
				clock = clock.Add(time.Second)
				mu.Unlock()
				got := tel.Outboxes()
				if len(got) != 1 {
					t.Fatalf("the telemetry lists %+v, want the one relay", got)
				}
				return got[0]
			}
			if got := tel.Outboxes(); len(got) != 0 {
				t.Fatalf("before Start the telemetry lists %+v, want no relay", got)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop(context.Background())

			w.write(0, 3, 1)
			published := observability.OutboxStatus{Name: "orders", Published: 3}
			testenv.Eventually(t, "3 events published", func() bool { return status() == published })

			if err := srv.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.write(3, 2, 1)
			testenv.Eventually(t, "a failure to publish", func() bool { return status().Failures > 0 })
			before, after := status(), status()
			t.Logf("with the broker down: %+v, then %+v", before, after)
			if before.Pending != 2 || before.Published != 3 || before.Oldest <= 0 {
				t.Errorf("with the broker down: got %+v, want 2 pending, the oldest waiting, and the 3 published", before)
			}
			if grew := after.Oldest - before.Oldest; grew != time.Second {
				t.Errorf("the oldest pending event's wait grew by %v in a second, want a second (%+v, then %+v)", grew, before, after)
			}

			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, "the backlog published", func() bool {
				st := status()
				return st.Published == 5 && st.Pending == 0 && st.Oldest == 0
			})
			if err := r.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := tel.Outboxes(); len(got) != 0 {
				t.Errorf("after Stop the telemetry lists %+v, want no relay", got)
			}
		})
	}
}
