package payments_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// A charge is taken once per key, however often it is asked for; a
// refund gives it back once; and a refund that comes before its charge
// voids the key, so the late charge takes nothing.
func ExampleService_Charge() {
	dir, err := os.MkdirTemp("", "payments")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "payments.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := payments.Migrate(ctx, db); err != nil {
		panic(err)
	}
	s, err := payments.NewService(db)
	if err != nil {
		panic(err)
	}

	req := payments.ChargeRequest{Key: "saga-1/charge", OrderID: "order-1", UserID: "user-1", Amount: 1250, Currency: "EUR"}
	for range 2 {
		p, err := s.Charge(ctx, req)
		fmt.Println("charge:", p.Status, p.Amount, p.Currency, err)
	}
	for range 2 {
		p, err := s.Refund(ctx, payments.RefundRequest{Key: "saga-1/charge", OrderID: "order-1"})
		fmt.Println("refund:", p.Status, err)
	}

	p, err := s.Refund(ctx, payments.RefundRequest{Key: "saga-2/charge", OrderID: "order-2"})
	fmt.Println("refund before the charge:", p.Status, err)
	_, err = s.Charge(ctx, payments.ChargeRequest{Key: "saga-2/charge", OrderID: "order-2", UserID: "user-1", Amount: 990, Currency: "EUR"})
	fmt.Println("the late charge:", fault.As(err).HTTPStatus(), fault.As(err).Detail)
	// Output:
	// charge: charged 1250 EUR <nil>
	// charge: charged 1250 EUR <nil>
	// refund: refunded <nil>
	// refund: refunded <nil>
	// refund before the charge: voided <nil>
	// the late charge: 409 payment key "saga-2/charge" was refunded before any charge under it arrived, so it is void and its charge is refused; nothing was taken; charge under a new key if the order still needs paying
}

// The faults to inject come from the environment at start, and an
// administrator changes them at run time.
func ExampleFaultsFromEnv() {
	env := map[string]string{payments.EnvFailureRate: "0.2", payments.EnvLatencyMS: "150"}
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
	f, err := payments.FaultsFromEnv(lookup)
	fmt.Printf("%+v %v\n", f, err)

	env[payments.EnvUnavailableRate] = "20%"
	_, err = payments.FaultsFromEnv(lookup)
	fmt.Println(err)
	// Output:
	// {FailureRate:0.2 LatencyMS:150 UnavailableRate:0} <nil>
	// payments: SHOP_PAYMENTS_UNAVAILABLE_RATE="20%" is not a rate from 0 to 1; use a number such as 0.1 (one call in ten), or 0 for none
}

// In main, the payments serve their routes on the service's router,
// behind the verifier that puts the caller's claims in the context, with
// the faults the environment asks for.
func ExampleRegisterHTTP() {
	wire := func(svc *service.Service, db *sql.DB, doc *openapi.Document) error {
		if err := payments.Migrate(context.Background(), db); err != nil {
			return err
		}
		faults, err := payments.FaultsFromEnv(os.LookupEnv)
		if err != nil {
			return err
		}
		processor, err := payments.NewService(db, payments.WithFaults(faults))
		if err != nil {
			return err
		}
		// An auth.Verifier's HTTPMiddleware must run on the router, so
		// that the admin routes see the caller's claims.
		payments.RegisterHTTP(svc.Router(), processor, thttp.ServerErrorLogger(svc.Logger()))
		payments.DescribeHTTP(doc) // doc defines payments.SecurityScheme
		svc.AddCheck("database", db.PingContext)
		return nil
	}
	_ = wire // called in main
}
