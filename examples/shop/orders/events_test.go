package orders

import (
	"context"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/messaging/outbox"
)

// The events of a confirmed and a cancelled order reach the orders'
// stream through the outbox and a relay, in the order they happened,
// with the payloads of the contract.
func TestEventsReachTheStream(t *testing.T) {
	ctx := context.Background()
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 1)
	tok := sh.token(t, "alice")
	bought := sh.do(t, "POST", "/v1/orders", tok, "e-1", itemsBody(1, hat)).order(t, 201)
	short := sh.do(t, "POST", "/v1/orders", tok, "e-2", itemsBody(1, hat)).order(t, 201)
	if bought.Status != Confirmed || short.Status != Cancelled {
		t.Fatalf("orders %s and %s, want confirmed and cancelled", bought.Status, short.Status)
	}

	srv, err := embedded.New(embedded.Config{StoreDir: t.TempDir() + "/nats"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop(context.Background()) })
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := messaging.EnsureStream(ctx, js, Stream, []string{StreamSubjects}); err != nil {
		t.Fatal(err)
	}
	relay, err := outbox.NewRelay(sh.db, js)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := relay.PublishPending(ctx); err != nil || n != 4 {
		t.Fatalf("relay published %d events (%v), want 4", n, err)
	}
	cons, err := js.OrderedConsumer(ctx, Stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		e, err := messaging.DecodeEvent(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Subject()+" "+e.Aggregate)
		switch e.Type {
		case OrderConfirmedEvent().Name:
			p, err := OrderConfirmedEvent().Decode(e)
			if err != nil || p.UserID != "alice" || p.Total != 1250 || !slices.Equal(p.Lines, bought.Items) {
				t.Errorf("order.confirmed %+v (%v), want alice's order of %+v", p, err, bought.Items)
			}
		case OrderCancelledEvent().Name:
			p, err := OrderCancelledEvent().Decode(e)
			if want := `not enough stock of "Hat"`; err != nil || p.Reason != want {
				t.Errorf("order.cancelled %+v (%v), want the reason %q", p, err, want)
			}
		}
	}
	slices.Sort(got)
	want := []string{
		SubjectOrderCancelled + " " + short.ID, SubjectOrderConfirmed + " " + bought.ID,
		SubjectOrderPlaced + " " + bought.ID, SubjectOrderPlaced + " " + short.ID,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stream holds %v, want %v", got, want)
	}
}
