package telemetry_test

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tailorkit/tailor/observability/telemetry"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestNewRejectsBadEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, `OTEL_TRACES_SAMPLER="sometimes"`},
		{"sampler arg", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, `OTEL_TRACES_SAMPLER_ARG="2"`},
		{"protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`},
		{"protocol per signal", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/json"`},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}, `"127.0.0.1:4318/v1/traces" is not an http://`},
		{"exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, `OTEL_TRACES_EXPORTER="zipkin"`},
		{"resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, `"team", which is not key=value`},
		{"batch", map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_MAX_QUEUE_SIZE": "lots"}, `OTEL_BSP_MAX_QUEUE_SIZE="lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := telemetry.New(context.Background(), telemetry.Config{LookupEnv: envOf(tt.env)})
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

func TestDisabled(t *testing.T) {
	p, err := telemetry.New(context.Background(), telemetry.Config{LookupEnv: envOf(map[string]string{"OTEL_SDK_DISABLED": "true"})})
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

	p, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName:    "fallback-name",
		ServiceVersion: "1.2.3",
		InstanceID:     "instance-7",
		LookupEnv: envOf(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(),
			"OTEL_SERVICE_NAME":           "checkout",
			"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=test,team=shop%2Cpayments",
			"OTEL_TRACES_SAMPLER":         "always_on",
			"OTEL_METRICS_EXPORTER":       "none",
		}),
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
