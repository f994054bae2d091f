//go:build unix

package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// BenchmarkRecentSpans measures what the span buffer costs a whole
// request, side by side: a client calls a front service over loopback,
// which calls a back service, each a service with its own providers at
// the default sampler (1% of new traces; sampled spans batched to an
// exporter that drops them). Settings: no buffer, the buffer (it keeps
// sampled spans), and the buffer with Config.RecordUnsampled (it keeps
// every span). Compare cpu-µs/op (the process's CPU time per request:
// client and both services), B/op and allocs/op within one run; ns/op
// moves with whatever else the machine runs:
//
//	go test ./observability/telemetry -run '^$' -bench RecentSpans -benchmem -count 6
func BenchmarkRecentSpans(b *testing.B) {
	for _, s := range []struct {
		name string
		cfg  telemetry.Config
	}{
		{"no-buffer", telemetry.Config{RecentSpans: -1}},
		{"buffer", telemetry.Config{}},
		{"buffer-record-unsampled", telemetry.Config{RecordUnsampled: true}},
	} {
		b.Run(s.name, func(b *testing.B) {
			url := startChain(b, s.cfg)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("GET %s = %d, want 200", url, resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// cpuTime returns the user and system time the process has used: client
// and both services, which share it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type stock struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// startChain runs the front and back services with cfg and returns the
// front's URL.
func startChain(b *testing.B, cfg telemetry.Config) string {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	back := newBenchService(b, ctx, "inventory", cfg, func(svc *service.Service) {
		svc.Router().Handle("GET /v1/stock/{sku}", thttp.NewServer(
			tailor.Endpoint(func(_ context.Context, _ struct{}) (stock, error) { return stock{SKU: "mug", Quantity: 3}, nil }),
			thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK)))
	})
	front := newBenchService(b, ctx, "catalog", cfg, func(svc *service.Service) {
		get, err := thttp.NewClient("GET", "http://"+back.HTTPAddr().String()+"/v1/stock/mug",
			thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock](), svc.Telemetry().HTTPClientOptions()...)
		if err != nil {
			b.Fatal(err)
		}
		svc.Router().Handle("GET /v1/products/{sku}", thttp.NewServer(
			tailor.Endpoint(func(ctx context.Context, _ struct{}) (any, error) { return get(ctx, struct{}{}) }),
			thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK)))
	})
	b.Cleanup(cancel)
	return "http://" + front.HTTPAddr().String() + "/v1/products/mug"
}

func newBenchService(b *testing.B, ctx context.Context, name string, cfg telemetry.Config, routes func(*service.Service)) *service.Service {
	b.Helper()
	cfg.ServiceName, cfg.SpanExporter = name, tracetest.NewNoopExporter()
	tel, err := telemetry.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := service.New(service.Config{Name: name, HTTPAddr: "127.0.0.1:0"},
		service.WithTelemetry(tel), service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	routes(svc)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	b.Cleanup(func() {
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	select {
	case <-svc.Started():
	case err := <-done:
		b.Fatal(err)
	}
	return svc
}
