package discovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type Stock struct {
	SKU   string `json:"sku"`
	Count int    `json:"count"`
}

// An instance of "inventory" runs on loopback and is registered in an
// in-process registry; the caller reaches it by name.
func ExampleNewClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(Stock{SKU: r.URL.Query().Get("sku"), Count: 7})
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)

	ctx := context.Background()
	reg := memory.New()
	if err := reg.Register(ctx, discovery.Instance{ID: "inventory-1", Service: "inventory", Address: host, Port: p}); err != nil {
		log.Fatal(err)
	}

	encodeSKU := func(_ context.Context, r *http.Request, request any) error {
		r.URL.RawQuery = "sku=" + request.(string)
		return nil
	}
	inventory, err := discovery.NewClient(reg, "inventory",
		discovery.HTTP(http.MethodGet, "/v1/stock", encodeSKU, thttp.DecodeJSONResponse[Stock]()),
		discovery.WithPolicy(resilience.PolicyConfig{Retry: &resilience.RetryConfig{MaxAttempts: 2}}))
	if err != nil {
		log.Fatal(err)
	}
	defer inventory.Close()

	stock := tailor.Call[string, Stock](inventory.Endpoint())
	s, err := stock(resilience.WithIdempotent(ctx), "mug")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.SKU, s.Count)
	// Output: mug 7
}

// A service registers itself once it is ready and deregisters as soon as
// it starts shutting down, before it stops answering.
func ExampleNewRegistration() {
	reg := memory.New()
	svc, err := service.New(service.Config{Name: "inventory", HTTPAddr: "127.0.0.1:0"},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	registration := discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{ID: "inventory-1", Service: "inventory", Address: "127.0.0.1", Port: svc.HTTPAddr().Port, Version: "1.0.0"}
	})
	svc.Add(registration)

	watch, err := reg.Resolve("inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	events := make(chan sd.Event)
	go watch.Register(events)
	for ev := range events { // Announce registers once the service is ready
		if len(ev.Instances) == 1 {
			break
		}
	}
	watch.Deregister(events)
	st := watch.State()
	fmt.Println("registered:", st.Instances[0].ID, st.Instances[0].Version)

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println("after shutdown:", watch.State().Registered, "registered")
	// Output:
	// registered: inventory-1 1.0.0
	// after shutdown: 0 registered
}
