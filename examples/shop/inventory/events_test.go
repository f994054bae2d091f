package inventory_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/sqlite"
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

// The inventory learns of the products the catalog creates, with their
// initial stock, through the catalog's outbox, a real JetStream and the
// inventory's durable consumer; a stock an administrator set first wins,
// and an event delivered twice is applied once.
func TestConsumerLearnsProducts(t *testing.T) {
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
	if err := messaging.EnsureStream(ctx, js, catalog.Stream, []string{catalog.StreamSubjects}); err != nil {
		t.Fatal(err)
	}

	catalogDB, err := sqlite.Open(t.TempDir() + "/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalogDB.Close() })
	if err := catalog.Migrate(ctx, catalogDB); err != nil {
		t.Fatal(err)
	}
	products := catalog.NewService(catalogDB)
	create := func(name string, stock *int64) string {
		t.Helper()
		p, err := products.CreateProduct(ctx, catalog.CreateProductRequest{Name: name, Price: catalog.Money{Amount: 100, Currency: "EUR"}, Stock: stock})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	seven, nine := int64(7), int64(9)
	mug, cup, hat := create("Mug", &seven), create("Cup", nil), create("Hat", &nine)
	var mugEvent []byte
	if err := catalogDB.QueryRow(`SELECT body FROM tailor_outbox WHERE aggregate = $1`, mug).Scan(&mugEvent); err != nil {
		t.Fatal(err)
	}

	s, db := newService(t)
	setStock(t, s, hat, 2) // before the catalog's event: the administrator wins

	relay, err := outbox.NewRelay(catalogDB, js)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := relay.PublishPending(ctx); err != nil || n != 3 {
		t.Fatalf("relay published %d events (%v), want 3", n, err)
	}
	consumer, err := inventory.NewConsumer(js, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := consumer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { consumer.Stop(context.Background()) })

	stock := func(product string) (int64, bool) {
		st, err := s.GetStock(ctx, inventory.GetStockRequest{ProductID: product})
		return st.Available, err == nil
	}
	eventually(t, "the stock of the three products", func() bool {
		_, m := stock(mug)
		_, c := stock(cup)
		return m && c && applied(t, db) == 3
	})
	for _, want := range []struct {
		name, id string
		n        int64
	}{{"mug", mug, 7}, {"cup", cup, 0}, {"hat", hat, 2}} {
		if n, _ := stock(want.id); n != want.n {
			t.Errorf("%s: available %d, want %d", want.name, n, want.n)
		}
	}

	// The mug's event again, as a new message (the relay's publish would
	// be dropped as a duplicate): the consumer acknowledges it without
	// applying it, so a reservation made since is not undone.
	if _, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: []inventory.Item{{ProductID: mug, Quantity: 3}}}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, catalog.SubjectProductCreated, mugEvent)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second delivery to be acknowledged", func() bool {
		c, err := js.Consumer(ctx, catalog.Stream, inventory.ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.AckFloor.Stream >= ack.Sequence
	})
	if n, _ := stock(mug); n != 4 {
		t.Errorf("mug: available %d after the event came again, want 4", n)
	}
	if n := applied(t, db); n != 3 {
		t.Errorf("the inbox recorded %d events, want 3", n)
	}
}

// applied counts the events the inventory's inbox recorded.
func applied(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM tailor_inbox WHERE consumer = $1`, inventory.ConsumerName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An event whose stock is out of range cannot be applied however often
// it comes: the handler says so with a permanent error, and nothing is
// stored.
func TestHandlerRefusesStockOutOfRange(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	for _, n := range []int64{-1, inventory.MaxStock + 1} {
		e, err := catalog.ProductCreatedEvent().New("p-1", catalog.ProductCreated{ID: "p-1", Name: "Mug", Stock: n})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Handler()(ctx, e); !messaging.IsPermanent(err) {
			t.Errorf("stock %d: handler = %v, want a permanent error", n, err)
		}
	}
	if _, err := s.GetStock(ctx, inventory.GetStockRequest{ProductID: "p-1"}); err == nil {
		t.Error("a refused event created the product's stock")
	}
	if n := applied(t, db); n != 0 {
		t.Errorf("the inbox recorded %d events, want 0", n)
	}
}
