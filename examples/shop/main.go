// Command shop runs the example e-commerce system built on tailor.
//
//	go run ./examples/shop [-addr 127.0.0.1:8080] [-dash-addr 127.0.0.1:8081] [-grpc-addr 127.0.0.1:9090] [-data DIR] [-database-url URL] [-ip-rate 20] [-user-rate 10] [-lease 1m]
//
// It runs every service of the shop in one process, each on its own
// loopback listener with its own database, registered by name in an
// in-memory registry. The databases are SQLite files under -data (by
// default a folder in the user's cache directory) or, with -database-url
// (or DATABASE_URL) naming a PostgreSQL server, such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, one
// database per service on that server, named shop_users, shop_catalog
// and so on (-database-prefix sets the "shop"), each created at the
// first start if missing: the URL's user then needs the CREATEDB right.
// The services are:
//
//   - gateway, the one public entry, at -addr: it verifies tokens, limits
//     each client's rate (-ip-rate and -user-rate requests a second),
//     finds the services by name, calls them with timeouts, retries of
//     reads and a circuit breaker per instance, builds the product page
//     from the catalog, the inventory and the reviews, and serves the
//     merged OpenAPI document at /openapi.json;
//   - users: accounts and logins (an administrator, admin@shop.local, is
//     created at the first start with -admin-password or
//     SHOP_ADMIN_PASSWORD, else a random password printed once);
//   - catalog: the products (and its gRPC API at -grpc-addr when given);
//   - inventory: the stock of each product, learnt from the catalog's
//     product.created events;
//   - payments: a simulated card processor, whose declines, outages and
//     latency are set with SHOP_PAYMENTS_FAILURE_RATE,
//     SHOP_PAYMENTS_UNAVAILABLE_RATE and SHOP_PAYMENTS_LATENCY_MS, and
//     by an administrator at run time;
//   - orders: orders placed with an Idempotency-Key, each run as a saga
//     (reserve the stock, charge, confirm; or give back and cancel); a
//     process that stops mid-order holds the order's saga and key for
//     -lease (one minute), after which the next process finishes it;
//   - reviews: reviews by buyers, learnt from the orders' events;
//   - stats: counts of products, also learnt from the catalog's events.
//
// The service settings (-shutdown-timeout, -shutdown-delay,
// -read-timeout, -idle-timeout, and -http-addr, the same as -addr) apply
// to every service and can also be set through TAILOR_SHUTDOWN_TIMEOUT and
// the like; see service.Config. Ctrl-C or SIGTERM drains the gateway,
// then the services behind it; a second one stops the process at once. It
// exits 0 after a clean stop.
//
// Every service serves its operations dashboard (the page at /dash/ and
// its JSON API under /dash/api/) on an admin listener of its own, on a free loopback port, named in its
// registration. -dash-addr (default 127.0.0.1:8081) serves the dashboard
// of them all: a hub over the registry and the gateway's admin listener,
// whose address the banner prints as "dashboard: http://…/dash/".
// -admin-addr (TAILOR_ADMIN_ADDR) moves the gateway's admin listener;
// TAILOR_ADMIN_TOKEN, when set, is the bearer token every admin listener
// and the dashboard ask for, and is needed for an address other than
// loopback.
//
// Every service is traced, measured and logged by package service: set
// OTEL_EXPORTER_OTLP_ENDPOINT to export traces, scrape each service's
// /metrics with Prometheus using the alerting rules in alerts.yml, and set
// TAILOR_LOG_LEVEL, TAILOR_LOG_FORMAT and TAILOR_ACCESS_LOG for the logs.
//
// The README has a walkthrough to paste: sign up, log in, list the
// products, and as the administrator create one with its stock.
//
// Events go through an embedded NATS server with JetStream, whose streams
// are kept under -data, unless NATS_URL names an external server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/service"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run starts the shop and blocks until ctx ends or a signal arrives.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{base: service.Config{Name: "gateway", HTTPAddr: "127.0.0.1:8080", ShutdownTimeout: 10 * time.Second}, stdout: stdout}
	if err := cfg.base.Bind(fs, "", os.LookupEnv); err != nil {
		return err
	}
	fs.StringVar(&cfg.base.HTTPAddr, "addr", cfg.base.HTTPAddr, "the gateway's address, the shop's one public entry (the same as -http-addr)")
	fs.StringVar(&cfg.data, "data", defaultDataDir(), "folder for the services' data (their SQLite files, unless -database-url is set, and the embedded NATS server's streams)")
	fs.StringVar(&cfg.databaseURL, "database-url", os.Getenv(envDatabaseURL), "a PostgreSQL server, such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, on which each service keeps its own database, created if missing (default $"+envDatabaseURL+", else SQLite files under -data)")
	fs.StringVar(&cfg.databasePrefix, "database-prefix", "shop", "the start of the services' database names on -database-url: PREFIX_users, PREFIX_orders, ...")
	fs.DurationVar(&cfg.lease, "lease", orders.DefaultLease, "how long the orders service's claim on an order's saga and on its Idempotency-Key outlives a process that stopped: after a crash, the orders in flight end this long after the restart (not below about 16s)")
	fs.Float64Var(&cfg.gateway.PerIP.Rate, "ip-rate", gateway.DefaultIPRate, "the gateway's limit of requests a second from one IP address, in bursts of twice as many; -1 turns it off")
	fs.Float64Var(&cfg.gateway.PerUser.Rate, "user-rate", gateway.DefaultUserRate, "the gateway's limit of requests a second from one user, in bursts of twice as many; -1 turns it off")
	fs.StringVar(&cfg.dashAddr, "dash-addr", defaultDashAddr, "where the dashboard of every service is served (empty: nowhere); an address other than loopback needs TAILOR_ADMIN_TOKEN")
	fs.StringVar(&cfg.adminPassword, "admin-password", "", "password of "+users.AdminEmail+" when the shop first creates it (default $"+users.EnvAdminPassword+", else random and printed once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -help", fs.Args())
	}
	if err := cfg.checkDatabase(); err != nil {
		return err
	}
	if err := cfg.checkDashAddr(); err != nil {
		return err
	}
	var err error
	if cfg.adminPassword == "" {
		cfg.adminPassword = os.Getenv(users.EnvAdminPassword)
	}
	if cfg.paymentFaults, err = payments.FaultsFromEnv(os.LookupEnv); err != nil {
		return err
	}
	// Logs: text for a terminal unless TAILOR_LOG_FORMAT says otherwise;
	// TAILOR_LOG_LEVEL and TAILOR_ACCESS_LOG as for every service.
	logCfg, err := observability.LogConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	if _, set := os.LookupEnv(observability.EnvLogFormat); !set {
		logCfg.Text = true
	}
	cfg.logger = observability.NewLogger(stderr, logCfg)

	// The first SIGINT or SIGTERM drains the shop; once it has arrived
	// the signals kill the process as usual, so a second Ctrl-C ends the
	// drain.
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	sh, err := startShop(ctx, cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, sh)
	select {
	case <-ctx.Done():
		stopSignals()
		return sh.stop(context.Background())
	case err := <-sh.failed:
		return errors.Join(err, sh.stop(context.Background()))
	}
}

// defaultDashAddr is where the dashboard is served by default: next to
// the gateway's 8080.
const defaultDashAddr = "127.0.0.1:8081"

// checkDashAddr refuses a dashboard that other machines could reach
// without the admin token, as service.Config does for admin listeners.
func (c config) checkDashAddr() error {
	if c.dashAddr == "" || c.base.AdminToken != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.dashAddr)
	if err != nil {
		return fmt.Errorf("-dash-addr %q is not host:port: %v; use a form like %s", c.dashAddr, err, defaultDashAddr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-dash-addr %q can be reached from other machines and no admin token is set; set TAILOR_ADMIN_TOKEN to a secret, or bind the dashboard to 127.0.0.1", c.dashAddr)
	}
	return nil
}

// envDatabaseURL is the environment variable that -database-url defaults
// to.
const envDatabaseURL = "DATABASE_URL"

// checkDatabase checks -database-url and -database-prefix before anything
// starts.
func (c config) checkDatabase() error {
	if c.databaseURL == "" {
		return nil
	}
	if _, err := pgx.ParseConfig(c.databaseURL); err != nil {
		return fmt.Errorf("-database-url (or %s) is not a PostgreSQL URL: %w; give one such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", envDatabaseURL, err)
	}
	// The start of a PostgreSQL name that needs no quoting, short enough
	// for the longest service's name to follow.
	if !regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`).MatchString(c.databasePrefix) {
		return fmt.Errorf("-database-prefix %q is not a plain PostgreSQL name; use lower-case letters, digits and _, starting with a letter, at most 40 in all", c.databasePrefix)
	}
	return nil
}

// printBanner says where the shop serves and how to try it.
func printBanner(w io.Writer, sh *shop) {
	gw := "http://" + sh.addr("gateway")
	data := "data in " + sh.cfg.data
	if sh.cfg.databaseURL != "" {
		data = fmt.Sprintf("databases %s_* on PostgreSQL at %s", sh.cfg.databasePrefix, sh.cfg.postgresServer())
	}
	fmt.Fprintf(w, "shop: serving at %s (%s); Ctrl-C stops it\n", gw, data)
	fmt.Fprintf(w, "shop: try  curl -s %s/v1/products  and the walkthrough in the README; the API is described at %s/openapi.json\n", gw, gw)
	if a := sh.catalogGRPCAddr(); a != nil {
		fmt.Fprintf(w, "shop: the catalog serves gRPC at %s (tailor.shop.catalog.v1.CatalogService)\n", a)
	}
	if sh.dash != nil {
		fmt.Fprintf(w, "dashboard: %s\n", sh.dash.url())
	}
	fmt.Fprintf(w, "shop: events through %s; traces go to OTEL_EXPORTER_OTLP_ENDPOINT when set\n", sh.nats.where)
}

// defaultDataDir is a folder in the user's cache directory, or in the
// temporary directory where there is none.
func defaultDataDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "tailor-shop")
}
