package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability"
)

// The broker goes down in the middle of a stream of events and comes
// back: no event is lost, none is applied twice.
func TestBrokerRestartMidStream(t *testing.T) {
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
			js := testenv.JetStream(t, nc)
			w := newWorld(t, db.Fresh(t), js)
			reader := sdkmetric.NewManualReader()
			tel, err := observability.New(observability.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
			if err != nil {
				t.Fatal(err)
			}
			r := w.relay(outbox.WithInterval(5*time.Millisecond), outbox.WithMaxBackoff(50*time.Millisecond), outbox.WithPublishTimeout(time.Second), outbox.WithTelemetry(tel))
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop(context.Background())
			w.consume(messaging.WithWorkers(2), messaging.WithAckWait(2*time.Second), messaging.WithBackoff(10*time.Millisecond), messaging.WithTelemetry(tel))

			const n, aggs = 600, 5
			w.write(0, n/3, aggs)
			testenv.Eventually(t, "some events applied", func() bool { return w.count(`SELECT count(*) FROM applied`) > 0 })
			if err := srv.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.write(n/3, n/3, aggs) // the broker is down: they wait in the outbox
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.write(2*n/3, n/3, aggs)

			testenv.Eventually(t, "every event applied", func() bool { return w.count(`SELECT count(DISTINCT event_id) FROM applied`) == n })
			if got := w.count(`SELECT count(*) FROM applied`); got != n {
				t.Errorf("%d effects for %d events, want one each", got, n)
			}
			if got := w.pending(); got != 0 {
				t.Errorf("%d events still pending, want 0", got)
			}
			if got := w.streamMsgs(); got != n {
				t.Errorf("stream holds %d events, want %d", got, n)
			}
			m := sums(t, reader)
			t.Logf("%d events: published %d, publish errors %d, consumed %d, redelivered %d, applied %d",
				n, m["tailor.messaging.published"], m["tailor.messaging.publish.errors"], m["tailor.messaging.consumed"],
				m["tailor.messaging.redelivered"], w.count(`SELECT count(*) FROM applied`))
			if m["tailor.messaging.published"] < n {
				t.Errorf("published counter %d, want at least %d", m["tailor.messaging.published"], n)
			}
		})
	}
}

func sums(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					got[m.Name] += dp.Value
				}
			}
		}
	}
	return got
}
