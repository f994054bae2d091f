// Command inventory runs the shop's inventory service as a process of its
// own: the stock of each product, learnt from the catalog's
// product.created events, and the reservations orders makes.
//
// It registers in the Consul agent CONSUL_HTTP_ADDR names, with a health
// check of its /readyz, and leaves it on SIGINT or SIGTERM before it
// stops serving; with SHOP_DISCOVERY=dns it registers nowhere, the
// platform publishing it in DNS, and finds the others in DNS SRV records.
// Package process has the rest, and -help lists every flag and
// environment variable:
//
//	go run ./examples/shop/cmd/inventory -help
package main

import (
	"context"
	"io"
	"os"

	"github.com/tailorkit/tailor/examples/shop/internal/process"
)

func main() {
	process.Exit("inventory", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the inventory service until SIGINT or SIGTERM drains it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return process.Run(ctx, "inventory", args, stdout, stderr, os.LookupEnv)
}
