// Command grpcload calls the order RPC of a server in closed loop: -c
// callers on one connection, each sending its next call once the last
// answers, for -d after a -warmup. It prints one JSON line, a
// report.Sample of its own CPU and the calls' latency:
//
//	grpcload -addr 127.0.0.1:9000 -c 32 -d 10s
//
// cmd/bench runs it on a core of its own, as wrk is run for HTTP.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tailorkit/tailor/bench/internal/load"
	"github.com/tailorkit/tailor/bench/internal/orderpb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "grpcload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("grpcload", flag.ContinueOnError)
	addr := fs.String("addr", "", "the server's host:port")
	concurrency := fs.Int("c", 32, "concurrent callers")
	duration := fs.Duration("d", 10*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 0, "how long to call before measuring")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		return fmt.Errorf("-addr is required: the host:port of the server")
	}
	cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	client := orderpb.NewOrdersClient(cc)
	req := &orderpb.OrderRequest{Sku: "mug-blue", Quantity: 2, Note: "gift wrap"}
	s, err := load.Run(ctx, *concurrency, *warmup, *duration, func(ctx context.Context) error {
		_, err := client.Place(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(s)
}
