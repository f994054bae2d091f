package orders_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// An order names each product once, with 1 to 1000 units; every problem
// is listed at once.
func ExamplePlaceOrderRequest_Validate() {
	req := orders.PlaceOrderRequest{Items: []orders.Item{
		{ProductID: "hat", Quantity: 2},
		{ProductID: "hat", Quantity: 1},
		{ProductID: "scarf", Quantity: 0},
	}}
	for _, v := range fault.As(req.Validate()).Violations {
		fmt.Println(v.Field+":", v.Description)
	}
	// Output:
	// items[1].product_id: names the product of items[0] again; list each product once, with the whole quantity
	// items[2].quantity: must be from 1 to 1000 units, got 0
}

// In main, the orders serve their routes on the service's router, behind
// the verifier that puts the caller's claims in the context, and add the
// recovery of pending orders and the pruner of idempotency keys to the
// service.
func ExampleRegisterHTTP() {
	wire := func(svc *service.Service, db *sql.DB, registry discovery.Resolver, doc *openapi.Document) (*orders.Service, error) {
		if err := orders.Migrate(context.Background(), db); err != nil {
			return nil, err
		}
		s, err := orders.NewService(db, orders.Config{Resolver: registry, Telemetry: svc.Telemetry()})
		if err != nil {
			return nil, err
		}
		orders.RegisterHTTP(svc.Router(), s, thttp.ServerErrorLogger(svc.Logger()))
		orders.DescribeHTTP(doc) // doc defines orders.SecurityScheme
		svc.Add(s.Recovery(), s.Pruner())
		svc.AddCheck("database", db.PingContext)
		return s, nil // Close it once the service has stopped
	}
	_ = wire // called in main
}
