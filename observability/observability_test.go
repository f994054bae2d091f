package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// rig is a Telemetry over an in-memory span exporter, a manual
// metric reader and a log buffer.
type rig struct {
	inst   *observability.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	logs   *bytes.Buffer
}

func newRig(t *testing.T, accessLog bool) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader(), logs: new(bytes.Buffer)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	var err error
	r.inst, err = observability.New(observability.Config{
		TracerProvider: tp, MeterProvider: mp,
		Logger:    observability.NewLogger(r.logs, observability.LogConfig{}),
		AccessLog: accessLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// histogram returns the data points of the histogram name by attribute
// set.
func (r *rig) histogram(t *testing.T, name string) map[attribute.Distinct]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[attribute.Distinct]metricdata.HistogramDataPoint[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				out[dp.Attributes.Equivalent()] = dp
			}
		}
	}
	return out
}

func attrOf(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestHTTPMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantName   string
		wantRoute  string
		wantStatus int
		wantCode   codes.Code
		wantError  string
	}{
		{"ok", "/v1/products/42", "GET /v1/products/{id}", "/v1/products/{id}", 200, codes.Unset, ""},
		{"client error is not a server error", "/v1/products/missing", "GET /v1/products/{id}", "/v1/products/{id}", 404, codes.Unset, ""},
		{"server error", "/v1/products/broken", "GET /v1/products/{id}", "/v1/products/{id}", 500, codes.Error, "internal"},
		{"unavailable", "/v1/products/down", "GET /v1/products/{id}", "/v1/products/{id}", 503, codes.Error, "unavailable"},
		{"no route is the catch-all, never the raw path", "/no/such/thing", "GET /", "/", 404, codes.Unset, ""},
		{"panic", "/v1/panic", "GET /v1/panic", "/v1/panic", 500, codes.Error, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			router := thttp.NewRouter(thttp.WithMiddleware(r.inst.HTTPMiddleware))
			router.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, req *http.Request) {
				switch req.PathValue("id") {
				case "missing":
					thttp.WriteError(w, req, fault.New(fault.NotFound, "no such product"))
				case "broken":
					thttp.WriteError(w, req, errors.New("disk on fire"))
				case "down":
					thttp.WriteError(w, req, fault.New(fault.Unavailable, "later"))
				default:
					_, _ = w.Write([]byte("{}"))
				}
			})
			router.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })

			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			spans := r.spans.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != tt.wantName {
				t.Errorf("got span name %q, want %q", s.Name, tt.wantName)
			}
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("got span kind %v, want server", s.SpanKind)
			}
			if got := attrOf(s.Attributes, "http.route"); got != tt.wantRoute {
				t.Errorf("got http.route %q, want %q", got, tt.wantRoute)
			}
			if got := attrOf(s.Attributes, "http.response.status_code"); got != strconv.Itoa(tt.wantStatus) {
				t.Errorf("got http.response.status_code %s, want %d", got, tt.wantStatus)
			}
			if s.Status.Code != tt.wantCode {
				t.Errorf("got span status %v, want %v", s.Status.Code, tt.wantCode)
			}
			if got := attrOf(s.Attributes, "error.type"); got != tt.wantError {
				t.Errorf("got error.type %q, want %q", got, tt.wantError)
			}
			points := r.histogram(t, "http.server.request.duration")
			if len(points) != 1 {
				t.Fatalf("got %d duration series, want 1", len(points))
			}
			for _, dp := range points {
				route, _ := dp.Attributes.Value("http.route")
				if dp.Count != 1 || route.AsString() != tt.wantRoute {
					t.Errorf("got count %d route %q, want 1 and %q", dp.Count, route.AsString(), tt.wantRoute)
				}
			}
		})
	}
}

func TestHTTPMiddlewareContinuesCallersTrace(t *testing.T) {
	r := newRig(t, false)
	router := thttp.NewRouter(thttp.WithMiddleware(r.inst.HTTPMiddleware))
	router.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest("GET", "/x", nil)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req.Header.Set("traceparent", parent)
	router.ServeHTTP(httptest.NewRecorder(), req)
	s := r.spans.GetSpans()[0]
	if got, want := s.SpanContext.TraceID().String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("got trace id %s, want %s", got, want)
	}
	if got, want := s.Parent.SpanID().String(), "00f067aa0ba902b7"; got != want {
		t.Errorf("got parent span id %s, want %s", got, want)
	}
	if !s.Parent.IsRemote() {
		t.Error("got a local parent, want a remote one")
	}
}

func TestAccessLogAndLogIDs(t *testing.T) {
	r := newRig(t, true)
	router := thttp.NewRouter(thttp.WithMiddleware(r.inst.HTTPMiddleware))
	logger := observability.NewLogger(r.logs, observability.LogConfig{})
	router.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, req *http.Request) {
		logger.InfoContext(req.Context(), "inside")
		w.WriteHeader(http.StatusAccepted)
	})
	req := httptest.NewRequest("GET", "/items/7", nil)
	req.Header.Set("X-Request-Id", "req-1")
	router.ServeHTTP(httptest.NewRecorder(), req)

	span := r.spans.GetSpans()[0]
	lines := strings.Split(strings.TrimSpace(r.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2 (handler and access log):\n%s", len(lines), r.logs)
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"trace_id":   span.SpanContext.TraceID().String(),
			"span_id":    span.SpanContext.SpanID().String(),
			"request_id": "req-1",
		}
		if i == 1 {
			want["msg"], want["route"], want["status"] = "request", "/items/{id}", float64(202)
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("line %d: got %s=%v, want %v", i, k, rec[k], v)
			}
		}
	}
}

func TestLogConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    observability.LogConfig
		wantErr string
	}{
		{"defaults", nil, observability.LogConfig{}, ""},
		{"all set", map[string]string{"TAILOR_LOG_LEVEL": "debug", "TAILOR_LOG_FORMAT": "text", "TAILOR_ACCESS_LOG": "true"},
			observability.LogConfig{Level: slog.LevelDebug, Text: true, AccessLog: true}, ""},
		{"warn", map[string]string{"TAILOR_LOG_LEVEL": "WARN"}, observability.LogConfig{Level: slog.LevelWarn}, ""},
		{"bad level", map[string]string{"TAILOR_LOG_LEVEL": "loud"}, observability.LogConfig{}, `TAILOR_LOG_LEVEL="loud"`},
		{"bad format", map[string]string{"TAILOR_LOG_FORMAT": "xml"}, observability.LogConfig{}, `TAILOR_LOG_FORMAT="xml"`},
		{"bad access log", map[string]string{"TAILOR_ACCESS_LOG": "sometimes"}, observability.LogConfig{}, `TAILOR_ACCESS_LOG="sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := observability.LogConfigFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, nil", got, err, tt.want)
			}
		})
	}
}

func TestHTTPClientOptionsPropagateAndMarkErrors(t *testing.T) {
	r := newRig(t, false)
	var gotParent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		gotParent = req.Header.Get("traceparent")
		if req.URL.Path == "/fail" {
			thttp.WriteError(w, req, fault.New(fault.Unavailable, "later"))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path     string
		wantCode codes.Code
	}{{"/ok", codes.Unset}, {"/fail", codes.Error}} {
		r.spans.Reset()
		e, err := thttp.NewClient("GET", srv.URL+tc.path, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]any](), r.inst.HTTPClientOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = e(context.Background(), struct{}{})
		spans := r.spans.GetSpans()
		if len(spans) != 1 {
			t.Fatalf("%s: got %d spans, want 1", tc.path, len(spans))
		}
		s := spans[0]
		if s.SpanKind != trace.SpanKindClient || s.Status.Code != tc.wantCode {
			t.Errorf("%s: got kind %v status %v, want client and %v", tc.path, s.SpanKind, s.Status.Code, tc.wantCode)
		}
		if want := "00-" + s.SpanContext.TraceID().String() + "-" + s.SpanContext.SpanID().String() + "-01"; gotParent != want {
			t.Errorf("%s: server got traceparent %q, want %q", tc.path, gotParent, want)
		}
	}
	if n := len(r.histogram(t, "http.client.request.duration")); n != 2 {
		t.Errorf("got %d client duration series, want 2 (200 and 503)", n)
	}
}

func TestInjectExtractThroughMessageHeaders(t *testing.T) {
	r := newRig(t, false)
	ctx, span := r.inst.Tracer().Start(context.Background(), "publish")
	headers := map[string]string{}
	r.inst.Inject(ctx, propagation.MapCarrier(headers))
	span.End()
	got := trace.SpanContextFromContext(r.inst.Extract(context.Background(), propagation.MapCarrier(headers)))
	if got.TraceID() != span.SpanContext().TraceID() || !got.IsRemote() {
		t.Errorf("got %v, want the remote span context of trace %v", got, span.SpanContext().TraceID())
	}
}

func TestResilienceEvents(t *testing.T) {
	r := newRig(t, false)
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:    "inventory",
		Retry:   &resilience.RetryConfig{MaxAttempts: 3, BaseDelay: 1, MaxDelay: 1, AllIdempotent: true},
		Breaker: &resilience.BreakerConfig{},
	}, resilience.WithStateChange(r.inst.BreakerStateChange))
	calls := 0
	flaky := func(context.Context, any) (any, error) {
		calls++
		if calls < 3 {
			return nil, fault.New(fault.Unavailable, "busy")
		}
		return "ok", nil
	}
	e := r.inst.CallMiddleware("inventory")(policy.Middleware()(r.inst.AttemptMiddleware("inventory")(flaky)))
	ctx, span := r.inst.Tracer().Start(context.Background(), "call")
	if _, err := e(ctx, nil); err != nil {
		t.Fatal(err)
	}
	span.End()
	var retries []int64
	for _, ev := range r.spans.GetSpans()[0].Events {
		if ev.Name == "retry" {
			for _, a := range ev.Attributes {
				if a.Key == "tailor.retry.attempt" {
					retries = append(retries, a.Value.AsInt64())
				}
			}
		}
	}
	if len(retries) != 2 || retries[0] != 2 || retries[1] != 3 {
		t.Errorf("got retry events for attempts %v, want [2 3]", retries)
	}

	bh := resilience.NewBulkhead("inventory", resilience.BulkheadConfig{MaxConcurrent: 1})
	release := make(chan struct{})
	held := make(chan struct{})
	slow := func(context.Context, any) (any, error) { close(held); <-release; return nil, nil }
	go func() { _, _ = bh.Middleware()(slow)(context.Background(), nil) }()
	<-held
	r.spans.Reset()
	ctx, span = r.inst.Tracer().Start(context.Background(), "call")
	_, err := r.inst.CallMiddleware("inventory")(bh.Middleware()(slow))(ctx, nil)
	close(release)
	span.End()
	if !errors.Is(err, resilience.ErrBulkheadFull) {
		t.Fatalf("got %v, want a full bulkhead", err)
	}
	ev := r.spans.GetSpans()[0].Events
	if len(ev) != 1 || ev[0].Name != "resilience.rejected" || attrOf(ev[0].Attributes, "tailor.resilience.reason") != "bulkhead_full" {
		t.Errorf("got events %+v, want one resilience.rejected with reason bulkhead_full", ev)
	}
}

// Requests that differ only in scheme are measured apart: each series
// says its own url.scheme.
func TestHTTPMiddlewareMeasuresEachScheme(t *testing.T) {
	r := newRig(t, false)
	router := thttp.NewRouter(thttp.WithMiddleware(r.inst.HTTPMiddleware))
	router.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/x", nil))
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/x", nil))
	got := map[string]uint64{}
	for _, dp := range r.histogram(t, "http.server.request.duration") {
		s, _ := dp.Attributes.Value("url.scheme")
		got[s.AsString()] += dp.Count
	}
	if len(got) != 2 || got["http"] != 1 || got["https"] != 1 {
		t.Errorf("got requests by url.scheme %v, want http 1 and https 1", got)
	}
}

// A refused connection is one kind everywhere: the caller's error, the
// client span's error.type and the duration metric's all say
// "unavailable", as fault.KindOf classifies it.
func TestRefusedConnectionIsUnavailable(t *testing.T) {
	r := newRig(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	e, err := thttp.NewClient("GET", "http://"+addr+"/v1/stock", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]any](), r.inst.HTTPClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e(context.Background(), struct{}{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("the call failed with %v, want a refused connection", err)
	}
	want := fault.Unavailable.String()
	if got := fault.KindOf(err).String(); got != want {
		t.Errorf("caller's kind: got %s, want %s", got, want)
	}
	spans := r.spans.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	if got := attrOf(spans[0].Attributes, "error.type"); got != want {
		t.Errorf("span error.type: got %q, want %q", got, want)
	}
	for _, dp := range r.histogram(t, "http.client.request.duration") {
		if got := attrOf(dp.Attributes.ToSlice(), "error.type"); got != want {
			t.Errorf("metric error.type: got %q, want %q", got, want)
		}
	}
}
