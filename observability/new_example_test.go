package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// New takes the providers main built (usually with package telemetry) and
// makes the middlewares from them. Here a server and a client on loopback
// each record a span and a duration metric; the server's span continues
// the client's trace.
func ExampleNew() {
	spans := tracetest.NewInMemoryExporter()
	metrics := sdkmetric.NewManualReader()
	inst, err := observability.New(observability.Config{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics)),
	})
	if err != nil {
		panic(err)
	}

	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
	router.HandleFunc("GET /v1/stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"units":7}`)
	})
	srv := httptest.NewServer(router)
	defer srv.Close()

	e, err := thttp.NewClient("GET", srv.URL+"/v1/stock/mug", thttp.EncodeJSONRequest,
		thttp.DecodeJSONResponse[map[string]int](), inst.HTTPClientOptions()...)
	if err != nil {
		panic(err)
	}
	if _, err := e(context.Background(), nil); err != nil {
		panic(err)
	}

	ended := spans.GetSpans()
	for _, s := range ended {
		fmt.Println(s.SpanKind, s.Name)
	}
	fmt.Println(ended[0].SpanContext.TraceID() == ended[1].SpanContext.TraceID())

	var rm metricdata.ResourceMetrics
	if err := metrics.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Println(m.Name)
		}
	}
	// Output:
	// server GET /v1/stock/{sku}
	// client GET
	// true
	// http.server.request.duration
	// http.client.request.duration
}

// NewLogger builds the service's logger from the TAILOR_LOG_* settings;
// records logged with a request's context carry its request ID (and its
// trace and span IDs when it is traced).
func ExampleNewLogger() {
	env := map[string]string{observability.EnvLogLevel: "warn"}
	cfg, err := observability.LogConfigFromEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	logger := observability.NewLogger(&out, cfg)

	ctx := requestid.NewContext(context.Background(), "req-7")
	logger.InfoContext(ctx, "below the level: not written")
	logger.WarnContext(ctx, "stock low", "sku", "mug")

	// One JSON object per line; the time varies, so print the rest.
	var record map[string]any
	if err := json.Unmarshal(out.Bytes(), &record); err != nil {
		panic(err)
	}
	fmt.Println(record["level"], record["msg"], record["sku"], record["request_id"])
	// Output:
	// WARN stock low mug req-7
}
