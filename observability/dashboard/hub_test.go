package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

const hubToken = "hub-test-token"

// startAdmin runs a service called name with an admin listener on
// adminAddr (a loopback address) that asks for hubToken, tracking a
// breaker called "inventory".
func startAdmin(t *testing.T, name, adminAddr string) (*servicetest.Running, *resilience.Breaker) {
	t.Helper()
	svc := servicetest.New(t, service.Config{Name: name, AdminAddr: adminAddr, AdminToken: hubToken})
	tel := svc.Telemetry()
	b := resilience.NewBreaker("inventory", resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
		resilience.WithStateChange(tel.BreakerStateChange))
	t.Cleanup(tel.TrackBreaker(b))
	return servicetest.Start(t, svc), b
}

// register registers s in reg as an instance with ID id naming its admin
// listener, and leaves it registered when s stops, as a crashed process
// stays registered until its health check fails.
func register(t *testing.T, reg *memory.Registry, id string, s *servicetest.Running) {
	t.Helper()
	svc := s.Service()
	inst := discovery.Instance{ID: id, Service: svc.Config().Name, Port: svc.HTTPAddr().Port}.WithAdmin(svc.AdminAddr())
	if err := reg.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
}

// hubFixture is two services, orders and payments, registered in a
// memory registry, and a hub over them served on loopback.
type hubFixture struct {
	reg              *memory.Registry
	orders, payments *servicetest.Running
	ordersBreaker    *resilience.Breaker
	url              string
}

func newHubFixture(t *testing.T, token string) *hubFixture {
	t.Helper()
	f := &hubFixture{reg: memory.New()}
	f.orders, f.ordersBreaker = startAdmin(t, "orders", "127.0.0.1:0")
	f.payments, _ = startAdmin(t, "payments", "127.0.0.1:0")
	register(t, f.reg, "orders-1", f.orders)
	register(t, f.reg, "payments-1", f.payments)
	hub, err := dashboard.NewHub(dashboard.HubConfig{
		Resolver: f.reg, Services: []string{"orders", "payments"}, Token: token,
		Reconnect: 20 * time.Millisecond, Refresh: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

type target struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Base    string `json:"base"`
	Up      bool   `json:"up"`
	Addr    string `json:"addr"`
	Error   string `json:"error"`
}

type targetsAnswer struct {
	Version int      `json:"version"`
	Targets []target `json:"targets"`
}

// send makes a request to url with the bearer token (none when token is
// empty) and returns the status, content type and body.
func send(t *testing.T, method, url, token, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func targets(t *testing.T, url, token string) map[string]target {
	t.Helper()
	status, _, body := send(t, "GET", url+"/dash/api/targets", token, "")
	if status != http.StatusOK {
		t.Fatalf("GET /dash/api/targets: %d %s", status, body)
	}
	var a targetsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	if a.Version != 1 {
		t.Errorf("version = %d, want 1", a.Version)
	}
	out := map[string]target{}
	for _, tg := range a.Targets {
		out[tg.ID] = tg
	}
	return out
}

func TestHubTargets(t *testing.T) {
	f := newHubFixture(t, hubToken)
	if status, ct, body := send(t, "GET", f.url+"/dash/api/targets", "", ""); status != http.StatusUnauthorized || ct != "application/problem+json" {
		t.Errorf("without the token: %d %s %s, want 401 problem", status, ct, body)
	}
	got := targets(t, f.url, hubToken)
	for id, service := range map[string]string{"orders-1": "orders", "payments-1": "payments"} {
		tg, ok := got[id]
		if !ok {
			t.Fatalf("no target %q in %v", id, got)
		}
		if tg.Service != service || tg.Base != "api/t/"+id || !tg.Up || tg.Error != "" {
			t.Errorf("target %q = %+v, want service %s, base api/t/%s, up", id, tg, service, id)
		}
	}
	if len(got) != 2 {
		t.Errorf("got %d targets, want 2: %v", len(got), got)
	}
	// A second instance of orders, registered with no admin address, is
	// listed down, saying why.
	err := f.reg.Register(context.Background(), discovery.Instance{ID: "orders-2", Service: "orders", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	tg := targets(t, f.url, hubToken)["orders-2"]
	if tg.Up || !strings.Contains(tg.Error, `Meta["admin"]`) {
		t.Errorf("an instance without an admin address: %+v, want down, naming Meta[\"admin\"]", tg)
	}
}

func TestHubProxiesWithTheToken(t *testing.T) {
	f := newHubFixture(t, hubToken)
	status, _, body := send(t, "GET", f.url+"/dash/api/t/orders-1/breakers", hubToken, "")
	if status != http.StatusOK || !strings.Contains(string(body), `"name":"inventory"`) {
		t.Fatalf("GET through the hub: %d %s, want orders' breakers", status, body)
	}
	status, _, body = send(t, "PUT", f.url+"/dash/api/t/orders-1/breakers/inventory/override", hubToken, `{"override":"force-open"}`)
	if status != http.StatusOK || !strings.Contains(string(body), `"state":"open"`) {
		t.Fatalf("PUT through the hub: %d %s, want the breaker open", status, body)
	}
	if st := f.ordersBreaker.Status(); st.Override != resilience.OverrideForceOpen {
		t.Errorf("orders' breaker override = %v, want force-open", st.Override)
	}
	if status, _, body := send(t, "PUT", f.url+"/dash/api/t/orders-1/breakers/inventory/override", hubToken, `{"override":"sideways"}`); status != http.StatusUnprocessableEntity {
		t.Errorf("a bad override through the hub: %d %s, want the target's 422", status, body)
	}
	// The API explorer's POST reaches the service's own routes.
	status, _, body = send(t, "POST", f.url+"/dash/api/t/orders-1/try", hubToken, `{"method":"GET","path":"/healthz"}`)
	if status != http.StatusOK || !strings.Contains(string(body), `"status":200`) {
		t.Errorf("POST try through the hub: %d %s, want the orders' /healthz answered 200", status, body)
	}
	if status, ct, body := send(t, "GET", f.url+"/dash/api/t/nobody/breakers", hubToken, ""); status != http.StatusNotFound || ct != "application/problem+json" {
		t.Errorf("an unknown target: %d %s %s, want 404 problem", status, ct, body)
	}
	if status, _, _ := send(t, "GET", f.url+"/dash/api/t/orders-1/breakers", "", ""); status != http.StatusUnauthorized {
		t.Errorf("through the hub without the token: %d, want 401", status)
	}
}

func TestHubWithoutTheTargetsToken(t *testing.T) {
	f := newHubFixture(t, "")
	if status, _, body := send(t, "GET", f.url+"/dash/api/t/orders-1/breakers", "", ""); status != http.StatusUnauthorized {
		t.Errorf("a hub without the services' token: %d %s, want their 401", status, body)
	}
	tg := targets(t, f.url, "")["orders-1"]
	if tg.Up || !strings.Contains(tg.Error, "401") {
		t.Errorf("target = %+v, want down, saying the token was refused", tg)
	}
	// The client's own Authorization is not passed on.
	if status, _, _ := send(t, "GET", f.url+"/dash/api/t/orders-1/breakers", hubToken, ""); status != http.StatusUnauthorized {
		t.Errorf("a client's token through a hub with none: %d, want 401", status)
	}
}

// stream opens url's merged stream and returns a reader of its events.
func stream(t *testing.T, url string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/dash/api/stream", nil)
	req.Header.Set("Authorization", "Bearer "+hubToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return bufio.NewReader(resp.Body)
}

type streamEvent struct {
	Target  string `json:"target"`
	Service string `json:"service"`
	Up      bool   `json:"up"`
	Error   string `json:"error"`
	Breaker string `json:"breaker"`
	To      string `json:"to"`
}

// until reads events until ok says one is the one wanted.
func until(t *testing.T, r *bufio.Reader, what string, ok func(name string, e streamEvent) bool) {
	t.Helper()
	deadline := time.AfterFunc(10*time.Second, func() { t.Errorf("the stream never had %s", what) })
	defer deadline.Stop()
	for {
		name, data := event(t, r)
		var e streamEvent
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("event %s: %v in %s", name, err, data)
		}
		if e.Target == "" || e.Service == "" {
			t.Fatalf("event %s without target or service: %s", name, data)
		}
		if ok(name, e) {
			return
		}
	}
}

func TestHubMergesStreams(t *testing.T) {
	f := newHubFixture(t, hubToken)
	r := stream(t, f.url)
	seen := map[string]string{}
	until(t, r, "a snapshot of each target", func(name string, e streamEvent) bool {
		if name == "snapshot" {
			seen[e.Target] = e.Service
		}
		return len(seen) == 2
	})
	if seen["orders-1"] != "orders" || seen["payments-1"] != "payments" {
		t.Errorf("snapshots from %v, want orders-1 (orders) and payments-1 (payments)", seen)
	}
	status, _, body := send(t, "PUT", f.url+"/dash/api/t/orders-1/breakers/inventory/override", hubToken, `{"override":"force-open"}`)
	if status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	until(t, r, "orders' breaker opening", func(name string, e streamEvent) bool {
		return name == "breaker" && e.Target == "orders-1" && e.Breaker == "inventory" && e.To == "open"
	})
}

func TestHubTargetDownAndBack(t *testing.T) {
	f := newHubFixture(t, hubToken)
	r := stream(t, f.url)
	until(t, r, "a snapshot of payments", func(name string, e streamEvent) bool {
		return name == "snapshot" && e.Target == "payments-1"
	})
	adminAddr := f.payments.Service().AdminAddr().String()
	if err := f.payments.Stop(); err != nil {
		t.Fatal(err)
	}

	tg := targets(t, f.url, hubToken)["payments-1"]
	if tg.Up || !strings.Contains(tg.Error, adminAddr) {
		t.Errorf("a stopped target: %+v, want down, naming %s", tg, adminAddr)
	}
	if !targets(t, f.url, hubToken)["orders-1"].Up {
		t.Error("orders is down too; want up")
	}
	status, ct, body := send(t, "GET", f.url+"/dash/api/t/payments-1/breakers", hubToken, "")
	if status != http.StatusBadGateway || ct != "application/problem+json" || !strings.Contains(string(body), adminAddr) {
		t.Errorf("through the hub to a stopped target: %d %s %s, want a 502 problem naming %s", status, ct, body, adminAddr)
	}
	until(t, r, "payments going down", func(name string, e streamEvent) bool {
		return name == "target" && e.Target == "payments-1" && !e.Up && e.Error != ""
	})

	// A new process on the same admin address.
	startAdmin(t, "payments", adminAddr)
	if tg := targets(t, f.url, hubToken)["payments-1"]; !tg.Up {
		t.Errorf("the restarted target: %+v, want up", tg)
	}
	until(t, r, "payments coming back", func(name string, e streamEvent) bool {
		return name == "target" && e.Target == "payments-1" && e.Up
	})
	until(t, r, "a snapshot of the restarted payments", func(name string, e streamEvent) bool {
		return name == "snapshot" && e.Target == "payments-1"
	})
}

func TestHubStaticTargets(t *testing.T) {
	gw, _ := startAdmin(t, "gateway", "127.0.0.1:0")
	addr := gw.Service().AdminAddr().String()
	hub, err := dashboard.NewHub(dashboard.HubConfig{Targets: []dashboard.Target{{ID: "gateway", Addr: addr}}, Token: hubToken})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	tg := targets(t, srv.URL, hubToken)["gateway"]
	if !tg.Up || tg.Service != "gateway" || tg.Addr != addr || tg.Base != "api/t/gateway" {
		t.Errorf("static target = %+v, want gateway up at %s", tg, addr)
	}

	for _, bad := range [][]dashboard.Target{{{ID: "x"}}, {{Addr: addr}, {Addr: addr}}} {
		if _, err := dashboard.NewHub(dashboard.HubConfig{Targets: bad}); err == nil {
			t.Errorf("NewHub with targets %+v: no error", bad)
		}
	}
	if _, err := dashboard.NewHub(dashboard.HubConfig{Services: []string{"orders"}}); err == nil {
		t.Error("NewHub with services and no resolver: no error")
	}
}

func TestMountTargetsItself(t *testing.T) {
	f := newFixture(t, dashboard.WithService("orders"), dashboard.WithInterval(20*time.Millisecond))
	var got targetsAnswer
	if status, body := call(t, "GET", f.url+"/dash/api/targets", "", &got); status != http.StatusOK {
		t.Fatalf("GET /dash/api/targets: %d %s", status, body)
	}
	want := target{ID: "orders", Service: "orders", Base: "api", Up: true}
	if got.Version != 1 || len(got.Targets) != 1 || got.Targets[0] != want {
		t.Errorf("targets = %+v, want version 1 and only %+v", got, want)
	}
	r := stream(t, f.url)
	name, data := event(t, r)
	var e streamEvent
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	if name != "snapshot" || e.Target != "orders" || e.Service != "orders" {
		t.Errorf("first event %s %s, want a snapshot with target and service orders", name, data)
	}
}
