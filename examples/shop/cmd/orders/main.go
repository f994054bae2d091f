// Command orders runs the shop's orders service as a process of its own:
// orders placed with an Idempotency-Key, each run as a saga that calls the
// catalog, the inventory and payments, found by name in Consul.
//
// It registers in the Consul agent CONSUL_HTTP_ADDR names, with a health
// check of its /readyz, and leaves it on SIGINT or SIGTERM before it
// stops serving; with SHOP_DISCOVERY=dns it registers nowhere, the
// platform publishing it in DNS, and finds the others in DNS SRV records.
// Package process has the rest, and -help lists every flag and
// environment variable:
//
//	go run ./examples/shop/cmd/orders -help
package main

import (
	"context"
	"io"
	"os"

	"github.com/tailorkit/tailor/examples/shop/internal/process"
)

func main() {
	process.Exit("orders", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the orders service until SIGINT or SIGTERM drains it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return process.Run(ctx, "orders", args, stdout, stderr, os.LookupEnv)
}
