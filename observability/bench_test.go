package observability_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// discard is a span exporter that drops what it gets, so the benchmarks
// measure the instrumentation and the batch processor, not a network.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkServerChain sends one request through the Router with the
// observability middleware, with tracing off, at 1% and at 100% sampling;
// metrics are on in every case but "bare", which has no middleware.
//
//	go test ./observability -run '^$' -bench ServerChain -benchmem -count 6 | benchstat -col /sampling -
func BenchmarkServerChain(b *testing.B) {
	cases := []struct {
		name    string
		bare    bool
		sampler sdktrace.Sampler // nil: tracing off
	}{
		{"bare", true, nil},
		{"off", false, nil},
		{"1pct", false, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))},
		{"100pct", false, sdktrace.AlwaysSample()},
	}
	for _, c := range cases {
		b.Run("sampling="+c.name, func(b *testing.B) {
			var opts []thttp.RouterOption
			if !c.bare {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer mp.Shutdown(context.Background())
				cfg := observability.Config{MeterProvider: mp}
				if c.sampler != nil {
					tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(c.sampler), sdktrace.WithBatcher(discard{}))
					defer tp.Shutdown(context.Background())
					cfg.TracerProvider = tp
				}
				inst, err := observability.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, thttp.WithMiddleware(inst.HTTPMiddleware))
			}
			router := thttp.NewRouter(opts...)
			router.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"42"}`))
			})
			req := httptest.NewRequest("GET", "/v1/products/42", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &nopWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					router.ServeHTTP(w, req)
				}
			})
		})
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkEndpointStats sends one request through the Router with the
// observability middleware (metrics on, tracing off), without and with
// Config.EndpointStats, which a service turns on with its admin
// listener: the difference is what the dashboard's endpoints panel costs
// a request.
//
//	go test ./observability -run '^$' -bench EndpointStats -benchmem -count 6 | benchstat -col /stats -
func BenchmarkEndpointStats(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run("stats="+name, func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer mp.Shutdown(context.Background())
			inst, err := observability.New(observability.Config{MeterProvider: mp, EndpointStats: on})
			if err != nil {
				b.Fatal(err)
			}
			router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
			router.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"42"}`))
			})
			req := httptest.NewRequest("GET", "/v1/products/42", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &nopWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					router.ServeHTTP(w, req)
				}
			})
		})
	}
}

// BenchmarkCallStats makes one call through CallMiddleware, around a
// policy with a breaker and retries as a discovery client's, with metrics
// on, without and with Config.EndpointStats: the difference is what the
// dashboard's topology panel costs a call.
//
//	go test ./observability -run '^$' -bench CallStats -benchmem -count 6 | benchstat -col /stats -
func BenchmarkCallStats(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run("stats="+name, func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer mp.Shutdown(context.Background())
			inst, err := observability.New(observability.Config{MeterProvider: mp, EndpointStats: on})
			if err != nil {
				b.Fatal(err)
			}
			policy := resilience.NewPolicy(resilience.PolicyConfig{
				Name: "inventory", Retry: &resilience.RetryConfig{}, Breaker: &resilience.BreakerConfig{},
			}, resilience.WithStateChange(inst.BreakerStateChange))
			call := inst.CallMiddleware("inventory")(policy.Middleware()(inst.AttemptMiddleware("inventory")(
				func(context.Context, any) (any, error) { return "ok", nil })))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := call(ctx, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
