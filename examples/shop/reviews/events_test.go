package reviews_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
)

// eventually waits, up to 30s, for cond: the consumer applies events on
// its own goroutines and says nothing when it has.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 30s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The reviews service learns who bought what from the orders'
// order.confirmed events, published on a real JetStream and consumed by
// its durable consumer: a review before the event is 403, after it 201;
// an event delivered twice is applied once.
func TestConsumerLearnsPurchases(t *testing.T) {
	ctx := context.Background()
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
	if err := messaging.EnsureStream(ctx, js, orders.Stream, []string{orders.StreamSubjects}); err != nil {
		t.Fatal(err)
	}

	s, db := newService(t)
	consumer, err := reviews.NewConsumer(js, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := consumer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { consumer.Stop(context.Background()) })

	review := reviews.CreateReviewRequest{ProductID: "mug", UserID: "ann", Rating: 5, Title: "Lovely", Body: "Holds tea."}
	_, err = s.CreateReview(ctx, review)
	wantKind(t, err, fault.PermissionDenied, 403, "may take a moment")

	// Another event of the stream, which the consumer does not subscribe
	// to, and the confirmation.
	pub, err := messaging.NewPublisher(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	placed, err := orders.OrderPlacedEvent().New("order-1", orders.OrderPlaced{OrderID: "order-1", UserID: "ann", Lines: []orders.Line{{ProductID: "mug", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, orders.SubjectOrderPlaced, placed); err != nil {
		t.Fatal(err)
	}
	event := confirmed(t, "order-1", "ann", "mug", "hat")
	if err := pub.Publish(ctx, orders.SubjectOrderConfirmed, event); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the order.confirmed event to be applied", func() bool { return applied(t, db) == 1 })

	if _, err := s.CreateReview(ctx, review); err != nil {
		t.Fatalf("a review by a buyer whose purchase is known: %v", err)
	}
	_, err = s.CreateReview(ctx, review)
	wantKind(t, err, fault.Conflict, 409)
	if _, err := s.CreateReview(ctx, reviews.CreateReviewRequest{ProductID: "hat", UserID: "ann", Rating: 3, Title: "Fits", Body: "Warm."}); err != nil {
		t.Fatalf("a review of the order's other product: %v", err)
	}

	// The event again, as a new message (the publisher's would be dropped
	// as a duplicate): the consumer acknowledges it without applying it.
	body, err := event.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, orders.SubjectOrderConfirmed, body)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second delivery to be acknowledged", func() bool {
		c, err := js.Consumer(ctx, orders.Stream, reviews.ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.AckFloor.Stream >= ack.Sequence
	})
	if n := applied(t, db); n != 1 {
		t.Errorf("the inbox recorded %d events, want 1", n)
	}
	var purchases int
	if err := db.QueryRow(`SELECT COUNT(*) FROM purchases WHERE user_id = 'ann'`).Scan(&purchases); err != nil || purchases != 2 {
		t.Errorf("ann has %d purchases (%v), want 2", purchases, err)
	}
}

// applied counts the events the reviews' inbox recorded.
func applied(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM tailor_inbox WHERE consumer = $1`, reviews.ConsumerName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
