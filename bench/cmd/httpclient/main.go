// Command httpclient calls a server's order route in closed loop through
// one of several HTTP clients, chosen with -mode, and prints one JSON line,
// a report.Sample of its own CPU and the calls' latency:
//
//	httpclient -mode tailor-policy -url http://127.0.0.1:8080/v1/orders -c 32 -d 10s
//
// cmd/bench runs it on a core of its own, with GOMAXPROCS=1, against the
// raw server on the other core, so the CPU it reports is the client's cost
// per call. Each client is in a file of its own; see clients for the list.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/tailorkit/tailor/bench/internal/cpuprofile"
	"github.com/tailorkit/tailor/bench/internal/load"
)

// newCaller returns a function that sends one order to url and reads the
// receipt.
type newCaller func(url string) (func(context.Context) error, error)

// clients lists every client by the name -mode takes.
func clients() map[string]newCaller {
	return map[string]newCaller{
		"raw":           rawCaller,
		"tailor":        tailorCaller(false),
		"tailor-policy": tailorCaller(true),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpclient:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("httpclient", flag.ContinueOnError)
	mode := fs.String("mode", "raw", "the client to measure")
	url := fs.String("url", "", "the order route's URL")
	concurrency := fs.Int("c", 32, "concurrent callers")
	duration := fs.Duration("d", 10*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 0, "how long to call before measuring")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all := clients()
	newCall, ok := all[*mode]
	if !ok {
		return fmt.Errorf("no mode %q; choose one of %s", *mode, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	if *url == "" {
		return fmt.Errorf("-url is required: the server's order route")
	}
	call, err := newCall(*url)
	if err != nil {
		return err
	}
	stopProfile, err := cpuprofile.Start("httpclient", *profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	s, err := load.Run(ctx, *concurrency, *warmup, *duration, call)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(s)
}
