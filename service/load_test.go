package service_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
)

// TestLoad measures requests per second and p99 latency over real HTTP on
// loopback, for a raw net/http handler and for a service with telemetry
// in several settings, in one run. Every setting serves the same handler
// to the same client (16 keep-alive connections in this process), after
// a warm-up and from a freshly collected heap. TAILOR_LOAD_ROUNDS rounds
// (default 1) run every setting once, each round starting one setting
// later so that no setting always runs first or last, and the table shows
// the medians. It is a measurement, not a check: it runs only when
// TAILOR_LOAD is set (to the seconds each setting runs) and logs a table.
//
//	TAILOR_LOAD=2 TAILOR_LOAD_ROUNDS=5 go test ./service -run TestLoad -v
func TestLoad(t *testing.T) {
	secs := os.Getenv("TAILOR_LOAD")
	if secs == "" {
		t.Skip("set TAILOR_LOAD=<seconds per setting> to run the load test")
	}
	n, err := strconv.Atoi(secs)
	if err != nil || n <= 0 || n > 30 {
		t.Fatalf("TAILOR_LOAD=%q: want a number of seconds from 1 to 30", secs)
	}
	dur := time.Duration(n) * time.Second
	rounds := 1
	if v := os.Getenv("TAILOR_LOAD_ROUNDS"); v != "" {
		if rounds, err = strconv.Atoi(v); err != nil || rounds <= 0 || rounds > 50 {
			t.Fatalf("TAILOR_LOAD_ROUNDS=%q: want a number of rounds from 1 to 50", v)
		}
	}

	// A receiver that accepts OTLP/HTTP and discards it, so spans are
	// really marshalled and sent.
	recv := serveDiscard(t)
	otlp := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + recv, "OTEL_METRICS_EXPORTER": "none"}
	// with returns otlp plus every map in extra, later ones winning.
	with := func(extra ...map[string]string) map[string]string {
		m := maps.Clone(otlp)
		for _, e := range extra {
			maps.Copy(m, e)
		}
		return m
	}
	sdkDefaults := map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "5000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512", "OTEL_BSP_MAX_QUEUE_SIZE": "2048", "OTEL_BSP_EXPORT_TIMEOUT": "30000"}
	settings := []struct {
		name string
		env  map[string]string // nil: raw net/http
	}{
		{"raw net/http", nil},
		{"tracing off, metrics", with(map[string]string{"OTEL_TRACES_SAMPLER": "always_off"})},
		{"default: 1%, metrics, logs", with()},
		{"100%, SDK batch defaults", with(map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, sdkDefaults)},
		{"100%, tailor batch defaults", with(map[string]string{"OTEL_TRACES_SAMPLER": "always_on"})},
	}
	type result struct{ rps, p50, p99, gcs, assist []float64 }
	results := make([]result, len(settings))
	for r := range rounds {
		// Each round starts one setting later, so every setting takes every
		// place in the order as often as the others: whatever the place
		// costs (the heap the previous setting left, the machine warming
		// up) is shared out instead of charged to one setting.
		for j := range settings {
			i := (j + r) % len(settings)
			s := settings[i]
			addr, stop := startLoadTarget(t, s.env)
			m := drive(t, "http://"+addr+"/v1/products/42", dur)
			stop()
			results[i].gcs = append(results[i].gcs, m.gcs)
			results[i].assist = append(results[i].assist, m.assist)
			results[i].rps = append(results[i].rps, m.rps)
			results[i].p50 = append(results[i].p50, m.p50)
			results[i].p99 = append(results[i].p99, m.p99)
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	t.Logf("medians of %d rounds of %s each:", rounds, dur)
	t.Logf("%-30s %10s %8s %9s %9s %10s %8s %14s", "setting", "req/s", "vs raw", "p50 ms", "p99 ms", "p99 vs off", "GC/s", "assist ms/s")
	for i, s := range settings {
		t.Logf("%-30s %10.0f %8.3f %9.3f %9.3f %10.3f %8.1f %14.1f", s.name, med(results[i].rps), med(results[i].rps)/med(results[0].rps),
			med(results[i].p50), med(results[i].p99), med(results[i].p99)/med(results[1].p99), med(results[i].gcs), med(results[i].assist))
	}
}

// gcStats returns the process's garbage collections so far and the CPU
// seconds request goroutines spent assisting the collector.
func gcStats() (cycles, assistSeconds float64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/mark/assist:cpu-seconds"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()), s[1].Value.Float64()
}

func product(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"` + r.PathValue("id") + `","name":"Mug"}`))
}

// startLoadTarget serves product: on a raw ServeMux when env is nil,
// otherwise as a service whose telemetry reads env.
func startLoadTarget(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	if env == nil {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/products/{id}", product)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		return ln.Addr().String(), func() { _ = srv.Close() }
	}
	tel, err := newTelemetryWithEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Name: "load", HTTPAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))), service.WithTelemetry(tel), service.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	svc.Router().HandleFunc("GET /v1/products/{id}", product)
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	return svc.HTTPAddr().String(), func() {
		cancel()
		if err := wait(); err != nil {
			t.Error(err)
		}
	}
}

// newTelemetryWithEnv builds telemetry with env added to the process's
// environment, which the OpenTelemetry SDK reads, and puts the
// environment back afterwards.
func newTelemetryWithEnv(env map[string]string) (*telemetry.Providers, error) {
	for k, v := range env {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		if had {
			defer os.Setenv(k, old)
		} else {
			defer os.Unsetenv(k)
		}
	}
	return telemetry.New(context.Background(), telemetry.Config{ServiceName: "load"})
}

// warmUp is how long drive loads a target before it measures: long enough
// to open every connection, grow the server's pools and buffers and let
// the heap settle.
const warmUp = 300 * time.Millisecond

// measured is what drive reports about one run.
type measured struct {
	rps, p50, p99 float64 // requests per second; latencies in milliseconds
	gcs, assist   float64 // collections per second; mark assist CPU ms per second
}

// drive sends GETs to url from a fixed number of keep-alive connections,
// first for [warmUp] with the same workers, then, from a freshly collected
// heap, for d, and reports that second part.
func drive(t *testing.T, url string, d time.Duration) measured {
	t.Helper()
	const workers = 16
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	get := func() time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			t.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	lats := make([][]time.Duration, workers)
	for w := range lats {
		lats[w] = make([]time.Duration, 0, 1<<16)
	}
	run := func(d time.Duration) time.Duration {
		var wg sync.WaitGroup
		began := time.Now()
		end := began.Add(d)
		for w := range workers {
			wg.Go(func() {
				lat := lats[w][:0]
				for time.Now().Before(end) {
					lat = append(lat, get())
				}
				lats[w] = lat
			})
		}
		wg.Wait()
		return time.Since(began)
	}
	run(warmUp)
	runtime.GC()
	gc0, assist0 := gcStats()
	elapsed := run(d)
	gc1, assist1 := gcStats()
	all := slices.Concat(lats...)
	slices.Sort(all)
	if len(all) == 0 {
		t.Fatal("no requests completed")
	}
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond) }
	return measured{
		rps: float64(len(all)) / elapsed.Seconds(), p50: ms(0.5), p99: ms(0.99),
		gcs: (gc1 - gc0) / elapsed.Seconds(), assist: (assist1 - assist0) * 1000 / elapsed.Seconds(),
	}
}

// serveDiscard accepts OTLP/HTTP exports on loopback and discards them.
func serveDiscard(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
