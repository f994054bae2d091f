package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type Stock struct {
	SKU   string `json:"sku"`
	Count int    `json:"count"`
}

// serveInventory runs an instance of "inventory" on loopback and registers
// it in reg.
func serveInventory(reg *memory.Registry) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(Stock{SKU: r.PathValue("sku"), Count: 7})
	})
	mux.HandleFunc("POST /v1/reservations", func(w http.ResponseWriter, r *http.Request) {
		var s Stock
		_ = json.NewDecoder(r.Body).Decode(&s)
		s.Count = 7 - s.Count
		_ = json.NewEncoder(w).Encode(s)
	})
	srv := httptest.NewServer(mux)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	if err := reg.Register(context.Background(), discovery.Instance{ID: "inventory-1", Service: "inventory", Address: host, Port: p}); err != nil {
		log.Fatal(err)
	}
	return srv.Close
}

// One client per service called; one endpoint per route of it. Both
// routes share the client's instances, breakers and policy.
func ExampleNew() {
	reg := memory.New()
	defer serveInventory(reg)()

	inventory, err := client.New(reg, "inventory",
		client.WithPolicy(resilience.PolicyConfig{Retry: &resilience.RetryConfig{MaxAttempts: 2}}))
	if err != nil {
		log.Fatal(err)
	}
	defer inventory.Close()

	stock := tailor.Call[string, Stock](inventory.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}",
		func(_ context.Context, r *http.Request, sku any) error {
			r.SetPathValue("sku", sku.(string))
			return nil
		},
		thttp.DecodeJSONResponse[Stock]())))
	reserve := tailor.Call[Stock, Stock](inventory.Endpoint(client.HTTPFactory(http.MethodPost, "/v1/reservations",
		thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[Stock]())))

	ctx := resilience.WithIdempotent(context.Background())
	s, err := stock(ctx, "mug")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stock:", s.SKU, s.Count)
	left, err := reserve(context.Background(), Stock{SKU: "mug", Count: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("left after reserving 2:", left.Count)
	// Output:
	// stock: mug 7
	// left after reserving 2: 5
}

// The encoder fills the pattern's {sku} with r.SetPathValue; the factory
// escapes it into the path.
func ExampleHTTPFactory() {
	reg := memory.New()
	defer serveInventory(reg)()
	inventory, err := client.New(reg, "inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer inventory.Close()

	stock := inventory.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}",
		func(_ context.Context, r *http.Request, sku any) error {
			r.SetPathValue("sku", sku.(string))
			return nil
		},
		thttp.DecodeJSONResponse[Stock]()))
	s, err := stock(context.Background(), "blue mug")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q: %d\n", s.(*Stock).SKU, s.(*Stock).Count)
	// Output: "blue mug": 7
}

// A gRPC route: the factory dials each instance that registered with
// Protocol grpc, and newEndpoint makes the call on its connection.
func ExampleGRPCFactory() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := tgrpc.NewServer()
	tgrpc.NewHealth(srv).SetServing(true)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	reg := memory.New()
	if err := reg.Register(context.Background(), discovery.Instance{ID: "catalog-1", Service: "catalog",
		Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: discovery.ProtocolGRPC}); err != nil {
		log.Fatal(err)
	}
	catalog, err := client.New(reg, "catalog")
	if err != nil {
		log.Fatal(err)
	}
	defer catalog.Close()

	check := catalog.Endpoint(client.GRPCFactory(func(cc *grpc.ClientConn) (endpoint.Endpoint, error) {
		return tgrpc.NewClient(cc, healthpb.Health_Check_FullMethodName,
			func(_ context.Context, service string) (*healthpb.HealthCheckRequest, error) {
				return &healthpb.HealthCheckRequest{Service: service}, nil
			},
			func(_ context.Context, reply *healthpb.HealthCheckResponse) (string, error) {
				return reply.GetStatus().String(), nil
			})
	}))
	status, err := check(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status)
	// Output: SERVING
}

// answerID is a factory of endpoints that answer their instance's ID.
func answerID(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
	return func(context.Context, any) (any, error) { return inst.ID, nil }, nil, nil
}

// threeInstances registers a, b and c of "inventory" and returns a client
// of it with a route that answers the instance's ID.
func threeInstances(b client.Balancer) (*client.Client, endpoint.Endpoint) {
	reg := memory.New()
	for k, id := range []string{"a", "b", "c"} {
		if err := reg.Register(context.Background(), discovery.Instance{ID: id, Service: "inventory", Port: 9000 + k}); err != nil {
			log.Fatal(err)
		}
	}
	c, err := client.New(reg, "inventory", client.WithBalancer(b))
	if err != nil {
		log.Fatal(err)
	}
	call := c.Endpoint(answerID)
	for len(c.Instances()) < 3 { // the first list arrives with the first call
		if _, err := call(context.Background(), nil); err != nil {
			log.Fatal(err)
		}
	}
	return c, call
}

// Round robin takes the instances in turn.
func ExampleRoundRobin() {
	c, call := threeInstances(client.RoundRobin())
	defer c.Close()
	seen := map[any]int{}
	for range 6 {
		id, _ := call(context.Background(), nil)
		seen[id]++
	}
	fmt.Println(seen)
	// Output: map[a:2 b:2 c:2]
}

// P2C, the default, sends each call to the less loaded of two instances
// drawn at random.
func ExampleP2C() {
	c, call := threeInstances(client.P2C())
	defer c.Close()
	served := 0
	for range 30 {
		if _, err := call(context.Background(), nil); err == nil {
			served++
		}
	}
	fmt.Println(served, "calls served")
	// Output: 30 calls served
}

// Random picks an instance uniformly at random.
func ExampleRandom() {
	c, call := threeInstances(client.Random())
	defer c.Close()
	id, err := call(context.Background(), nil)
	fmt.Println(id == "a" || id == "b" || id == "c", err)
	// Output: true <nil>
}

// With the service's telemetry, the client's breakers, retries and
// instances reach its metrics.
func ExampleWithTelemetry() {
	reader := sdkmetric.NewManualReader()
	tel, err := observability.New(observability.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(memory.New(), "inventory", client.WithTelemetry(tel))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "tailor.discovery.instances" {
			fmt.Println(m.Name, m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
		}
	}
	// Output: tailor.discovery.instances 0
}

// Two methods of one gRPC service share one connection per instance.
func ExampleNewGRPCConns() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := tgrpc.NewServer()
	tgrpc.NewHealth(srv).SetServing(true)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	reg := memory.New()
	if err := reg.Register(context.Background(), discovery.Instance{ID: "catalog-1", Service: "catalog",
		Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: discovery.ProtocolGRPC}); err != nil {
		log.Fatal(err)
	}
	catalog, err := client.New(reg, "catalog")
	if err != nil {
		log.Fatal(err)
	}
	defer catalog.Close()

	// Two routes, here two endpoints of grpc.health.v1 Check, on one
	// connection to catalog-1.
	conns := client.NewGRPCConns()
	live := catalog.Endpoint(conns.Factory(healthCheck))
	ready := catalog.Endpoint(conns.Factory(healthCheck))
	for _, call := range []endpoint.Endpoint{live, ready} {
		status, err := call(context.Background(), "")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(status)
	}
	// Output:
	// SERVING
	// SERVING
}
