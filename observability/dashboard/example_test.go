package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

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
