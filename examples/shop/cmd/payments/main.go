// Command payments runs the shop's payments service as a process of its
// own: a simulated card processor, whose declines, outages and latency are
// set with SHOP_PAYMENTS_FAILURE_RATE, SHOP_PAYMENTS_UNAVAILABLE_RATE and
// SHOP_PAYMENTS_LATENCY_MS.
//
// It registers in the Consul agent CONSUL_HTTP_ADDR names, with a health
// check of its /readyz, and leaves it on SIGINT or SIGTERM before it
// stops serving; with SHOP_DISCOVERY=dns it registers nowhere, the
// platform publishing it in DNS, and finds the others in DNS SRV records.
// Package process has the rest, and -help lists every flag and
// environment variable:
//
//	go run ./examples/shop/cmd/payments -help
package main

import (
	"context"
	"io"
	"os"

	"github.com/tailorkit/tailor/examples/shop/internal/process"
)

func main() {
	process.Exit("payments", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the payments service until SIGINT or SIGTERM drains it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return process.Run(ctx, "payments", args, stdout, stderr, os.LookupEnv)
}
