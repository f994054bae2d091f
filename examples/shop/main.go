// Command shop runs the example e-commerce system built on tailor.
//
//	go run ./examples/shop [-addr 127.0.0.1:8080] [-grpc-addr 127.0.0.1:9090] [-data DIR]
//
// It serves the public API at -addr, the catalog's gRPC API at -grpc-addr
// when given, and keeps each service's data under -data (by default a
// folder in the user's cache directory). Ctrl-C or
// SIGTERM stops it gracefully; it exits 0 after a clean stop.
//
// Every service is traced, measured and logged by package service: set
// OTEL_EXPORTER_OTLP_ENDPOINT to export traces, scrape /metrics with
// Prometheus using the alerting rules in alerts.yml, and set
// TAILOR_LOG_LEVEL, TAILOR_LOG_FORMAT and TAILOR_ACCESS_LOG for the logs.
//
// Today the shop is its catalog:
//
//	curl -s http://127.0.0.1:8080/v1/products
//	curl -s -X POST -H 'Content-Type: application/json' \
//	  -d '{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}' \
//	  http://127.0.0.1:8080/v1/products
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/observability"
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
	addr := fs.String("addr", "127.0.0.1:8080", "host:port to serve the public API on")
	grpcAddr := fs.String("grpc-addr", "", "host:port to serve the catalog's gRPC API on (empty: no gRPC)")
	data := fs.String("data", defaultDataDir(), "folder for the services' data")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on shutdown")
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

	svc, err := service.New(service.Config{Name: "catalog", HTTPAddr: *addr, GRPCAddr: *grpcAddr, ShutdownTimeout: *shutdownTimeout}, service.WithLogger(logger))
	if err != nil {
		return err
	}
	products := catalog.NewService(db)
	catalog.RegisterHTTP(svc.Router(), products, thttp.ErrorLogger(svc.Logger()))
	if g := svc.GRPCServer(); g != nil {
		catalog.RegisterGRPC(g, products)
	}
	svc.AddCheck("database", db.PingContext)
	// Components start once the listener is bound, so the address is known.
	svc.Add(service.Hook{Name: "banner", OnStart: func(context.Context) error {
		fmt.Fprintf(stdout, "shop: serving the catalog at http://%s/v1/products (data in %s); Ctrl-C stops it\n", svc.HTTPAddr(), *data)
		if a := svc.GRPCAddr(); a != nil {
			fmt.Fprintf(stdout, "shop: serving the catalog over gRPC at %s (tailor.shop.catalog.v1.CatalogService)\n", a)
		}
		fmt.Fprintf(stdout, "shop: metrics at http://%s/metrics; traces go to OTEL_EXPORTER_OTLP_ENDPOINT when set\n", svc.HTTPAddr())
		return nil
	}})
	return svc.Run(ctx)
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
