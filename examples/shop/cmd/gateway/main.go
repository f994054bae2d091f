// Command gateway runs the shop's gateway service as a process of its own:
// the shop's one public entry: it verifies tokens, limits each client's
// rate (-ip-rate, -user-rate), finds the services by name in Consul and
// calls them with timeouts, retries of reads and a circuit breaker per
// instance, and serves the merged OpenAPI document at /openapi.json.
//
// It registers in the Consul agent CONSUL_HTTP_ADDR names, with a health
// check of its /readyz, and leaves it on SIGINT or SIGTERM before it
// stops serving; package process has the rest, and -help lists every
// flag and environment variable:
//
//	go run ./examples/shop/cmd/gateway -help
package main

import (
	"context"
	"io"
	"os"

	"github.com/tailorkit/tailor/examples/shop/internal/process"
)

func main() {
	process.Exit("gateway", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the gateway service until SIGINT or SIGTERM drains it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return process.Run(ctx, "gateway", args, stdout, stderr, os.LookupEnv)
}
