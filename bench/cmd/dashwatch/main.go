// Command dashwatch keeps operations dashboards open on a service (package
// dashclient): -clients readers of its event stream, each also polling
// its traces every -poll. It prints "ready" once every reader has its
// first snapshot, reads until SIGINT or SIGTERM, and then prints one JSON
// line, a dashclient.Summary of what they read:
//
//	dashwatch -admin 127.0.0.1:9001 -clients 3 -poll 2s
//
// cmd/bench runs it on the load generator's core, beside wrk.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tailorkit/tailor/bench/internal/dashclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dashwatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dashwatch", flag.ContinueOnError)
	admin := fs.String("admin", "", "the host:port of the service's admin listener")
	clients := fs.Int("clients", 3, "open dashboards")
	poll := fs.Duration("poll", 2*time.Second, "how often each dashboard fetches GET /dash/api/traces (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin == "" {
		return fmt.Errorf("-admin is required: the host:port of the admin listener")
	}
	s, err := dashclient.Run(ctx, dashclient.Config{
		Base:    "http://" + *admin,
		Clients: *clients,
		Poll:    *poll,
		Token:   os.Getenv("TAILOR_ADMIN_TOKEN"),
		Ready:   func() { fmt.Fprintln(stdout, "ready") },
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(s)
}
