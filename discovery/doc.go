// Package discovery finds the instances of a service and calls them by name.
//
// It has three parts, each usable alone:
//
//   - Contracts. An [Instance] is one registered copy of a service: its ID,
//     name, address, port, tags and metadata (version, zone, protocol).
//     A [Registrar] registers and deregisters instances; a [Resolver] watches
//     a service's healthy instances and hands back an [Instancer], which is
//     go-kit's sd.Instancer plus the latest [State], so go-kit's
//     sd.NewEndpointer and lb keep working unchanged. Two backends implement
//     both: [github.com/tailorkit/tailor/discovery/consul] on a real Consul
//     agent, and [github.com/tailorkit/tailor/discovery/memory] in-process,
//     for a single binary and for tests.
//
//   - Balancing. A [Balancer] picks one [Node] per call: [P2C] (the default:
//     power of two random choices over a peak-EWMA of latency times the
//     calls in flight), [RoundRobin] and [Random].
//
//   - The client. [NewClient] gives one go-kit endpoint that calls a service
//     by name:
//
//     resilience.Policy ▸ balancer ▸ per-instance breaker ▸ transport
//
//     Every instance has its own [resilience.Breaker]: one that opens takes
//     the instance out of rotation (outlier ejection) until a probe succeeds,
//     without waiting for the registry's health check. A retry made by the
//     policy goes to an instance the call has not tried yet. Build the
//     transport side with [HTTP] or [GRPC].
//
// A service announces itself with a [Registration], a component for
// [github.com/tailorkit/tailor/service]: it registers once the service is
// ready and deregisters as soon as the service starts draining, before the
// listeners stop accepting, so callers stop sending first.
//
// Wiring, in main:
//
//	reg, err := consul.New(consul.Config{}) // the CONSUL_* environment
//	...
//	svc.Add(discovery.NewRegistration(reg, func() discovery.Instance {
//		return discovery.Instance{Service: "orders", Port: svc.HTTPAddr().Port}
//	}))
//	inventory, err := discovery.NewClient(reg, "inventory",
//		discovery.HTTP("GET", "/v1/stock", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[Stock]()))
//	...
//	stock := tailor.Call[StockRequest, Stock](inventory.Endpoint())
package discovery
