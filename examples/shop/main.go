// Command shop runs the example e-commerce system built on tailor.
//
//	go run ./examples/shop [-http-addr 127.0.0.1:8080] [-grpc-addr 127.0.0.1:9090] [-data DIR]
//
// It serves the public API at -http-addr, the catalog's gRPC API at
// -grpc-addr when given, and keeps each service's data under -data (by
// default a folder in the user's cache directory). The service settings
// (-http-addr, -grpc-addr, -shutdown-timeout, -shutdown-delay,
// -read-timeout, -idle-timeout) can also be set through TAILOR_HTTP_ADDR
// and the like; see service.Config. Ctrl-C or SIGTERM stops it
// gracefully, a second one at once; it exits 0 after a clean stop.
//
// Every service is traced, measured and logged by package service: set
// OTEL_EXPORTER_OTLP_ENDPOINT to export traces, scrape /metrics with
// Prometheus using the alerting rules in alerts.yml, and set
// TAILOR_LOG_LEVEL, TAILOR_LOG_FORMAT and TAILOR_ACCESS_LOG for the logs.
//
// Today the shop is its accounts (users, with an administrator created at
// first start: -admin-password or SHOP_ADMIN_PASSWORD, else a random
// password printed once), its catalog, and its stats, which it learns from
// the catalog's events:
//
//	curl -s -X POST -H 'Content-Type: application/json' \
//	  -d '{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}' \
//	  http://127.0.0.1:8080/v1/users
//	curl -s -X POST -H 'Content-Type: application/json' \
//	  -d '{"email":"ada@example.com","password":"correct horse battery"}' \
//	  http://127.0.0.1:8080/v1/sessions
//	curl -s http://127.0.0.1:8080/v1/products
//	curl -s -X POST -H 'Content-Type: application/json' \
//	  -d '{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}' \
//	  http://127.0.0.1:8080/v1/products
//	curl -s http://127.0.0.1:8080/v1/stats
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
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/stats"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
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
	cfg := service.Config{Name: "catalog", HTTPAddr: "127.0.0.1:8080", ShutdownTimeout: 10 * time.Second}
	if err := cfg.Bind(fs, "", os.LookupEnv); err != nil {
		return err
	}
	data := fs.String("data", defaultDataDir(), "folder for the services' data")
	adminPassword := fs.String("admin-password", "", "password of "+users.AdminEmail+" when the shop first creates it (default $"+users.EnvAdminPassword+", else random and printed once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -help", fs.Args())
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
	logger := observability.NewLogger(stderr, logCfg)

	dbPath := filepath.Join(*data, "catalog.db")
	db, err := sqlite.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := catalog.Migrate(ctx, db); err != nil {
		return fmt.Errorf("catalog database %s: %w", dbPath, err)
	}
	statsPath := filepath.Join(*data, "stats.db")
	statsDB, err := sqlite.Open(statsPath)
	if err != nil {
		return err
	}
	defer statsDB.Close()
	if err := stats.Migrate(ctx, statsDB); err != nil {
		return fmt.Errorf("stats database %s: %w", statsPath, err)
	}

	if *adminPassword == "" {
		*adminPassword = os.Getenv(users.EnvAdminPassword)
	}
	usersPath := filepath.Join(*data, "users.db")
	usersDB, err := sqlite.Open(usersPath)
	if err != nil {
		return err
	}
	defer usersDB.Close()
	if err := users.Migrate(ctx, usersDB); err != nil {
		return fmt.Errorf("users database %s: %w", usersPath, err)
	}
	signingKey, err := users.SigningKeyFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	accounts, err := users.NewService(users.NewStore(usersDB), users.WithSigningKey(signingKey))
	if err != nil {
		return err
	}
	generated, err := accounts.EnsureAdmin(ctx, *adminPassword)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(stdout, "shop: created %s with the password %s; it is shown this once (choose it with -admin-password or %s)\n", users.AdminEmail, generated, users.EnvAdminPassword)
	}

	nc, where, stopNATS, err := connectNATS(ctx, *data, logger)
	if err != nil {
		return err
	}
	defer stopNATS()
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream on %s: %w", where, err)
	}
	if err := messaging.EnsureStream(ctx, js, catalog.Stream, []string{catalog.StreamSubjects}); err != nil {
		return err
	}

	// Telemetry is built once, here: the service instruments its requests
	// with it, serves its metrics and shuts it down at the end of Run, and
	// hands the one observability.Telemetry to messaging, so that events
	// are counted and traced with the requests. The SDK's own errors go
	// to the same logger.
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: "catalog", Logger: logger})
	if err != nil {
		return err
	}
	svc, err := service.New(cfg, service.WithLogger(logger), service.WithTelemetry(tel))
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
	}
	products := catalog.NewService(db, catalog.WithTelemetry(svc.Telemetry()))
	catalog.RegisterHTTP(svc.Router(), products, thttp.ServerErrorLogger(svc.Logger()))
	users.RegisterHTTP(svc.Router(), accounts, thttp.ServerErrorLogger(svc.Logger()))
	doc := openapi.New("tailor shop", "1.0.0")
	catalog.DescribeHTTP(doc)
	svc.Router().Handle("GET /openapi.json", doc.Handler())
	if g := svc.GRPCServer(); g != nil {
		catalog.RegisterGRPC(g, products)
	}
	relay, err := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()))
	if err != nil {
		return err
	}
	counts, err := stats.New(statsDB, svc.Telemetry())
	if err != nil {
		return err
	}
	stats.RegisterHTTP(svc.Router(), counts)
	consumer, err := stats.NewConsumer(js, counts)
	if err != nil {
		return err
	}
	svc.AddCheck("database", db.PingContext)
	svc.AddCheck("users database", usersDB.PingContext)
	svc.AddCheck("nats", messaging.Check(nc))
	svc.Add(relay, consumer, counts.Pruner())
	// Components start once the listener is bound, so the address is known.
	svc.Add(service.Hook{Name: "banner", OnStart: func(context.Context) error {
		fmt.Fprintf(stdout, "shop: serving the catalog at http://%s/v1/products (data in %s); Ctrl-C stops it\n", svc.HTTPAddr(), *data)
		if a := svc.GRPCAddr(); a != nil {
			fmt.Fprintf(stdout, "shop: serving the catalog over gRPC at %s (tailor.shop.catalog.v1.CatalogService)\n", a)
		}
		fmt.Fprintf(stdout, "shop: accounts at http://%s/v1/users and /v1/sessions\n", svc.HTTPAddr())
		fmt.Fprintf(stdout, "shop: events through %s; stats at http://%s/v1/stats\n", where, svc.HTTPAddr())
		fmt.Fprintf(stdout, "shop: metrics at http://%s/metrics; traces go to OTEL_EXPORTER_OTLP_ENDPOINT when set\n", svc.HTTPAddr())
		return nil
	}})
	return svc.Run(ctx)
}

// connectNATS connects to the server NATS_URL names or, when it is unset,
// starts an embedded one that keeps its streams under dataDir. It returns
// the connection, where it goes, and the function that stops the embedded
// server (a no-op for an external one). The client's connection events go
// to log.
func connectNATS(ctx context.Context, dataDir string, log *slog.Logger) (nc *nats.Conn, where string, stop func(), err error) {
	if url := os.Getenv(messaging.EnvURL); url != "" {
		nc, err := messaging.Connect(url, nil, nats.Name("shop"), messaging.ConnLogger(log))
		if err != nil {
			return nil, "", nil, err
		}
		return nc, "NATS at " + messaging.RedactURL(nc.ConnectedUrl()), func() {}, nil
	}
	srv, err := embedded.New(embedded.Config{StoreDir: filepath.Join(dataDir, "nats")})
	if err != nil {
		return nil, "", nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, "", nil, err
	}
	stop = func() { srv.Stop(context.WithoutCancel(ctx)) }
	nc, err = srv.Connect(nats.Name("shop"), messaging.ConnLogger(log))
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return nc, "an embedded NATS server (" + srv.StoreDir() + "; set " + messaging.EnvURL + " for an external one)", stop, nil
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
