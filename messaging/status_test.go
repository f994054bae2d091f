package messaging_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/observability"
)

// A consumer made with the service's telemetry lists itself on the
// dashboard while it runs, with what the broker delivered to it: a
// poison event counts its first delivery, its repeats and its
// dead-lettering; an event in the handler's hands counts in flight.
func TestTelemetryListsConsumer(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	stream, subject := testenv.Stream(t, js)
	tel := telemetry(t, observability.Config{})
	release := make(chan struct{})
	h := noteType.Handler(func(ctx context.Context, e messaging.Event, n Note) error {
		switch n.N {
		case 3:
			return errors.New("note 3 is poison")
		case 6:
			<-release
		}
		return nil
	})
	c, err := messaging.NewConsumer(js, stream, "status", h, messaging.WithMaxAttempts(3),
		messaging.WithBackoff(time.Millisecond), messaging.WithTelemetry(tel))
	if err != nil {
		t.Fatal(err)
	}
	if got := tel.Consumers(); len(got) != 0 {
		t.Fatalf("before Start the telemetry lists %+v, want no consumer", got)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	status := func() observability.ConsumerStatus {
		t.Helper()
		got := tel.Consumers()
		if len(got) != 1 {
			t.Fatalf("the telemetry lists %+v, want the one consumer", got)
		}
		return got[0]
	}

	publishNotes(t, js, subject+".notes", 0, 6)
	// Notes 0 to 5 once each, and note 3 twice more before it is given up.
	want := observability.ConsumerStatus{Name: stream + "/status", Delivered: 8, Redelivered: 2, DeadLettered: 1}
	testenv.Eventually(t, "the poison note dead-lettered and the others handled", func() bool { return status() == want })

	publishNotes(t, js, subject+".notes", 6, 7)
	want.Delivered, want.InFlight = 9, 1
	testenv.Eventually(t, "note 6 in the handler", func() bool { return status() == want })
	close(release)
	want.InFlight = 0
	testenv.Eventually(t, "note 6 handled", func() bool { return status() == want })

	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tel.Consumers(); len(got) != 0 {
		t.Errorf("after Stop the telemetry lists %+v, want no consumer", got)
	}
}
