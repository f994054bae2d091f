package observability_test

import (
	"fmt"
	"time"

	"github.com/tailorkit/tailor/observability"
)

// A background process lists itself with the telemetry while it runs, by
// a func that reports it; Outboxes, Consumers and Sagas call those funcs,
// as an operator's dashboard does at each read. An outbox relay, an event
// consumer and a saga orchestrator made with the service's telemetry do
// this themselves.
func ExampleTelemetry_TrackOutbox() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	published := int64(0)
	untrack := tel.TrackOutbox(func() observability.OutboxStatus {
		return observability.OutboxStatus{Name: "orders", Pending: 2, Oldest: 1500 * time.Millisecond, Published: published}
	})
	published = 40
	for _, o := range tel.Outboxes() {
		fmt.Println(o.Name, o.Pending, "pending, the oldest for", o.Oldest, "and", o.Published, "published")
	}
	untrack()
	fmt.Println(len(tel.Outboxes()), "tracked")
	// Output:
	// orders 2 pending, the oldest for 1.5s and 40 published
	// 0 tracked
}
