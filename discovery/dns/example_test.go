package dns_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/dns"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// On Kubernetes, with a headless Service per service in the namespace
// "shop": inventory's pods are the SRV records of its port named "http",
// _http._tcp.inventory.shop.svc.cluster.local; payments, which serves
// gRPC on a port named "grpc", is asked for the records of that port.
func ExampleNew() {
	reg, err := dns.New(dns.Config{
		Name: func(service string) string {
			if service == "payments" {
				return "_grpc._tcp.payments.shop.svc.cluster.local"
			}
			return service + ".shop.svc.cluster.local"
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	inventory, err := client.New(reg, "inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer inventory.Close()
	stock := inventory.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}",
		thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]any]()))
	_ = stock // wrap, adapt with tailor.Call, and call
}

// A name that is an address with a port needs no DNS server: a program run
// on one machine can find its services at fixed ports.
func ExampleResolver_Resolve() {
	ports := map[string]string{"inventory": "127.0.0.1:8081", "orders": "127.0.0.1:8082"}
	reg, err := dns.New(dns.Config{Name: func(service string) string { return ports[service] }})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	watch, err := reg.Resolve("inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()
	events := make(chan sd.Event, 1)
	watch.Register(events) // the current state at once, then each change
	defer watch.Deregister(events)
	for range events {
		if st := watch.State(); !st.Updated.IsZero() || st.Err != nil {
			fmt.Println(st.Instances[0].ID, st.Event().Instances, st.Err)
			break
		}
	}
	// Output: inventory-127.0.0.1-8081 [127.0.0.1:8081] <nil>
}
