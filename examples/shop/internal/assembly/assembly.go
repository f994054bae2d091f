// Package assembly builds each service of the shop from what it depends
// on, so that the one-process shop (examples/shop) and the programs that
// run one service each (examples/shop/cmd/<service>) build them the same
// way: the one-process shop hands in an in-memory registry, SQLite files
// and an embedded NATS server; a service's own program hands in Consul
// (or, where the platform registers the instances, DNS), its database
// from DATABASE_URL and the NATS server NATS_URL names.
//
// Start with [Build]: given a service.Service named after one of the
// shop's services and the [Deps] it needs, it adds the service's routes,
// database, events, background components and registration. Services
// other than users accept the users service's tokens: make the
// service.Service with [AuthOptions] over a verifier, such as the one
// [NewVerifier] makes, which fetches the users service's keys by name.
// [OpenDatabase] opens a service's database from a PostgreSQL URL or an
// SQLite path, creating it when it is missing.
package assembly

import (
	"context"
	"crypto"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/examples/shop/stats"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Deps is what a service is built from. Which fields a service needs is
// written beside each; [Build] says which one is missing.
type Deps struct {
	// Resolver is where the service finds those it calls (orders, the
	// gateway, and every service's token verifier): discovery/memory in
	// one process, discovery/consul or discovery/dns across processes.
	// Every service needs it.
	Resolver discovery.Resolver
	// Registrar is where the service registers once ready (every service
	// but the gateway), usually the registry Resolver reads. Nil
	// registers nothing: the platform does, as Kubernetes publishes the
	// ready pods of a headless Service in DNS.
	Registrar discovery.Registrar
	// Address is the host callers dial to reach the service; empty lets
	// the registry choose (Consul: its agent's node address; the memory
	// registry: 127.0.0.1).
	Address string
	// OpenDB opens the service's own database, creating it when it is
	// missing; Build migrates it. Every service but the gateway needs it.
	OpenDB func(ctx context.Context, service string) (*sql.DB, error)
	// Connect gives the service its own connection to NATS JetStream.
	// catalog, inventory, orders, reviews and stats need it.
	Connect func(service string) (*nats.Conn, jetstream.JetStream, error)
	// Verifier checks the users service's tokens; the gateway needs it.
	// (The other services check them with [AuthOptions].)
	Verifier *auth.Verifier

	// SigningKey is the key the users service signs tokens with; nil
	// makes it generate one, which lasts as long as the process.
	SigningKey crypto.Signer
	// AdminPassword is the password users gives the administrator when it
	// creates it at the first start; empty makes it generate one and
	// show it once on Stdout.
	AdminPassword string
	// Stdout is where a generated administrator's password is shown,
	// never logged. Default: nowhere.
	Stdout io.Writer
	// PaymentFaults are the simulated card processor's faults at start.
	PaymentFaults payments.Faults
	// StreamReplicas is how many servers of a JetStream cluster keep
	// each stream the service creates; zero is one.
	StreamReplicas int
	// OrdersLease is how long the orders' claims on an order's saga and
	// on its Idempotency-Key last (orders.Config.Lease, the one-process
	// shop's -lease); zero is orders.DefaultLease.
	OrdersLease time.Duration
	// Gateway configures the gateway beyond what Build fills in
	// (resolver, verifier, telemetry, logger, documents).
	Gateway gateway.Config
}

// AuthOptions are the options of a service that accepts the users
// service's tokens: v checks those of every HTTP request and gRPC call.
func AuthOptions(v *auth.Verifier) []service.Option {
	return []service.Option{
		service.WithHTTPMiddleware(v.HTTPMiddleware()),
		service.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(v.UnaryServerInterceptor())),
	}
}

// Build adds to svc the service of the shop it is named after
// (svc.Config().Name: users, catalog, inventory, payments, orders,
// reviews, stats or gateway), built from deps, and a registration in
// deps.Registrar, when there is one, that announces it once ready (every
// service but the gateway, which is the shop's entry, not called by
// name), naming its admin listener, when it has one, in the instance's
// Meta (discovery.MetaAdmin) for a dashboard hub to find. It returns
// what to call once svc's Run has returned: it closes the service's
// database and connections. Errors name the service.
func Build(ctx context.Context, svc *service.Service, deps Deps) (cleanup func(), err error) {
	name := svc.Config().Name
	if deps.Resolver == nil {
		return nil, fmt.Errorf("%s: assembly: Deps.Resolver is nil; pass the registry the services are found in", name)
	}
	if deps.Stdout == nil {
		deps.Stdout = io.Discard
	}
	b := builder{deps: deps}
	switch name {
	case "users":
		cleanup, err = b.buildUsers(ctx, svc)
	case "catalog":
		cleanup, err = b.buildCatalog(ctx, svc)
	case "inventory":
		cleanup, err = b.buildInventory(ctx, svc)
	case "payments":
		cleanup, err = b.buildPayments(ctx, svc)
	case "orders":
		cleanup, err = b.buildOrders(ctx, svc)
	case "reviews":
		cleanup, err = b.buildReviews(ctx, svc)
	case "stats":
		cleanup, err = b.buildStats(ctx, svc)
	case "gateway":
		cleanup, err = b.buildGateway(svc)
	default:
		err = fmt.Errorf("shop: no service is called %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if name != "gateway" && deps.Registrar != nil {
		svc.Add(discovery.NewRegistration(deps.Registrar, func() discovery.Instance {
			return discovery.Instance{Service: name, Address: deps.Address, Port: svc.HTTPAddr().Port}.WithAdmin(svc.AdminAddr())
		}))
	}
	return cleanup, nil
}

// builder builds one service from its dependencies.
type builder struct {
	deps Deps
}

// openDB opens and migrates the service's own database.
func (b builder) openDB(ctx context.Context, name string, migrate func(context.Context, *sql.DB) error) (*sql.DB, error) {
	if b.deps.OpenDB == nil {
		return nil, errors.New("assembly: Deps.OpenDB is nil; pass how to open the service's database")
	}
	db, err := b.deps.OpenDB(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

func (b builder) buildUsers(ctx context.Context, svc *service.Service) (func(), error) {
	db, err := b.openDB(ctx, "users", users.Migrate)
	if err != nil {
		return nil, err
	}
	accounts, err := b.newAccounts(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	users.RegisterHTTP(svc.Router(), accounts, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("users", users.DescribeHTTP).Handler())
	svc.AddCheck("database", db.PingContext)
	return func() { db.Close() }, nil
}

// newAccounts makes the users service, with its signing key, and creates
// the administrator at the first start.
func (b builder) newAccounts(ctx context.Context, db *sql.DB) (*users.Service, error) {
	accounts, err := users.NewService(users.NewStore(db), users.WithSigningKey(b.deps.SigningKey))
	if err != nil {
		return nil, err
	}
	generated, err := accounts.EnsureAdmin(ctx, b.deps.AdminPassword)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		// Shown to the person who started the shop, never logged.
		fmt.Fprintf(b.deps.Stdout, "shop: created %s with the password %s; it is shown this once (choose it with -admin-password or %s)\n", users.AdminEmail, generated, users.EnvAdminPassword)
	}
	return accounts, nil
}

// openWithEvents opens the service's database, as openDB does, and its
// own connection to the broker, makes sure the catalog's and the orders'
// streams exist, and adds both to the service's readiness checks. cleanup
// closes both.
func (b builder) openWithEvents(ctx context.Context, svc *service.Service, migrate func(context.Context, *sql.DB) error) (db *sql.DB, js jetstream.JetStream, cleanup func(), err error) {
	name := svc.Config().Name
	if b.deps.Connect == nil {
		return nil, nil, nil, errors.New("assembly: Deps.Connect is nil; pass how to connect to NATS")
	}
	db, err = b.openDB(ctx, name, migrate)
	if err != nil {
		return nil, nil, nil, err
	}
	nc, js, err := b.deps.Connect(name)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	cleanup = func() { nc.Close(); db.Close() }
	for stream, subjects := range map[string]string{catalog.Stream: catalog.StreamSubjects, orders.Stream: orders.StreamSubjects} {
		if err := messaging.EnsureStream(ctx, js, stream, []string{subjects}, messaging.WithReplicas(max(b.deps.StreamReplicas, 1))); err != nil {
			cleanup()
			return nil, nil, nil, err
		}
	}
	svc.AddCheck("database", db.PingContext)
	svc.AddCheck("nats", messaging.Check(nc))
	return db, js, cleanup, nil
}

func (b builder) buildCatalog(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := b.openWithEvents(ctx, svc, catalog.Migrate)
	if err != nil {
		return nil, err
	}
	products := catalog.NewService(db, catalog.WithTelemetry(svc.Telemetry()))
	catalog.RegisterHTTP(svc.Router(), products, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("catalog", catalog.DescribeHTTP).Handler())
	if g := svc.GRPCServer(); g != nil {
		catalog.RegisterGRPC(g, products)
	}
	relay, err := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()), outbox.WithName("catalog"))
	if err != nil {
		cleanup()
		return nil, err
	}
	svc.Add(relay)
	return cleanup, nil
}

func (b builder) buildInventory(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := b.openWithEvents(ctx, svc, inventory.Migrate)
	if err != nil {
		return nil, err
	}
	stock, err := inventory.NewService(db, inventory.WithTelemetry(svc.Telemetry()))
	if err != nil {
		cleanup()
		return nil, err
	}
	inventory.RegisterHTTP(svc.Router(), stock, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("inventory", inventory.DescribeHTTP).Handler())
	consumer, err := inventory.NewConsumer(js, stock)
	if err != nil {
		cleanup()
		return nil, err
	}
	svc.Add(consumer, stock.Pruner())
	return cleanup, nil
}

func (b builder) buildPayments(ctx context.Context, svc *service.Service) (func(), error) {
	db, err := b.openDB(ctx, "payments", payments.Migrate)
	if err != nil {
		return nil, err
	}
	processor, err := payments.NewService(db, payments.WithFaults(b.deps.PaymentFaults))
	if err != nil {
		db.Close()
		return nil, err
	}
	payments.RegisterHTTP(svc.Router(), processor, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("payments", payments.DescribeHTTP).Handler())
	svc.AddCheck("database", db.PingContext)
	return func() { db.Close() }, nil
}

func (b builder) buildOrders(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := b.openWithEvents(ctx, svc, orders.Migrate)
	if err != nil {
		return nil, err
	}
	placed, err := orders.NewService(db, orders.Config{Resolver: b.deps.Resolver, Telemetry: svc.Telemetry(), Lease: b.deps.OrdersLease})
	if err != nil {
		cleanup()
		if b.deps.OrdersLease != 0 && b.deps.OrdersLease != orders.DefaultLease {
			err = fmt.Errorf("-lease %v: %w", b.deps.OrdersLease, err)
		}
		return nil, err
	}
	orders.RegisterHTTP(svc.Router(), placed, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("orders", orders.DescribeHTTP).Handler())
	relay, err := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()), outbox.WithName("orders"))
	if err != nil {
		placed.Close()
		cleanup()
		return nil, err
	}
	svc.Add(relay, placed.Recovery(), placed.Pruner())
	return func() { placed.Close(); cleanup() }, nil
}

func (b builder) buildReviews(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := b.openWithEvents(ctx, svc, reviews.Migrate)
	if err != nil {
		return nil, err
	}
	opinions, err := reviews.NewService(db, reviews.WithTelemetry(svc.Telemetry()))
	if err != nil {
		cleanup()
		return nil, err
	}
	reviews.RegisterHTTP(svc.Router(), opinions, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("reviews", reviews.DescribeHTTP).Handler())
	consumer, err := reviews.NewConsumer(js, opinions)
	if err != nil {
		cleanup()
		return nil, err
	}
	svc.Add(consumer, opinions.Pruner())
	return cleanup, nil
}

func (b builder) buildStats(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := b.openWithEvents(ctx, svc, stats.Migrate)
	if err != nil {
		return nil, err
	}
	counts, err := stats.New(db, svc.Telemetry())
	if err != nil {
		cleanup()
		return nil, err
	}
	stats.RegisterHTTP(svc.Router(), counts)
	svc.Router().Handle("GET /openapi.json", describe("stats", stats.DescribeHTTP).Handler())
	consumer, err := stats.NewConsumer(js, counts)
	if err != nil {
		cleanup()
		return nil, err
	}
	svc.Add(consumer, counts.Pruner())
	return cleanup, nil
}

func (b builder) buildGateway(svc *service.Service) (func(), error) {
	cfg := b.deps.Gateway
	cfg.Resolver = b.deps.Resolver
	cfg.Verifier = b.deps.Verifier
	cfg.Telemetry = svc.Telemetry()
	cfg.Logger = svc.Logger()
	cfg.Docs = []*openapi.Document{
		describe("users", users.DescribeHTTP),
		describe("catalog", catalog.DescribeHTTP),
		describe("inventory", inventory.DescribeHTTP),
		describe("orders", orders.DescribeHTTP),
		describe("payments", payments.DescribeHTTP),
		describe("reviews", reviews.DescribeHTTP),
		describe("stats", stats.DescribeHTTP),
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return nil, err
	}
	gw.Register(svc.Router())
	return func() { gw.Close() }, nil
}

// describe returns the OpenAPI document of one service.
func describe(name string, describeHTTP func(*openapi.Document)) *openapi.Document {
	doc := openapi.New("tailor shop: "+name, "1.0.0")
	describeHTTP(doc)
	return doc
}

// AdvertisedHost is the host to register for a service listening on
// addr (host:port): the host when it names one, or "" (let the
// registry choose) when it is empty or a wildcard such as 0.0.0.0.
func AdvertisedHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	return host
}
