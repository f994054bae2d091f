package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type edge struct {
	From       string   `json:"from"`
	To         string   `json:"to"`
	Requests   *int     `json:"requests"`
	Errors     *int     `json:"errors"`
	Rejected   *int     `json:"rejected"`
	Rate       *float64 `json:"rate"`
	ErrorRatio *float64 `json:"error_ratio"`
	P50MS      *float64 `json:"p50_ms"`
	P99MS      *float64 `json:"p99_ms"`
}

type topology struct {
	Version       int    `json:"version"`
	WindowSeconds int    `json:"window_seconds"`
	Edges         []edge `json:"edges"`
}

type protection struct {
	Budgets []struct {
		Name      string   `json:"name"`
		Available *float64 `json:"available"`
		Capacity  float64  `json:"capacity"`
		Refused   *uint64  `json:"refused"`
	} `json:"budgets"`
	Rejections []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
		Count  uint64 `json:"count"`
	} `json:"rejections"`
	Bulkheads []struct {
		Name     string `json:"name"`
		InFlight *int   `json:"in_flight"`
		Capacity int    `json:"capacity"`
	} `json:"bulkheads"`
}

// shop is the orders service's telemetry and dashboard, with a discovery
// client of payments, an instance of which serves on loopback: GET /pay
// answers, GET /fail fails as unavailable, GET /hold waits for release.
type shop struct {
	tel      *observability.Telemetry
	dash     string
	pay      func(path string) error
	release  chan struct{}
	holding  chan struct{}
	payments *client.Client
}

func newShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{release: make(chan struct{}), holding: make(chan struct{}, 1)}
	var err error
	s.tel, err = observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pay", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`"paid"`)) })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		thttp.WriteError(w, r, fault.New(fault.Unavailable, "payments is down"))
	})
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		s.holding <- struct{}{}
		<-s.release
		_, _ = w.Write([]byte(`"paid"`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(s.release) })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	reg := memory.New()
	if err := reg.Register(context.Background(), discovery.Instance{ID: "payments-1", Service: "payments", Address: "127.0.0.1", Port: p}); err != nil {
		t.Fatal(err)
	}
	s.payments, err = client.New(reg, "payments", client.WithTelemetry(s.tel), client.WithPolicy(resilience.PolicyConfig{
		Retry:    &resilience.RetryConfig{},
		Breaker:  &resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
		Bulkhead: &resilience.BulkheadConfig{MaxConcurrent: 4},
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.payments.Close() })
	routes := map[string]func(context.Context, any) (any, error){}
	for _, path := range []string{"/pay", "/fail", "/hold"} {
		routes[path] = s.payments.Endpoint(client.HTTPFactory(http.MethodGet, path,
			func(context.Context, *http.Request, any) error { return nil }, thttp.DecodeJSONResponse[string]()))
	}
	s.pay = func(path string) error { _, err := routes[path](context.Background(), nil); return err }

	r := thttp.NewRouter()
	dashboard.Mount(r, s.tel, dashboard.WithService("orders"))
	dash := httptest.NewServer(r)
	t.Cleanup(dash.Close)
	s.dash = dash.URL
	return s
}

// Calls through a discovery client show as an edge from the service to
// the callee: successes, the callee's failures and the calls its open
// breaker refused.
func TestTopology(t *testing.T) {
	s := newShop(t)
	for _, path := range []string{"/pay", "/pay", "/pay", "/fail", "/fail", "/pay"} {
		_ = s.pay(path)
	}
	var got topology
	if code, body := call(t, "GET", s.dash+"/dash/api/topology", "", &got); code != 200 {
		t.Fatalf("GET = %d %s", code, body)
	}
	if got.Version != 1 || got.WindowSeconds != 60 || len(got.Edges) != 1 {
		t.Fatalf("got %+v, want one edge over 60 s", got)
	}
	e := got.Edges[0]
	if e.From != "orders" || e.To != "payments" || e.Requests == nil || *e.Requests != 6 || *e.Errors != 2 || *e.Rejected != 1 ||
		*e.Rate != 6.0/60 || *e.ErrorRatio != 2.0/6 || e.P50MS == nil || *e.P50MS <= 0 || *e.P99MS < *e.P50MS {
		t.Fatalf("edge = %s, want orders → payments: 6 calls, 2 errors, 1 rejected, p99 >= p50 > 0", jsonOf(e))
	}
}

// A discovery client's budget and bulkhead are listed with their state,
// its refusals counted by reason, and so are the service's own refusals.
func TestProtection(t *testing.T) {
	s := newShop(t)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.pay("/hold") })
	<-s.holding
	_ = s.pay("/fail")
	_ = s.pay("/fail")
	for range 2 {
		if err := s.pay("/pay"); !errors.Is(err, resilience.ErrOpen) {
			t.Fatalf("call with the breaker open: %v, want refused", err)
		}
	}

	public := thttp.NewRouter(thttp.WithMiddleware(s.tel.HTTPMiddleware),
		thttp.WithMiddleware(thttp.RateLimit(resilience.NewRateLimiter("orders", resilience.RateLimitConfig{Rate: 0.001, Burst: 1}), nil)))
	public.HandleFunc("GET /v1/orders", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(public)
	defer srv.Close()
	for _, want := range []int{200, 429} {
		if code, body := call(t, "GET", srv.URL+"/v1/orders", "", nil); code != want {
			t.Fatalf("GET /v1/orders = %d %s, want %d", code, body, want)
		}
	}

	var got struct {
		Version int `json:"version"`
		protection
	}
	if code, body := call(t, "GET", s.dash+"/dash/api/protection", "", &got); code != 200 {
		t.Fatalf("GET = %d %s", code, body)
	}
	s.release <- struct{}{}
	wg.Wait()
	if got.Version != 1 {
		t.Errorf("version = %d, want 1", got.Version)
	}
	if len(got.Budgets) != 1 || got.Budgets[0].Name != "payments" || got.Budgets[0].Available == nil || *got.Budgets[0].Available <= 0 || got.Budgets[0].Capacity != 100 || got.Budgets[0].Refused == nil || *got.Budgets[0].Refused != 0 {
		t.Errorf("budgets = %s, want payments' with retries available of 100 and none refused", jsonOf(got.Budgets))
	}
	if want := `[{"name":"payments","reason":"circuit_open","count":2},{"name":"server","reason":"rate_limited","count":1}]`; jsonOf(got.Rejections) != want {
		t.Errorf("rejections = %s, want %s", jsonOf(got.Rejections), want)
	}
	if want := `[{"name":"payments","in_flight":1,"capacity":4}]`; jsonOf(got.Bulkheads) != want {
		t.Errorf("bulkheads = %s, want %s (the held call)", jsonOf(got.Bulkheads), want)
	}
}

// The stream's snapshot carries the service's name and both panels; a
// service that reports nothing answers empty lists, never null.
func TestSnapshotCarriesThePanels(t *testing.T) {
	s := newShop(t)
	_ = s.pay("/pay")
	resp, err := http.Get(s.dash + "/dash/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	name, data := event(t, bufio.NewReader(resp.Body))
	var snap struct {
		Service    string     `json:"service"`
		Edges      []edge     `json:"edges"`
		Protection protection `json:"protection"`
	}
	if err := json.Unmarshal(data, &snap); err != nil || name != "snapshot" {
		t.Fatalf("%s %s: %v", name, data, err)
	}
	if snap.Service != "orders" || len(snap.Edges) != 1 || snap.Edges[0].To != "payments" || *snap.Edges[0].Requests != 1 ||
		len(snap.Protection.Budgets) != 1 || len(snap.Protection.Bulkheads) != 1 || snap.Protection.Rejections == nil {
		t.Fatalf("snapshot = %s, want orders with its edge to payments and payments' budget and bulkhead", data)
	}
}

func TestPanelsAnswerEmptyLists(t *testing.T) {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := thttp.NewRouter()
	dashboard.Mount(r, tel)
	srv := httptest.NewServer(r)
	defer srv.Close()
	for path, want := range map[string]string{
		"/dash/api/topology":   `{"version":1,"window_seconds":60,"edges":[]}` + "\n",
		"/dash/api/protection": `{"version":1,"budgets":[],"rejections":[],"bulkheads":[]}` + "\n",
	} {
		if code, body := call(t, "GET", srv.URL+path, "", nil); code != 200 || body != want {
			t.Errorf("GET %s = %d %s, want %s", path, code, body, want)
		}
	}
	resp, err := http.Get(srv.URL + "/dash/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, data := event(t, bufio.NewReader(resp.Body))
	var snap map[string]json.RawMessage
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	if string(snap["service"]) != `""` || string(snap["edges"]) != "[]" || string(snap["protection"]) != `{"budgets":[],"rejections":[],"bulkheads":[]}` {
		t.Errorf("snapshot = %s, want no service name, no edges and empty protection lists", data)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
