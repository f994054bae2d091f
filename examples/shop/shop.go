package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/examples/shop/stats"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The shop's services, in the order they start. The gateway starts last,
// once everything it routes to is registered, and stops first, so that
// no request is let in that its services could not finish.
var serviceNames = []string{"users", "catalog", "inventory", "payments", "orders", "reviews", "stats", "gateway"}

// config is what the shop is run with.
type config struct {
	// base holds the settings every service shares (timeouts, delays);
	// its HTTPAddr is the gateway's, its GRPCAddr the catalog's.
	base service.Config
	data string
	// databaseURL, when set, is the PostgreSQL server on which each
	// service keeps its own database, named databasePrefix_<service>;
	// when empty each keeps a SQLite file under data.
	databaseURL    string
	databasePrefix string
	// lease is how long the orders' claims on an order's saga and on its
	// Idempotency-Key last (orders.Config.Lease).
	lease         time.Duration
	adminPassword string
	logger        *slog.Logger
	stdout        io.Writer // where the administrator's generated password is shown
	// paymentFaults are the simulated card processor's faults at start
	// (SHOP_PAYMENTS_*); an administrator changes them at run time.
	paymentFaults payments.Faults
	// gateway configures the gateway beyond what the shop fills in
	// (registry, verifier, telemetry, documents).
	gateway gateway.Config
}

// shop is every service of the shop running in one process, each with its
// own listener, database and registration in one in-memory registry.
type shop struct {
	cfg      config
	registry *memory.Registry
	nats     *natsBroker
	users    *users.Service // made once: it creates the administrator

	mu      sync.Mutex
	running map[string]*running
	failed  chan error // a service that stopped on its own
}

// running is one service while it runs.
type running struct {
	svc  *service.Service
	stop context.CancelFunc
	done chan error
}

// startShop starts every service and returns once the gateway is ready.
func startShop(ctx context.Context, cfg config) (_ *shop, err error) {
	sh := &shop{cfg: cfg, registry: memory.New(), running: map[string]*running{}, failed: make(chan error, len(serviceNames))}
	defer func() {
		if err != nil {
			sh.stop(context.WithoutCancel(ctx))
		}
	}()
	if sh.nats, err = startNATS(ctx, cfg.data, cfg.logger); err != nil {
		return nil, err
	}
	for _, name := range serviceNames {
		if err := sh.start(ctx, name); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// start builds the service called name and runs it until [shop.stopService]
// or [shop.stop]; it returns once the service is ready (and registered).
func (sh *shop) start(ctx context.Context, name string) error {
	cfg := sh.cfg.base
	cfg.Name = name
	cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", ""
	switch name {
	case "gateway":
		cfg.HTTPAddr = sh.cfg.base.HTTPAddr
	case "catalog":
		cfg.GRPCAddr = sh.cfg.base.GRPCAddr
	}
	logger := sh.cfg.logger // the service adds its name to each record
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: name, Logger: logger})
	if err != nil {
		return err
	}
	opts := []service.Option{service.WithLogger(logger), service.WithTelemetry(tel), service.WithoutSignals()}
	var verifier *auth.Verifier
	if name != "users" {
		// Every service but the issuer trusts the users service's tokens,
		// checking them against the keys it publishes.
		if verifier, err = sh.verifier(); err != nil {
			_ = tel.Shutdown(ctx)
			return err
		}
		opts = append(opts,
			service.WithHTTPMiddleware(verifier.HTTPMiddleware()),
			service.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(verifier.UnaryServerInterceptor())))
	}
	svc, err := service.New(cfg, opts...)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
	}
	var cleanup func()
	switch name {
	case "users":
		cleanup, err = sh.buildUsers(ctx, svc)
	case "catalog":
		cleanup, err = sh.buildCatalog(ctx, svc)
	case "inventory":
		cleanup, err = sh.buildInventory(ctx, svc)
	case "payments":
		cleanup, err = sh.buildPayments(ctx, svc)
	case "orders":
		cleanup, err = sh.buildOrders(ctx, svc)
	case "reviews":
		cleanup, err = sh.buildReviews(ctx, svc)
	case "stats":
		cleanup, err = sh.buildStats(ctx, svc)
	case "gateway":
		cleanup, err = sh.buildGateway(svc, verifier)
	default:
		err = fmt.Errorf("shop: no service is called %q", name)
	}
	if err != nil {
		_ = tel.Shutdown(ctx)
		return fmt.Errorf("%s: %w", name, err)
	}
	if name != "gateway" {
		svc.Add(discovery.NewRegistration(sh.registry, func() discovery.Instance {
			return discovery.Instance{Service: name, Port: svc.HTTPAddr().Port}
		}))
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &running{svc: svc, stop: cancel, done: make(chan error, 1)}
	go func() {
		err := svc.Run(runCtx)
		cleanup()
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		r.done <- err
		if runCtx.Err() == nil { // it stopped on its own
			if err == nil {
				err = fmt.Errorf("%s stopped on its own", name)
			}
			select {
			case sh.failed <- err:
			default: // the shop is stopping for an earlier one
			}
		}
	}()
	select {
	case <-svc.Ready():
	case err := <-r.done:
		return err
	case <-ctx.Done():
		cancel()
		<-r.done
		return ctx.Err()
	}
	sh.mu.Lock()
	sh.running[name] = r
	sh.mu.Unlock()
	return nil
}

// stopService drains and stops one service, as when its process ends.
func (sh *shop) stopService(name string) error {
	sh.mu.Lock()
	r := sh.running[name]
	delete(sh.running, name)
	sh.mu.Unlock()
	if r == nil {
		return nil
	}
	r.stop()
	return <-r.done
}

// stop drains the gateway first, then the rest together, then the broker.
func (sh *shop) stop(ctx context.Context) error {
	errs := []error{sh.stopService("gateway")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, name := range serviceNames {
		wg.Go(func() {
			err := sh.stopService(name)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	if sh.nats != nil {
		sh.nats.stop(ctx)
	}
	return errors.Join(errs...)
}

// addr is where the service called name serves HTTP, while it runs.
func (sh *shop) addr(name string) string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r := sh.running[name]; r != nil {
		return r.svc.HTTPAddr().String()
	}
	return ""
}

// catalogGRPCAddr is where the catalog serves gRPC, or nil.
func (sh *shop) catalogGRPCAddr() net.Addr {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r := sh.running["catalog"]; r != nil {
		if a := r.svc.GRPCAddr(); a != nil {
			return a
		}
	}
	return nil
}

// verifier returns a verifier of the users service's tokens over the keys
// it publishes, fetched when first needed and again on an unknown key ID.
func (sh *shop) verifier() (*auth.Verifier, error) {
	addr := sh.addr("users")
	if addr == "" {
		return nil, errors.New("the users service is not running, so its keys cannot be fetched; start it first")
	}
	keys, err := auth.NewRemoteKeys("http://" + addr + users.JWKSPath)
	if err != nil {
		return nil, err
	}
	return auth.NewVerifier(keys, users.Issuer, users.Audience)
}

// openDB opens the service's own database, as [config.openDatabase]
// does, and migrates it.
func (sh *shop) openDB(ctx context.Context, name string, migrate func(context.Context, *sql.DB) error) (*sql.DB, error) {
	db, where, err := sh.cfg.openDatabase(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", where, err)
	}
	return db, nil
}

// postgresConns is how many connections each service keeps at most to
// its PostgreSQL database: the eight services stay well within the
// server's default limit of 100.
const postgresConns = 10

// openDatabase opens the own database of the service called name: the
// SQLite file name.db under -data or, with -database-url, the PostgreSQL
// database <prefix>_<name> on that server, created if missing. where
// names it for messages.
func (c config) openDatabase(ctx context.Context, name string) (db *sql.DB, where string, err error) {
	if c.databaseURL == "" {
		where = filepath.Join(c.data, name+".db")
		db, err = sqlite.Open(where)
		return db, where, err
	}
	server, err := pgx.ParseConfig(c.databaseURL)
	if err != nil {
		return nil, "", fmt.Errorf("-database-url (or %s) is not a PostgreSQL URL: %w; give one such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", envDatabaseURL, err)
	}
	own := server.Copy()
	own.Database = c.databasePrefix + "_" + name
	where = own.Database + " on PostgreSQL at " + c.postgresServer()
	if err := createDatabase(ctx, server, own.Database); err != nil {
		return nil, where, fmt.Errorf("database %s: %w", where, err)
	}
	db = stdlib.OpenDB(*own)
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, where, fmt.Errorf("database %s: %w; check that its user may connect to it", where, err)
	}
	return db, where, nil
}

// postgresServer is the host and port of -database-url, for messages.
func (c config) postgresServer() string {
	server, err := pgx.ParseConfig(c.databaseURL)
	if err != nil {
		return "(an invalid -database-url)"
	}
	return net.JoinHostPort(server.Host, strconv.Itoa(int(server.Port)))
}

// createDatabase creates the database called name on the server, unless
// it exists. Of two processes creating it at once, both succeed.
func createDatabase(ctx context.Context, server *pgx.ConnConfig, name string) error {
	conn, err := pgx.ConnectConfig(ctx, server)
	if err != nil {
		return fmt.Errorf("cannot connect to database %s to create it: %w; check that the server runs and that -database-url (or %s) names a database its user may connect to", server.Database, err, envDatabaseURL)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505"):
		// duplicate_database, or unique_violation in the catalog when
		// another process's CREATE DATABASE committed first: it exists.
		return nil
	case err != nil:
		return fmt.Errorf("cannot create it: %w; let the user of -database-url create databases (CREATEDB), or create it beforehand", err)
	}
	return nil
}

func (sh *shop) buildUsers(ctx context.Context, svc *service.Service) (func(), error) {
	db, err := sh.openDB(ctx, "users", users.Migrate)
	if err != nil {
		return nil, err
	}
	if sh.users == nil {
		if sh.users, err = newAccounts(ctx, db, sh.cfg); err != nil {
			db.Close()
			return nil, err
		}
	}
	users.RegisterHTTP(svc.Router(), sh.users, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("users", users.DescribeHTTP).Handler())
	svc.AddCheck("database", db.PingContext)
	return func() { db.Close() }, nil
}

// newAccounts makes the users service, with its signing key from the
// environment, and creates the administrator at the first start.
func newAccounts(ctx context.Context, db *sql.DB, cfg config) (*users.Service, error) {
	key, err := users.SigningKeyFromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	accounts, err := users.NewService(users.NewStore(db), users.WithSigningKey(key))
	if err != nil {
		return nil, err
	}
	generated, err := accounts.EnsureAdmin(ctx, cfg.adminPassword)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		// Shown to the person who started the shop, never logged.
		fmt.Fprintf(cfg.stdout, "shop: created %s with the password %s; it is shown this once (choose it with -admin-password or %s)\n", users.AdminEmail, generated, users.EnvAdminPassword)
	}
	return accounts, nil
}

// openWithEvents opens the service's database, as openDB does, and its
// own connection to the broker, makes sure the catalog's and the orders'
// streams exist, and adds both to the service's readiness checks. cleanup
// closes both.
func (sh *shop) openWithEvents(ctx context.Context, svc *service.Service, migrate func(context.Context, *sql.DB) error) (db *sql.DB, js jetstream.JetStream, cleanup func(), err error) {
	db, err = sh.openDB(ctx, svc.Config().Name, migrate)
	if err != nil {
		return nil, nil, nil, err
	}
	nc, js, err := sh.nats.connect(svc.Config().Name)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	cleanup = func() { nc.Close(); db.Close() }
	for stream, subjects := range map[string]string{catalog.Stream: catalog.StreamSubjects, orders.Stream: orders.StreamSubjects} {
		if err := messaging.EnsureStream(ctx, js, stream, []string{subjects}); err != nil {
			cleanup()
			return nil, nil, nil, err
		}
	}
	svc.AddCheck("database", db.PingContext)
	svc.AddCheck("nats", messaging.Check(nc))
	return db, js, cleanup, nil
}

func (sh *shop) buildCatalog(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := sh.openWithEvents(ctx, svc, catalog.Migrate)
	if err != nil {
		return nil, err
	}
	products := catalog.NewService(db, catalog.WithTelemetry(svc.Telemetry()))
	catalog.RegisterHTTP(svc.Router(), products, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("catalog", catalog.DescribeHTTP).Handler())
	if g := svc.GRPCServer(); g != nil {
		catalog.RegisterGRPC(g, products)
	}
	relay, err := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()))
	if err != nil {
		cleanup()
		return nil, err
	}
	svc.Add(relay)
	return cleanup, nil
}

func (sh *shop) buildInventory(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := sh.openWithEvents(ctx, svc, inventory.Migrate)
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

func (sh *shop) buildPayments(ctx context.Context, svc *service.Service) (func(), error) {
	db, err := sh.openDB(ctx, "payments", payments.Migrate)
	if err != nil {
		return nil, err
	}
	processor, err := payments.NewService(db, payments.WithFaults(sh.cfg.paymentFaults))
	if err != nil {
		db.Close()
		return nil, err
	}
	payments.RegisterHTTP(svc.Router(), processor, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("payments", payments.DescribeHTTP).Handler())
	svc.AddCheck("database", db.PingContext)
	return func() { db.Close() }, nil
}

func (sh *shop) buildOrders(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := sh.openWithEvents(ctx, svc, orders.Migrate)
	if err != nil {
		return nil, err
	}
	placed, err := orders.NewService(db, orders.Config{Resolver: sh.registry, Telemetry: svc.Telemetry(), Lease: sh.cfg.lease})
	if err != nil {
		cleanup()
		if sh.cfg.lease != orders.DefaultLease {
			err = fmt.Errorf("-lease %v: %w", sh.cfg.lease, err)
		}
		return nil, err
	}
	orders.RegisterHTTP(svc.Router(), placed, thttp.ServerErrorLogger(svc.Logger()))
	svc.Router().Handle("GET /openapi.json", describe("orders", orders.DescribeHTTP).Handler())
	relay, err := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()))
	if err != nil {
		placed.Close()
		cleanup()
		return nil, err
	}
	svc.Add(relay, placed.Recovery(), placed.Pruner())
	return func() { placed.Close(); cleanup() }, nil
}

func (sh *shop) buildReviews(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := sh.openWithEvents(ctx, svc, reviews.Migrate)
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

func (sh *shop) buildStats(ctx context.Context, svc *service.Service) (func(), error) {
	db, js, cleanup, err := sh.openWithEvents(ctx, svc, stats.Migrate)
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

func (sh *shop) buildGateway(svc *service.Service, verifier *auth.Verifier) (func(), error) {
	cfg := sh.cfg.gateway
	cfg.Resolver = sh.registry
	cfg.Verifier = verifier
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

// natsBroker is the broker the services' events go through: the server
// NATS_URL names or, when it is unset, an embedded one that keeps its
// streams under -data.
type natsBroker struct {
	url      string           // the external server's, or ""
	embedded *embedded.Server // when url is ""
	where    string           // for the banner
	logger   *slog.Logger
}

func startNATS(ctx context.Context, dataDir string, logger *slog.Logger) (*natsBroker, error) {
	b := &natsBroker{url: os.Getenv(messaging.EnvURL), logger: logger}
	if b.url != "" {
		b.where = "NATS at " + messaging.RedactURL(b.url)
		return b, nil
	}
	srv, err := embedded.New(embedded.Config{StoreDir: filepath.Join(dataDir, "nats")})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	b.embedded = srv
	b.where = "an embedded NATS server (" + srv.StoreDir() + "; set " + messaging.EnvURL + " for an external one)"
	return b, nil
}

// connect gives the service called name its own connection to the broker,
// with the connection's events logged.
func (b *natsBroker) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name("shop-" + name), messaging.ConnLogger(b.logger.With("service", name))}
	var nc *nats.Conn
	var err error
	if b.embedded != nil {
		nc, err = b.embedded.Connect(opts...)
	} else {
		nc, err = messaging.Connect(b.url, nil, opts...)
	}
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream on %s: %w", b.where, err)
	}
	return nc, js, nil
}

func (b *natsBroker) stop(ctx context.Context) {
	if b.embedded != nil {
		b.embedded.Stop(ctx)
	}
}
