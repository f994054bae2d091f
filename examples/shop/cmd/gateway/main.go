// Command gateway runs the shop's gateway service as a process of its own:
// the shop's one public entry: it verifies tokens, limits each client's
// rate (-ip-rate, -user-rate), finds the services by name in Consul and
// calls them with timeouts, retries of what is safe to send again and a
// circuit breaker per instance, and serves the merged OpenAPI document at
// /openapi.json.
//
// It finds the services in the Consul agent CONSUL_HTTP_ADDR names, or,
// with SHOP_DISCOVERY=dns, in DNS SRV records, and on SIGINT or SIGTERM
// turns not ready, keeps serving for -shutdown-delay and drains. Package
// process has the rest, and -help lists every flag and environment
// variable:
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
