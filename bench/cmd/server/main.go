// Command server serves the benchmarks' workload (package order) in one of
// several settings, chosen with -mode, so that cmd/bench can measure them
// side by side. It prints the address it listens on as its first line of
// output (followed by its admin listener's, space-separated, for a setting
// that has one), serves until SIGINT or SIGTERM, and then writes the CPU
// profile asked for with -cpuprofile.
//
//	server -mode tailor -addr 127.0.0.1:0 -cpuprofile tailor.pprof
//
// Each setting is in a file of its own; see modes for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/tailorkit/tailor/bench/internal/cpuprofile"
)

// serveFunc serves one setting on addr until ctx ends, calling ready with
// the address it listens on once it accepts connections, and then its
// admin listener's when it has one.
type serveFunc func(ctx context.Context, addr string, ready func(...net.Addr)) error

// modes lists every setting by the name -mode takes.
func modes() map[string]serveFunc {
	return map[string]serveFunc{
		"raw":                serveRaw,
		"gokit":              serveGokit,
		"naive":              serveNaive,
		"tailor":             serveTailor("", false),
		"tailor-notrace":     serveTailor("always_off", false),
		"tailor-100":         serveTailor("always_on", false),
		"tailor-admin":       serveTailor("", true),
		"mw-tailor-1":        serveTailorMiddleware(0.01),
		"mw-tailor-100":      serveTailorMiddleware(1),
		"mw-otelhttp-1":      serveOtelhttp(0.01),
		"mw-otelhttp-100":    serveOtelhttp(1),
		"grpc-raw":           serveGRPCRaw,
		"grpc-tailor":        serveGRPCTailor,
		"grpc-mw-tailor-1":   serveGRPCTailorMiddleware(0.01),
		"grpc-mw-tailor-100": serveGRPCTailorMiddleware(1),
		"grpc-otelgrpc-1":    serveGRPCOtelgrpc(0.01),
		"grpc-otelgrpc-100":  serveGRPCOtelgrpc(1),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	mode := fs.String("mode", "raw", "the setting to serve")
	addr := fs.String("addr", "127.0.0.1:0", "the address to listen on")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all := modes()
	serve, ok := all[*mode]
	if !ok {
		return fmt.Errorf("no mode %q; choose one of %s", *mode, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	stopProfile, err := cpuprofile.Start("server", *profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	err = serve(ctx, *addr, func(addrs ...net.Addr) {
		s := make([]string, len(addrs))
		for i, a := range addrs {
			s[i] = a.String()
		}
		fmt.Fprintln(stdout, strings.Join(s, " "))
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
