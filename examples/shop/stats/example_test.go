package stats_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/stats"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
)

// The stats count each product once, however often its event is
// delivered: the handler records every event it applies in the inbox, in
// the transaction that counts it. In the shop, NewConsumer feeds the
// handler from the catalog's stream; here the events are handed over
// directly, one of them twice.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "stats")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "stats.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := stats.Migrate(ctx, db); err != nil {
		panic(err)
	}
	s, err := stats.New(db, nil) // nil: no telemetry
	if err != nil {
		panic(err)
	}

	created := catalog.ProductCreatedEvent()
	mug, err := created.New("p-1", catalog.ProductCreated{ID: "p-1", Name: "Mug", Price: catalog.Money{Amount: 1299, Currency: "EUR"}, CreatedAt: time.Now()})
	if err != nil {
		panic(err)
	}
	hat, err := created.New("p-2", catalog.ProductCreated{ID: "p-2", Name: "Hat", Price: catalog.Money{Amount: 1500, Currency: "USD"}, CreatedAt: time.Now()})
	if err != nil {
		panic(err)
	}
	handle := s.Handler()
	for _, e := range []messaging.Event{mug, hat, mug} { // the mug's event is delivered twice
		if err := handle(ctx, e); err != nil {
			panic(err)
		}
	}

	resp, err := s.Get(ctx, stats.Request{})
	fmt.Println(resp.ProductsCreated, resp.ByCurrency, err)
	// Output:
	// 2 map[EUR:1 USD:1] <nil>
}

// In main, the consumer and the inbox's pruner are components of the
// service that serves the stats: they start after the listener is bound
// and stop, in reverse, after it stops accepting. Running it needs a
// JetStream server, such as the embedded one the shop starts when NATS_URL
// is unset.
func ExampleNewConsumer() {
	wire := func(svc *service.Service, js jetstream.JetStream, db *sql.DB) error {
		counts, err := stats.New(db, svc.Telemetry())
		if err != nil {
			return err
		}
		stats.RegisterHTTP(svc.Router(), counts)
		consumer, err := stats.NewConsumer(js, counts)
		if err != nil {
			return err
		}
		svc.Add(consumer, counts.Pruner())
		return nil
	}
	_ = wire // called in main, after stats.Migrate and messaging.EnsureStream
}
