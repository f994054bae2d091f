package reviews_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// A customer reviews a product once they are known to have bought it:
// the order.confirmed event, which the consumer hands to the service's
// Handler, makes them a buyer.
func ExampleService_CreateReview() {
	dir, err := os.MkdirTemp("", "reviews")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "reviews.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := reviews.Migrate(ctx, db); err != nil {
		panic(err)
	}
	s, err := reviews.NewService(db)
	if err != nil {
		panic(err)
	}

	review := reviews.CreateReviewRequest{ProductID: "mug", UserID: "ann", Rating: 4, Title: "Holds tea", Body: "Blue, and sturdy."}
	_, err = s.CreateReview(ctx, review)
	fmt.Println("before the purchase is known:", fault.As(err).HTTPStatus())

	event, err := orders.OrderConfirmedEvent().New("order-1", orders.OrderConfirmed{
		OrderID: "order-1", UserID: "ann", Lines: []orders.Line{{ProductID: "mug", Quantity: 1, UnitPrice: 1299}},
		Total: 1299, Currency: "EUR", ConfirmedAt: time.Now()})
	if err != nil {
		panic(err)
	}
	if err := s.Handler()(ctx, event); err != nil {
		panic(err)
	}
	r, err := s.CreateReview(ctx, review)
	fmt.Println("after:", r.Rating, r.Title, err)
	_, err = s.CreateReview(ctx, review)
	fmt.Println("again:", fault.As(err).HTTPStatus())

	if err := s.Handler()(ctx, event); err != nil { // delivered again: applied once
		panic(err)
	}
	sum, err := s.Summary(ctx, reviews.SummaryRequest{ProductID: "mug"})
	fmt.Println("summary:", sum.Count, sum.Average, err)
	// Output:
	// before the purchase is known: 403
	// after: 4 Holds tea <nil>
	// again: 409
	// summary: 1 4 <nil>
}

// In main, the reviews service serves its routes on the service's router,
// behind the verifier that puts the caller's claims in the context, and
// learns of purchases from the orders' stream. Running it needs a
// JetStream server, such as the embedded one the shop starts when
// NATS_URL is unset.
func ExampleNewConsumer() {
	wire := func(svc *service.Service, js jetstream.JetStream, db *sql.DB, doc *openapi.Document) error {
		if err := reviews.Migrate(context.Background(), db); err != nil {
			return err
		}
		s, err := reviews.NewService(db, reviews.WithTelemetry(svc.Telemetry()))
		if err != nil {
			return err
		}
		// An auth.Verifier's HTTPMiddleware must run on the router, so
		// that POST /v1/products/{id}/reviews sees the caller's claims.
		reviews.RegisterHTTP(svc.Router(), s, thttp.ServerErrorLogger(svc.Logger()))
		reviews.DescribeHTTP(doc) // doc defines reviews.SecurityScheme
		// The stream must exist before the consumer starts.
		if err := messaging.EnsureStream(context.Background(), js, orders.Stream, []string{orders.StreamSubjects}); err != nil {
			return err
		}
		consumer, err := reviews.NewConsumer(js, s)
		if err != nil {
			return err
		}
		svc.AddCheck("reviews database", db.PingContext)
		svc.Add(consumer, s.Pruner())
		return nil
	}
	_ = wire // called in main
}
