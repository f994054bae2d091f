// Command catalog runs the shop's catalog service as a process of its own:
// the products, over HTTP and, with -grpc-addr, gRPC
// (tailor.shop.catalog.v1.CatalogService); it publishes product.created
// events through its outbox.
//
// It registers in the Consul agent CONSUL_HTTP_ADDR names, with a health
// check of its /readyz, and leaves it on SIGINT or SIGTERM before it
// stops serving; with SHOP_DISCOVERY=dns it registers nowhere, the
// platform publishing it in DNS, and finds the others in DNS SRV records.
// Package process has the rest, and -help lists every flag and
// environment variable:
//
//	go run ./examples/shop/cmd/catalog -help
package main

import (
	"context"
	"io"
	"os"

	"github.com/tailorkit/tailor/examples/shop/internal/process"
)

func main() {
	process.Exit("catalog", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the catalog service until SIGINT or SIGTERM drains it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return process.Run(ctx, "catalog", args, stdout, stderr, os.LookupEnv)
}
