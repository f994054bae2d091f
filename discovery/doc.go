// Package discovery holds the contracts of service discovery: what an
// instance of a service is, and how a registry registers and watches
// instances. It imports no transport and no resilience mechanism, so a
// registry backend built on it compiles only what it needs.
//
// Start with [Instance], one registered copy of a service: its ID, name,
// address, port, tags and metadata (version, zone, [Protocol]). A
// [Registrar] registers and deregisters instances; a [Resolver] watches a
// service's healthy instances and hands back an [Instancer], which is
// go-kit's sd.Instancer plus the latest [State], so go-kit's
// sd.NewEndpointer and lb keep working unchanged. Two backends implement
// both: [github.com/tailorkit/tailor/discovery/consul] on a real Consul
// agent, and [github.com/tailorkit/tailor/discovery/memory] in-process,
// for a single binary and for tests.
// [github.com/tailorkit/tailor/discovery/dns] is a Resolver only: it reads
// instances from DNS SRV or A/AAAA records, for Kubernetes, where the
// platform registers each pod behind a headless Service.
//
// A service announces itself with a [Registration], a component for
// [github.com/tailorkit/tailor/service]: it registers once the service is
// ready and deregisters as soon as the service starts draining, before the
// listeners stop accepting, so callers stop sending first.
//
// An instance names its admin listener, for a dashboard hub to find, in
// Meta under [MetaAdmin]: see [Instance.WithAdmin].
//
// Callers call a service by name with
// [github.com/tailorkit/tailor/discovery/client], which balances calls
// over the instances a Resolver reports.
//
// Wiring, in main:
//
//	reg, err := consul.New(consul.Config{}) // the CONSUL_* environment
//	...
//	svc.Add(discovery.NewRegistration(reg, func() discovery.Instance {
//		return discovery.Instance{Service: "orders", Port: svc.HTTPAddr().Port}
//	}))
//	inventory, err := client.New(reg, "inventory", client.WithTelemetry(tel))
//	...
//	stock := tailor.Call[StockRequest, Stock](inventory.Endpoint(
//		client.HTTPFactory("GET", "/v1/stock/{sku}", encodeSKU, thttp.DecodeJSONResponse[Stock]())))
package discovery
