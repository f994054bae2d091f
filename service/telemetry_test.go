package service_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// syncBuffer is a log destination safe for the concurrent writes of a
// server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hop is one service of the three-hop test.
type hop struct {
	svc  *service.Service
	logs *syncBuffer
}

func newHop(t *testing.T, name string, spans *tracetest.InMemoryExporter) *hop {
	t.Helper()
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName:  name,
		SpanExporter: keepSpans{spans},
		Sampler:      sdktrace.AlwaysSample(),
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	svc, err := service.New(service.Config{Name: name, HTTPAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))), service.WithTelemetry(tel), service.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	return &hop{svc: svc, logs: logs}
}

type order struct {
	SKU    string `json:"sku"`
	Status string `json:"status"`
}

// TestThreeHopTrace runs gateway -> orders -> inventory over real HTTP,
// each a service with its own providers writing to one in-memory
// exporter. Inventory fails; orders reports it; the gateway falls back.
// The request must be one trace with correct parentage, the error status
// on the hops that failed, and the trace id in each hop's logs.
func TestThreeHopTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	inventory := newHop(t, "inventory", spans)
	inventory.svc.Router().Handle("POST /v1/reservations/{sku}", thttp.NewServer(
		tailor.Endpoint(func(ctx context.Context, _ struct{}) (order, error) {
			inventory.svc.Logger().InfoContext(ctx, "reserving")
			return order{}, fault.Wrap(errorString("stock table locked"), fault.Internal, "cannot reserve")
		}),
		thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK), thttp.ServerErrorLogger(inventory.svc.Logger()),
	))
	waitInventory := start(t, inventory.svc, ctx)

	orders := newHop(t, "orders", spans)
	reserve, err := thttp.NewClient("POST", "http://"+inventory.svc.HTTPAddr().String()+"/v1/reservations/mug",
		thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[order](), orders.svc.Telemetry().HTTPClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	orders.svc.Router().Handle("POST /v1/orders", thttp.NewServer(
		tailor.Endpoint(func(ctx context.Context, o order) (order, error) {
			orders.svc.Logger().InfoContext(ctx, "placing order", "sku", o.SKU)
			if _, err := reserve(ctx, struct{}{}); err != nil {
				return order{}, fault.Wrap(err, fault.Unavailable, "inventory cannot reserve stock now")
			}
			return o, nil
		}),
		thttp.DecodeJSON[order](), thttp.EncodeJSON(http.StatusCreated), thttp.ServerErrorLogger(orders.svc.Logger()),
	))
	waitOrders := start(t, orders.svc, ctx)

	gateway := newHop(t, "gateway", spans)
	place, err := thttp.NewClient("POST", "http://"+orders.svc.HTTPAddr().String()+"/v1/orders",
		thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[order](), gateway.svc.Telemetry().HTTPClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	gateway.svc.Router().Handle("POST /checkout/{sku}", thttp.NewServer(
		tailor.Endpoint(func(ctx context.Context, _ struct{}) (order, error) {
			gateway.svc.Logger().InfoContext(ctx, "checking out")
			if _, err := place(ctx, order{SKU: "mug"}); err != nil {
				gateway.svc.Logger().WarnContext(ctx, "orders failed; order left pending", "error", err.Error())
				return order{SKU: "mug", Status: "pending"}, nil
			}
			return order{SKU: "mug", Status: "placed"}, nil
		}),
		thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK),
	))
	waitGateway := start(t, gateway.svc, ctx)

	resp, err := http.Post("http://"+gateway.svc.HTTPAddr().String()+"/checkout/mug", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200 (the gateway's fallback)", resp.StatusCode)
	}
	cancel()
	// Each Run flushes its spans as it shuts its telemetry down.
	for _, wait := range []func() error{waitGateway, waitOrders, waitInventory} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}

	// Index the spans by service and kind.
	type key struct {
		service string
		kind    trace.SpanKind
	}
	got := map[key]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		name, _ := s.Resource.Set().Value("service.name")
		if s.Name == "GET /healthz" || s.Name == "GET /readyz" {
			continue
		}
		got[key{name.AsString(), s.SpanKind}] = s
	}
	want := []struct {
		key
		name   string
		parent key
		status codes.Code
	}{
		{key{"gateway", trace.SpanKindServer}, "POST /checkout/{sku}", key{}, codes.Unset},
		{key{"gateway", trace.SpanKindClient}, "POST", key{"gateway", trace.SpanKindServer}, codes.Error},
		{key{"orders", trace.SpanKindServer}, "POST /v1/orders", key{"gateway", trace.SpanKindClient}, codes.Error},
		{key{"orders", trace.SpanKindClient}, "POST", key{"orders", trace.SpanKindServer}, codes.Error},
		{key{"inventory", trace.SpanKindServer}, "POST /v1/reservations/{sku}", key{"orders", trace.SpanKindClient}, codes.Error},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d spans %v, want %d", len(got), got, len(want))
	}
	traceID := got[want[0].key].SpanContext.TraceID()
	for _, w := range want {
		s, ok := got[w.key]
		if !ok {
			t.Errorf("no %v span from %s", w.kind, w.service)
			continue
		}
		if s.Name != w.name {
			t.Errorf("%s %v: got name %q, want %q", w.service, w.kind, s.Name, w.name)
		}
		if s.SpanContext.TraceID() != traceID {
			t.Errorf("%s %v: got trace %s, want %s", w.service, w.kind, s.SpanContext.TraceID(), traceID)
		}
		wantParent := trace.SpanID{}
		if w.parent != (key{}) {
			wantParent = got[w.parent].SpanContext.SpanID()
		}
		if s.Parent.SpanID() != wantParent {
			t.Errorf("%s %v: got parent %s, want %s (%v)", w.service, w.kind, s.Parent.SpanID(), wantParent, w.parent)
		}
		if s.Status.Code != w.status {
			t.Errorf("%s %v: got status %v, want %v", w.service, w.kind, s.Status.Code, w.status)
		}
	}
	for _, h := range []*hop{gateway, orders, inventory} {
		logs := h.logs.String()
		if !strings.Contains(logs, `"trace_id":"`+traceID.String()+`"`) {
			t.Errorf("%s: its logs do not name trace %s:\n%s", h.svc.Config().Name, traceID, logs)
		}
	}
}

// keepSpans keeps the spans of an in-memory exporter past its shutdown,
// which would otherwise forget them, so the test reads them after Run.
type keepSpans struct{ *tracetest.InMemoryExporter }

func (keepSpans) Shutdown(context.Context) error { return nil }

type errorString string

func (e errorString) Error() string { return string(e) }

// A Run that cannot bind its listener still shuts down the telemetry it
// was given, so nothing outlives the failed service.
func TestFailedListenShutsDownTelemetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tel, err := telemetry.New(context.Background(), telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, service.Config{HTTPAddr: ln.Addr().String()}, service.WithTelemetry(tel))
	if err := svc.Run(context.Background()); err == nil {
		t.Fatal("Run on a port in use = nil, want an error")
	}
	if err := tel.Shutdown(context.Background()); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Fatalf("shutting the telemetry down again = %v, want %v: Run left it running", err, sdkmetric.ErrReaderShutdown)
	}
}

// Without WithTelemetry a service has no providers: no /metrics, no
// spans, but health and logs.
func TestNoTelemetry(t *testing.T) {
	s := servicetest.Start(t, servicetest.New(t, service.Config{}))
	base := s.URL()
	if code, _ := get(t, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics without telemetry = %d, want 404", code)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", code)
	}
	if _, span := s.Service().Telemetry().Tracer().Start(context.Background(), "x"); span.IsRecording() {
		t.Error("got a recording span without telemetry, want a no-op one")
	}
}

// TestRouteBehindACopyingMiddleware: a middleware that passes on a copy of
// the request, as token verification does with r.WithContext, keeps the
// span and the endpoint statistics named by the route that matched, not
// by the bare method with an empty route.
func TestRouteBehindACopyingMiddleware(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(context.Background(), telemetry.Config{
		ServiceName:  "things",
		SpanExporter: keepSpans{spans},
		Sampler:      sdktrace.AlwaysSample(),
	})
	if err != nil {
		t.Fatal(err)
	}
	type mark struct{}
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mark{}, true)))
		})
	}
	// The admin listener keeps the endpoint statistics.
	svc, err := service.New(service.Config{Name: "things", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.DiscardHandler)), service.WithTelemetry(tel), service.WithoutSignals(),
		service.WithHTTPMiddleware(copying))
	if err != nil {
		t.Fatal(err)
	}
	svc.Router().HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(mark{}) == nil {
			t.Error("the handler did not get the middleware's copy")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	resp, err := http.Get("http://" + svc.HTTPAddr().String() + "/v1/things/42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var routes []string
	for _, e := range svc.Telemetry().Endpoints(time.Now()) {
		routes = append(routes, e.Method+" "+e.Route)
	}
	if !slices.Contains(routes, "GET /v1/things/{id}") {
		t.Errorf("endpoint statistics: got routes %q, want GET /v1/things/{id}", routes)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range spans.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			names = append(names, s.Name)
		}
	}
	if !slices.Contains(names, "GET /v1/things/{id}") {
		t.Errorf("server spans: got %q, want one named GET /v1/things/{id}", names)
	}
}
