package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// traced is a service's public router and its dashboard, each over
// loopback, tracing every request with a real SDK tracer provider into a
// span buffer.
type traced struct {
	inst          *observability.Telemetry
	router        *thttp.Router
	public, admin string
}

func newTraced(t *testing.T) *traced {
	t.Helper()
	buf := spanbuffer.New(0)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(buf))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	inst, err := observability.New(observability.Config{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
	pub := httptest.NewServer(router)
	t.Cleanup(pub.Close)
	admin := thttp.NewRouter()
	dashboard.Mount(admin, inst, dashboard.WithSpans(buf), dashboard.WithAPI(router))
	adm := httptest.NewServer(admin)
	t.Cleanup(adm.Close)
	return &traced{inst: inst, router: router, public: pub.URL, admin: adm.URL}
}

type traceList struct {
	Version  int `json:"version"`
	Capacity int `json:"capacity"`
	Traces   []struct {
		TraceID      string  `json:"trace_id"`
		Root         string  `json:"root"`
		DurationMS   float64 `json:"duration_ms"`
		Spans        int     `json:"spans"`
		Error        bool    `json:"error"`
		ErrorMessage string  `json:"error_message"`
	} `json:"traces"`
}

type traceDetail struct {
	Version int    `json:"version"`
	TraceID string `json:"trace_id"`
	Spans   []struct {
		SpanID     string            `json:"span_id"`
		ParentID   string            `json:"parent_id"`
		Name       string            `json:"name"`
		Kind       string            `json:"kind"`
		OffsetMS   float64           `json:"offset_ms"`
		Status     string            `json:"status"`
		Attributes map[string]string `json:"attributes"`
	} `json:"spans"`
}

// A request that fails after calling another route appears as a failed
// trace, its spans each after its parent.
func TestFailedRequestTrace(t *testing.T) {
	s := newTraced(t)
	stock, err := thttp.NewClient("GET", s.public+"/v1/stock", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]int](), s.inst.HTTPClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	s.router.Handle("GET /v1/stock", thttp.NewServer(tailor.Endpoint(func(context.Context, struct{}) (map[string]int, error) {
		return map[string]int{"mug": 3}, nil
	}), thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK)))
	s.router.Handle("POST /v1/orders", thttp.NewServer(tailor.Endpoint(func(ctx context.Context, _ struct{}) (struct{}, error) {
		if _, err := stock(ctx, struct{}{}); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, fault.New(fault.Internal, "the ledger is locked")
	}), thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK)))
	if code, body := call(t, "POST", s.public+"/v1/orders", "", nil); code != http.StatusInternalServerError {
		t.Fatalf("POST /v1/orders = %d %s, want 500", code, body)
	}

	var list traceList
	if code, body := call(t, "GET", s.admin+"/dash/api/traces", "", &list); code != http.StatusOK || list.Version != 1 || list.Capacity != spanbuffer.DefaultCapacity {
		t.Fatalf("GET /dash/api/traces = %d %s, want 200, version 1, capacity %d", code, body, spanbuffer.DefaultCapacity)
	}
	if len(list.Traces) != 1 {
		t.Fatalf("traces = %+v, want the one request", list.Traces)
	}
	got := list.Traces[0]
	if !got.Error || got.ErrorMessage != "internal" || got.Root != "POST /v1/orders" || got.Spans != 3 || got.DurationMS <= 0 {
		t.Errorf("trace = %+v, want failed (internal), root POST /v1/orders, 3 spans, a duration", got)
	}

	var detail traceDetail
	if code, body := call(t, "GET", s.admin+"/dash/api/traces/"+got.TraceID, "", &detail); code != http.StatusOK || detail.TraceID != got.TraceID {
		t.Fatalf("GET /dash/api/traces/%s = %d %s", got.TraceID, code, body)
	}
	seen := map[string]bool{"": true}
	var kinds []string
	for _, sp := range detail.Spans {
		if !seen[sp.ParentID] {
			t.Errorf("span %s (%s) comes before its parent %s", sp.SpanID, sp.Name, sp.ParentID)
		}
		seen[sp.SpanID] = true
		kinds = append(kinds, sp.Kind)
	}
	if want := []string{"server", "client", "server"}; len(kinds) != 3 || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] {
		t.Errorf("span kinds = %v, want %v", kinds, want)
	}
	if root := detail.Spans[0]; root.Status != "error" || root.OffsetMS != 0 || root.Attributes["http.route"] != "/v1/orders" {
		t.Errorf("root span = %+v, want status error at offset 0 with its route", root)
	}
}

// A trace begun by another service, with its own providers, over real
// HTTP groups under the caller's trace id, the server span a child of
// the caller's client span.
func TestTraceFromAnotherService(t *testing.T) {
	callee := newTraced(t)
	callee.router.HandleFunc("GET /v1/stock", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) })

	callerSpans := spanbuffer.New(0)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(callerSpans))
	caller, err := observability.New(observability.Config{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	get, err := thttp.NewClient("GET", callee.public+"/v1/stock", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]int](), caller.HTTPClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := get(context.Background(), struct{}{}); err != nil {
			t.Fatal(err)
		}
	}
	sent := callerSpans.Traces()
	if len(sent) != 2 {
		t.Fatalf("the caller recorded %d traces, want 2", len(sent))
	}
	var list traceList
	call(t, "GET", callee.admin+"/dash/api/traces", "", &list)
	if len(list.Traces) != 2 || list.Traces[0].TraceID != sent[0].ID.String() || list.Traces[1].TraceID != sent[1].ID.String() {
		t.Fatalf("callee's traces = %+v, want the caller's two %s and %s, newest first", list.Traces, sent[0].ID, sent[1].ID)
	}
	var detail traceDetail
	call(t, "GET", callee.admin+"/dash/api/traces/"+list.Traces[0].TraceID, "", &detail)
	if len(detail.Spans) != 1 || detail.Spans[0].ParentID != sent[0].Spans[0].SpanContext().SpanID().String() {
		t.Errorf("callee's spans = %+v, want its server span under the caller's client span %s", detail.Spans, sent[0].Spans[0].SpanContext().SpanID())
	}
}

func TestTraceErrors(t *testing.T) {
	s := newTraced(t)
	for _, tc := range []struct {
		name, id string
		want     int
	}{
		{"unknown", "4bf92f3577b34da6a3ce929d0e0e4736", http.StatusNotFound},
		{"not hex", "4bf92f3577b34da6a3ce929d0e0e473z", http.StatusBadRequest},
		{"short", "4bf92f", http.StatusBadRequest},
		{"zero", "00000000000000000000000000000000", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := call(t, "GET", s.admin+"/dash/api/traces/"+tc.id, "", nil); code != tc.want || !strings.Contains(body, "/dash/api/traces") {
				t.Errorf("GET /dash/api/traces/%s = %d %s, want %d naming the list", tc.id, code, body, tc.want)
			}
		})
	}
}

// Without WithSpans the list is empty, never null.
func TestTracesWithoutSpans(t *testing.T) {
	f := newFixture(t)
	if code, body := call(t, "GET", f.url+"/dash/api/traces", "", nil); code != http.StatusOK || body != `{"version":1,"capacity":0,"traces":[]}`+"\n" {
		t.Errorf("GET /dash/api/traces = %d %s, want an empty list", code, body)
	}
}
