package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/internal/assembly"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
)

// The shop's services, in the order they start. The gateway starts last,
// once everything it routes to is registered, and stops first, so that
// no request is let in that its services could not finish.
var serviceNames = []string{"users", "catalog", "inventory", "payments", "orders", "reviews", "stats", "gateway"}

// config is what the shop is run with.
type config struct {
	// base holds the settings every service shares (timeouts, delays,
	// the admin token); its HTTPAddr is the gateway's, its GRPCAddr the
	// catalog's, its AdminAddr the gateway's admin listener. Every other
	// service serves its admin listener on a free loopback port.
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
	// dashAddr is where the dashboard of every service is served (a hub
	// over the registry and the gateway's admin listener); empty serves
	// none.
	dashAddr string
}

// shop is every service of the shop running in one process, each with its
// own listener, database and registration in one in-memory registry.
type shop struct {
	cfg      config
	registry *memory.Registry
	nats     *natsBroker
	dash     *dashServer // nil without config.dashAddr

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
	if cfg.dashAddr != "" {
		if sh.dash, err = sh.startDashboard(); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// dashServer serves the dashboard hub on its own listener.
type dashServer struct {
	hub *dashboard.Hub
	srv *http.Server
	ln  net.Listener
}

// startDashboard serves, at config.dashAddr, a dashboard hub over every
// registered service and the gateway's admin listener (the gateway is not
// registered), asking for the admin token when one is set.
func (sh *shop) startDashboard() (*dashServer, error) {
	services := slices.DeleteFunc(slices.Clone(serviceNames), func(s string) bool { return s == "gateway" })
	hub, err := dashboard.NewHub(dashboard.HubConfig{
		Resolver: sh.registry, Services: services, Token: sh.cfg.base.AdminToken, Logger: sh.cfg.logger,
		Targets: []dashboard.Target{{ID: "gateway", Addr: sh.adminAddr("gateway")}},
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", sh.cfg.dashAddr)
	if err != nil {
		hub.Close()
		return nil, fmt.Errorf("-dash-addr %s: %w; give a free address, such as 127.0.0.1:0", sh.cfg.dashAddr, err)
	}
	// The streams' context ends at Shutdown, which would otherwise wait
	// for them.
	streams, endStreams := context.WithCancel(context.Background())
	srv := &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams }}
	srv.RegisterOnShutdown(endStreams)
	go func() { _ = srv.Serve(ln) }() // ends with Shutdown
	return &dashServer{hub: hub, srv: srv, ln: ln}, nil
}

// url is the dashboard's page.
func (d *dashServer) url() string { return "http://" + d.ln.Addr().String() + "/dash/" }

// stop stops serving the dashboard.
func (d *dashServer) stop(ctx context.Context) error {
	err := d.srv.Shutdown(ctx)
	d.hub.Close()
	return err
}

// start builds the service called name and runs it until [shop.stopService]
// or [shop.stop]; it returns once the service is ready (and registered).
func (sh *shop) start(ctx context.Context, name string) error {
	cfg := sh.cfg.base
	cfg.Name = name
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.AdminAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	switch name {
	case "gateway":
		cfg.HTTPAddr = sh.cfg.base.HTTPAddr
		if sh.cfg.base.AdminAddr != "" {
			cfg.AdminAddr = sh.cfg.base.AdminAddr
		}
	case "catalog":
		cfg.GRPCAddr = sh.cfg.base.GRPCAddr
	}
	logger := sh.cfg.logger // the service adds its name to each record
	// Its dashboard shows recent failed and slow traces from every
	// request, not only the sampled ones, at some CPU per request: this is
	// the shop one runs to watch it.
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: name, Logger: logger, RecordUnsampled: true})
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
		opts = append(opts, assembly.AuthOptions(verifier)...)
	}
	svc, err := service.New(cfg, opts...)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
	}
	deps, err := sh.deps(name, verifier)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return fmt.Errorf("%s: %w", name, err)
	}
	cleanup, err := assembly.Build(ctx, svc, deps)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
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

// stop stops the dashboard, drains the gateway, then the rest together,
// then the broker.
func (sh *shop) stop(ctx context.Context) error {
	var errs []error
	if sh.dash != nil {
		errs = append(errs, sh.dash.stop(ctx))
	}
	errs = append(errs, sh.stopService("gateway"))
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

// adminAddr is where the service called name serves its admin listener,
// while it runs.
func (sh *shop) adminAddr(name string) string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r := sh.running[name]; r != nil {
		if a := r.svc.AdminAddr(); a != nil {
			return a.String()
		}
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

// deps are what the service called name is built from: the shop's
// registry, SQLite files under -data and broker.
func (sh *shop) deps(name string, verifier *auth.Verifier) (assembly.Deps, error) {
	deps := assembly.Deps{
		Resolver:      sh.registry,
		Registrar:     sh.registry,
		OpenDB:        sh.openDB,
		Connect:       sh.nats.connect,
		Verifier:      verifier,
		AdminPassword: sh.cfg.adminPassword,
		Stdout:        sh.cfg.stdout,
		PaymentFaults: sh.cfg.paymentFaults,
		OrdersLease:   sh.cfg.lease,
		Gateway:       sh.cfg.gateway,
	}
	if name == "users" {
		key, err := users.SigningKeyFromEnv(os.LookupEnv)
		if err != nil {
			return deps, err
		}
		deps.SigningKey = key
	}
	return deps, nil
}

// openDB opens the own database of the service called name, as
// [config.openDatabase] does.
func (sh *shop) openDB(ctx context.Context, name string) (*sql.DB, error) {
	db, where, err := sh.cfg.openDatabase(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", where, err)
	}
	return db, nil
}

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
	own, err := url.Parse(c.databaseURL)
	if err != nil {
		return nil, "", fmt.Errorf("-database-url (or %s) is not a PostgreSQL URL: %w; give one such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", envDatabaseURL, err)
	}
	own.Path = "/" + c.databasePrefix + "_" + name
	where = c.databasePrefix + "_" + name + " on PostgreSQL at " + c.postgresServer()
	if db, err = assembly.OpenDatabase(ctx, own.String()); err != nil {
		return nil, where, err
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
