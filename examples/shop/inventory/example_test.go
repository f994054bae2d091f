package inventory_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// A reservation holds stock for an order until it is committed or
// released. Repeating a call is safe: a repeated reservation takes
// nothing again, and a repeated release gives nothing back twice.
func ExampleService_Reserve() {
	dir, err := os.MkdirTemp("", "inventory")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "inventory.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := inventory.Migrate(ctx, db); err != nil {
		panic(err)
	}
	s, err := inventory.NewService(db)
	if err != nil {
		panic(err)
	}
	if _, err := s.SetStock(ctx, inventory.SetStockRequest{ProductID: "mug", Available: 3}); err != nil {
		panic(err)
	}
	available := func() int64 {
		st, err := s.GetStock(ctx, inventory.GetStockRequest{ProductID: "mug"})
		if err != nil {
			panic(err)
		}
		return st.Available
	}

	order := inventory.ReserveRequest{ReservationID: "order-1", Items: []inventory.Item{{ProductID: "mug", Quantity: 2}}}
	for range 2 {
		res, err := s.Reserve(ctx, order)
		fmt.Println("reserve:", res.State, err, "available:", available())
	}
	_, err = s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-2", Items: []inventory.Item{{ProductID: "mug", Quantity: 2}}})
	fmt.Println("reserve another:", fault.As(err).HTTPStatus(), fault.As(err).Detail)
	for range 2 {
		res, err := s.Release(ctx, inventory.ReservationRequest{ID: "order-1"})
		fmt.Println("release:", res.State, err, "available:", available())
	}
	_, err = s.Commit(ctx, inventory.ReservationRequest{ID: "order-1"})
	fmt.Println("commit:", fault.As(err).HTTPStatus(), fault.As(err).Detail)
	// Output:
	// reserve: reserved <nil> available: 1
	// reserve: reserved <nil> available: 1
	// reserve another: 409 not enough stock, so nothing was reserved: product "mug" has 1 available, 2 wanted; reserve fewer units or wait for a restock
	// release: released <nil> available: 3
	// release: released <nil> available: 3
	// commit: 409 cannot commit reservation "order-1": it is released already, and a released reservation stays so
}

// In main, the inventory serves its routes on the service's router,
// behind the verifier that puts the caller's claims in the context, and
// learns of new products from the catalog's stream. Running it needs a
// JetStream server, such as the embedded one the shop starts when
// NATS_URL is unset.
func ExampleNewConsumer() {
	wire := func(svc *service.Service, js jetstream.JetStream, db *sql.DB, doc *openapi.Document) error {
		if err := inventory.Migrate(context.Background(), db); err != nil {
			return err
		}
		stock, err := inventory.NewService(db, inventory.WithTelemetry(svc.Telemetry()))
		if err != nil {
			return err
		}
		// An auth.Verifier's HTTPMiddleware must run on the router, so
		// that the admin route sees the caller's claims.
		inventory.RegisterHTTP(svc.Router(), stock, thttp.ServerErrorLogger(svc.Logger()))
		inventory.DescribeHTTP(doc) // doc defines inventory.SecurityScheme
		consumer, err := inventory.NewConsumer(js, stock)
		if err != nil {
			return err
		}
		svc.AddCheck("inventory database", db.PingContext)
		svc.Add(consumer, stock.Pruner())
		return nil
	}
	_ = wire // called in main, after messaging.EnsureStream for catalog.Stream
}
