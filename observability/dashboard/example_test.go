package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The dashboard's API on a router of its own, reading a telemetry that
// tracks one breaker. A service mounts it on its admin listener itself.
func ExampleMount() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := resilience.NewBreaker("payments", resilience.BreakerConfig{})
	untrack := tel.TrackBreaker(b)
	defer untrack()

	admin := thttp.NewRouter()
	dashboard.Mount(admin, tel)
	srv := httptest.NewServer(admin)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/dash/api/breakers")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// {"version":1,"breakers":[{"name":"payments","state":"closed","override":"auto","requests":0,"failures":0,"consecutive_failures":0,"probe_in_ms":0}]}
}

// The API explorer tries a request on the service's public router, in
// this process. A service passes its router itself.
func ExampleWithAPI() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	public := thttp.NewRouter()
	public.HandleFunc("GET /v1/products", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `[{"id":"mug"}]`)
	})
	admin := thttp.NewRouter()
	dashboard.Mount(admin, tel, dashboard.WithAPI(public))
	srv := httptest.NewServer(admin)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/dash/api/try", "application/json", strings.NewReader(`{"method":"GET","path":"/v1/products"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var answer struct {
		Status int
		Body   string
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(answer.Status, answer.Body)
	// Output: 200 [{"id":"mug"}]
}

// A hub over a memory registry in which one service registered its admin
// listener: it lists the instance as a target and passes requests on to
// it under its base.
func ExampleNewHub() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	admin := thttp.NewRouter()
	dashboard.Mount(admin, tel, dashboard.WithService("orders"))
	orders := httptest.NewServer(admin) // the orders' admin listener
	defer orders.Close()
	addr := orders.Listener.Addr().(*net.TCPAddr)

	reg := memory.New()
	inst := discovery.Instance{ID: "orders-1", Service: "orders", Port: 8080}.WithAdmin(addr)
	if err := reg.Register(context.Background(), inst); err != nil {
		fmt.Println(err)
		return
	}
	hub, err := dashboard.NewHub(dashboard.HubConfig{Resolver: reg, Services: []string{"orders"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()

	for _, path := range []string{"/dash/api/targets", "/dash/api/t/orders-1/breakers"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(strings.Replace(string(body), addr.String(), "127.0.0.1:PORT", 1))
	}
	// Output:
	// {"version":1,"targets":[{"id":"orders-1","service":"orders","base":"api/t/orders-1","up":true,"addr":"127.0.0.1:PORT"}]}
	// {"version":1,"breakers":[]}
}

// A service names its dashboard: the topology's edges go from it to the
// services its clients call.
func ExampleWithService() {
	tel, err := observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	pay := tel.CallMiddleware("payments")(func(context.Context, any) (any, error) { return "paid", nil })
	_, _ = pay(context.Background(), nil)

	admin := thttp.NewRouter()
	dashboard.Mount(admin, tel, dashboard.WithService("orders"))
	srv := httptest.NewServer(admin)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/dash/api/topology")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var topology struct {
		Edges []struct {
			From, To string
			Requests int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&topology); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range topology.Edges {
		fmt.Printf("%s → %s, requests: %d\n", e.From, e.To, e.Requests)
	}
	// Output:
	// orders → payments, requests: 1
}
