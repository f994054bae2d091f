package telemetry_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tailorkit/tailor/observability/telemetry"
)

func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestNewRejectsBadEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`},
		{"protocol per signal", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/json"`},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}, `OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4318" is not an http://`},
		{"exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, `OTEL_TRACES_EXPORTER="zipkin"`},
		{"resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, `OTEL_RESOURCE_ATTRIBUTES="team" is not usable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setenv(t, tt.env)
			p, err := telemetry.New(context.Background(), telemetry.Config{})
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatalf("got no error, want one containing %s", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want one containing %s", err, tt.wantErr)
			}
		})
	}
}

// An endpoint's password never shows in an error, whatever its form.
func TestEndpointPasswordRedacted(t *testing.T) {
	for _, endpoint := range []string{"ftp://otel:s3cret@collector:4318", "otel:s3cret@collector:4318", "http://otel:s3cret@[::1"} {
		t.Run(endpoint, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
			p, err := telemetry.New(context.Background(), telemetry.Config{})
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatal("got no error, want one for an endpoint that is not http(s)")
			}
			if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
				t.Fatalf("got error %q, want one naming the variable without the password", err)
			}
		})
	}
}

// The SDK reads OTEL_BSP_*; an unset one takes tailor's default, a set
// one beats it.
func TestBatchSettings(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantExports []int
	}{
		{"tailor's default", nil, []int{5}},
		{"environment", map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2"}, []int{2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setenv(t, tt.env)
			exp := &countingExporter{}
			p, err := telemetry.New(context.Background(), telemetry.Config{SpanExporter: exp, Sampler: sdktrace.AlwaysSample()})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "x")
				span.End()
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := exp.batches(); !slices.Equal(got, tt.wantExports) {
				t.Fatalf("got exports of %v spans, want %v", got, tt.wantExports)
			}
		})
	}
}

// countingExporter notes the size of each export.
type countingExporter struct {
	mu    sync.Mutex
	sizes []int
}

func (e *countingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sizes = append(e.sizes, len(spans))
	return nil
}

func (e *countingExporter) Shutdown(context.Context) error { return nil }

func (e *countingExporter) batches() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sizes)
}

// With a Logger, what the SDK reports goes to it as a structured record,
// not to standard error; an unknown sampler is one such report.
func TestSDKErrorsLogged(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	var buf bytes.Buffer
	p, err := telemetry.New(context.Background(), telemetry.Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	if !strings.Contains(buf.String(), `"level":"ERROR"`) || !strings.Contains(buf.String(), "sometimes") {
		t.Fatalf("got log %q, want an error record naming the unknown sampler", buf.String())
	}
}

func TestDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	p, err := telemetry.New(context.Background(), telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("got a live span, want a no-op one when OTEL_SDK_DISABLED=true")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// receiver is a minimal OTLP/HTTP trace receiver on the official OTLP
// protobuf types.
type receiver struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces with application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := new(coltracepb.ExportTraceServiceRequest)
	if err := proto.Unmarshal(b, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	rc.mu.Unlock()
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func (rc *receiver) spans() []*tracepb.ResourceSpans {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*tracepb.ResourceSpans
	for _, r := range rc.requests {
		out = append(out, r.ResourceSpans...)
	}
	return out
}

// TestOTLPExportToARealReceiver sends spans through the real OTLP/HTTP
// exporter to a receiver on loopback and checks what arrives.
func TestOTLPExportToARealReceiver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	setenv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(),
		"OTEL_SERVICE_NAME":           "checkout",
		"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=test,team=shop%2Cpayments",
		"OTEL_TRACES_SAMPLER":         "always_on",
		"OTEL_METRICS_EXPORTER":       "none",
	})
	p, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName:    "fallback-name",
		ServiceVersion: "1.2.3",
		InstanceID:     "instance-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.TracerProvider().Tracer("test")
	for _, name := range []string{"first", "second"} {
		_, span := tr.Start(context.Background(), name)
		span.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil { // flushes
		t.Fatal(err)
	}

	got := rc.spans()
	if len(got) == 0 {
		t.Fatal("the receiver got no spans")
	}
	wantRes := map[string]string{
		"service.name":           "checkout",
		"service.version":        "1.2.3",
		"service.instance.id":    "instance-7",
		"deployment.environment": "test",
		"team":                   "shop,payments",
		"telemetry.sdk.language": "go",
	}
	var names []string
	for _, rs := range got {
		attrs := map[string]string{}
		for _, kv := range rs.Resource.Attributes {
			attrs[kv.Key] = kv.Value.GetStringValue()
		}
		for k, v := range wantRes {
			if attrs[k] != v {
				t.Errorf("got resource %s=%q, want %q", k, attrs[k], v)
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
		}
	}
	if strings.Join(names, ",") != "first,second" {
		t.Errorf("got spans %v, want [first second]", names)
	}
}

// The providers keep recent spans for the dashboard: sampled ones by
// default, every one with RecordUnsampled, none with RecentSpans < 0.
func TestRecentSpans(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       telemetry.Config
		wantKept  int
		wantNoBuf bool
	}{
		{"sampled only", telemetry.Config{Sampler: sdktrace.NeverSample()}, 0, false},
		{"record unsampled", telemetry.Config{Sampler: sdktrace.NeverSample(), RecordUnsampled: true}, 1, false},
		{"no buffer", telemetry.Config{RecentSpans: -1}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tc.cfg.SpanExporter = exp
			p, err := telemetry.New(context.Background(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, s := p.TracerProvider().Tracer("test").Start(context.Background(), "GET /v1/products")
			s.End()
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.wantNoBuf {
				if p.Spans() != nil {
					t.Fatal("Spans() is a buffer, want nil")
				}
				return
			}
			if p.Spans().Capacity() != 512 {
				t.Errorf("capacity = %d, want 512", p.Spans().Capacity())
			}
			if got := len(p.Spans().Traces()); got != tc.wantKept {
				t.Errorf("kept %d traces, want %d", got, tc.wantKept)
			}
			if got := len(exp.GetSpans()); got != 0 {
				t.Errorf("exported %d unsampled spans, want 0", got)
			}
		})
	}
}
