package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// product is what the orders read of a catalog product.
type product struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"price"`
}

// reservation is the inventory's reservation, as the orders send and read it.
type reservation struct {
	ReservationID string `json:"reservation_id"`
	Items         []Item `json:"items"`
}

type stock struct {
	Available int64 `json:"available"`
}

type charge struct {
	Key      string `json:"key"`
	OrderID  string `json:"order_id"`
	UserID   string `json:"user_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type refund struct {
	Key     string `json:"key"`
	OrderID string `json:"order_id"`
}

// payment is what the orders read of a payment.
type payment struct {
	Status string `json:"status"`
}

// dependency is a service the saga calls: its client, and a circuit
// breaker around every call to it, whose state the orders read before
// they take an order.
type dependency struct {
	name        string
	client      *client.Client
	breaker     *resilience.Breaker
	openTimeout time.Duration
	untrack     func() // stops listing the breaker with the telemetry; nil without one
}

// endpoint returns the route of d made by f, behind d's breaker.
func (d *dependency) endpoint(f client.Factory) endpoint.Endpoint {
	return d.breaker.Middleware()(d.client.Endpoint(f))
}

// available returns a [*DependencyError] when no instance of d is in
// rotation or its breaker is open, so an order would fail.
func (d *dependency) available() error {
	switch {
	case len(d.client.Instances()) == 0:
		return &DependencyError{Service: d.name, RetryAfter: time.Second}
	case d.breaker.State() == resilience.StateOpen:
		return &DependencyError{Service: d.name, RetryAfter: d.openTimeout}
	}
	return nil
}

// calls holds the routes of the catalog, the inventory and the payments
// service that the orders call.
type calls struct {
	catalog             *client.Client
	inventory, payments *dependency
	getProduct          tailor.Func[string, product]
	getStock            tailor.Func[string, stock]
	reserve             tailor.Func[reservation, reservation]
	release, commit     tailor.Func[string, reservation]
	charge              tailor.Func[charge, payment]
	refund              tailor.Func[refund, payment]
}

func newCalls(cfg Config) (*calls, error) {
	opts := func(policy resilience.PolicyConfig) []client.Option {
		o := []client.Option{client.WithPolicy(policy)}
		if cfg.Telemetry != nil {
			o = append(o, client.WithTelemetry(cfg.Telemetry))
		}
		return o
	}
	c := &calls{}
	var err error
	// Reads of the catalog are retried on another instance; the saga's
	// calls are retried by the saga, each step up to three times, and
	// here once more only on another instance.
	if c.catalog, err = client.New(cfg.Resolver, Catalog, opts(resilience.PolicyConfig{Timeout: 2 * time.Second, Retry: &resilience.RetryConfig{MaxAttempts: 3}})...); err != nil {
		return nil, err
	}
	dep := func(name string) (*dependency, error) {
		cl, err := client.New(cfg.Resolver, name, opts(resilience.PolicyConfig{Retry: &resilience.RetryConfig{MaxAttempts: 2}})...)
		if err != nil {
			return nil, err
		}
		open := cfg.Breaker.OpenTimeout
		if open <= 0 {
			open = 5 * time.Second
		}
		d := &dependency{name: name, client: cl, openTimeout: open}
		if cfg.Telemetry == nil {
			d.breaker = resilience.NewBreaker(name, cfg.Breaker)
			return d, nil
		}
		// The breaker's state is measured, and shown on the dashboard,
		// where an operator can force it.
		d.breaker = resilience.NewBreaker(name, cfg.Breaker, resilience.WithStateChange(cfg.Telemetry.BreakerStateChange))
		d.untrack = cfg.Telemetry.TrackBreaker(d.breaker)
		return d, nil
	}
	if c.inventory, err = dep(Inventory); err != nil {
		c.close()
		return nil, err
	}
	if c.payments, err = dep(Payments); err != nil {
		c.close()
		return nil, err
	}
	// Each call's span and trace context go along with it, so that a
	// trace follows an order into the catalog, inventory and payments.
	var hopts []kithttp.ClientOption
	if cfg.Telemetry != nil {
		hopts = cfg.Telemetry.HTTPClientOptions()
	}
	c.getProduct = tailor.Call[string, product](c.catalog.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/products/{id}", pathValue("id"), thttp.DecodeJSONResponse[product](), hopts...)))
	c.getStock = tailor.Call[string, stock](c.inventory.endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{id}", pathValue("id"), thttp.DecodeJSONResponse[stock](), hopts...)))
	c.reserve = tailor.Call[reservation, reservation](c.inventory.endpoint(client.HTTPFactory(http.MethodPost, "/internal/v1/reservations", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[reservation](), hopts...)))
	c.release = tailor.Call[string, reservation](c.inventory.endpoint(client.HTTPFactory(http.MethodPost, "/internal/v1/reservations/{id}/release", pathValue("id"), thttp.DecodeJSONResponse[reservation](), hopts...)))
	c.commit = tailor.Call[string, reservation](c.inventory.endpoint(client.HTTPFactory(http.MethodPost, "/internal/v1/reservations/{id}/commit", pathValue("id"), thttp.DecodeJSONResponse[reservation](), hopts...)))
	c.charge = tailor.Call[charge, payment](c.payments.endpoint(client.HTTPFactory(http.MethodPost, "/internal/v1/charges", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[payment](), hopts...)))
	c.refund = tailor.Call[refund, payment](c.payments.endpoint(client.HTTPFactory(http.MethodPost, "/internal/v1/refunds", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[payment](), hopts...)))
	return c, nil
}

// pathValue returns an encoder that puts a string request in the path
// wildcard name.
func pathValue(name string) kithttp.EncodeRequestFunc {
	return func(_ context.Context, r *http.Request, request any) error {
		r.SetPathValue(name, request.(string))
		return nil
	}
}

// close stops the clients made so far.
func (c *calls) close() error {
	var errs []error
	if c.catalog != nil {
		errs = append(errs, c.catalog.Close())
	}
	for _, d := range []*dependency{c.inventory, c.payments} {
		if d != nil {
			errs = append(errs, d.client.Close())
			if d.untrack != nil {
				d.untrack()
			}
		}
	}
	return errors.Join(errs...)
}

// available returns a [*DependencyError] naming the first service the
// saga needs that would fail the order now.
func (c *calls) available() error {
	for _, d := range []*dependency{c.inventory, c.payments} {
		if err := d.available(); err != nil {
			return err
		}
	}
	return nil
}

// price reads the price of every item from the catalog and returns the
// saga's data with the order's lines, total and currency. An unknown
// product, items priced in several currencies and a total beyond
// [MaxTotal] are InvalidArgument errors naming the items; a catalog that
// cannot answer is a [*DependencyError].
func (c *calls) price(ctx context.Context, items []Item) (orderSaga, error) {
	data := orderSaga{Lines: make([]Line, len(items)), Names: make(map[string]string, len(items))}
	var v []fault.Violation
	ctx = resilience.WithIdempotent(ctx)
	for i, it := range items {
		p, err := c.getProduct(ctx, it.ProductID)
		field := fmt.Sprintf("items[%d].product_id", i)
		switch {
		case errors.Is(err, fault.NotFound):
			v = append(v, fault.Violation{Field: field, Description: fmt.Sprintf("no product %q is in the catalog; order products the catalog lists", it.ProductID)})
			continue
		case fault.IsRetryable(err):
			return orderSaga{}, &DependencyError{Service: Catalog, RetryAfter: max(fault.RetryAfter(err), time.Second)}
		case err != nil:
			return orderSaga{}, fault.Wrap(err, fault.Internal, "could not read the products' prices from the catalog")
		}
		switch {
		case data.Currency == "":
			data.Currency = p.Price.Currency
		case p.Price.Currency != data.Currency:
			v = append(v, fault.Violation{Field: field, Description: fmt.Sprintf("is priced in %s and the items before it in %s; order the items of each currency apart", p.Price.Currency, data.Currency)})
		}
		data.Lines[i] = Line{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: p.Price.Amount}
		data.Names[it.ProductID] = p.Name
		data.Total += it.Quantity * p.Price.Amount
	}
	switch {
	case len(v) > 0:
		return orderSaga{}, fault.Invalid(v...)
	case data.Total > MaxTotal:
		return orderSaga{}, fault.Invalid(fault.Violation{Field: "items", Description: fmt.Sprintf("add up to %d minor units of %s, more than the %d one payment takes; split the order", data.Total, data.Currency, MaxTotal)})
	case data.Total <= 0:
		return orderSaga{}, fault.Invalid(fault.Violation{Field: "items", Description: "add up to nothing to pay; order at least one product with a price"})
	}
	return data, nil
}

// shortage names the products of d the inventory has too few of now, or
// all of d's products when it cannot tell.
func (c *calls) shortage(ctx context.Context, d *orderSaga) string {
	var short, all []string
	ctx = resilience.WithIdempotent(ctx)
	for _, l := range d.Lines {
		name := fmt.Sprintf("%q", d.name(l.ProductID))
		all = append(all, name)
		if s, err := c.getStock(ctx, l.ProductID); err == nil && s.Available < l.Quantity {
			short = append(short, name)
		}
	}
	if len(short) == 0 {
		short = all
	}
	return "not enough stock of " + strings.Join(short, ", ")
}
