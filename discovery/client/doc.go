// Package client calls a service by name: it watches the service's
// instances through a [discovery.Resolver], balances calls over them with
// a circuit breaker per instance, and wraps every call in a resilience
// policy. It holds the balancers and the HTTP and gRPC transport
// factories too, so that registry backends, which need only package
// discovery's contracts, never compile a transport.
//
// Start with [New]: one [Client] per service called, then one endpoint
// per route of that service with [Client.Endpoint] and a [Factory] made
// by [HTTPFactory] or [GRPCFactory] (or by a [GRPCConns], so gRPC routes
// share one connection per instance). Every route shares the client's one
// watch, balancer, per-instance breakers and policy:
//
//	inventory, err := client.New(reg, "inventory", client.WithTelemetry(tel))
//	...
//	defer inventory.Close()
//	stock := tailor.Call[string, Stock](inventory.Endpoint(
//		client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}", encodeSKU, thttp.DecodeJSONResponse[Stock]())))
//	reserve := tailor.Call[Reservation, Stock](inventory.Endpoint(
//		client.HTTPFactory(http.MethodPost, "/v1/reservations", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[Stock]())))
//
// A call runs, in order:
//
//	resilience.Policy ▸ balancer ▸ per-instance breaker ▸ transport
//
// The balancers are [P2C] (the default: power of two random choices over
// a peak-EWMA of latency times the calls in flight), [RoundRobin] and
// [Random]; each picks one [Node]. Every instance has its own
// [resilience.Breaker]: one that opens takes the instance out of rotation
// (outlier ejection) until a probe succeeds, without waiting for the
// registry's health check, and one that refuses a call sends it on to
// another instance at once, as does an instance that cannot be reached
// (its connection refused: the request was never sent, so it is safe to
// send elsewhere, whatever it does); such an instance is out of rotation
// for [UnreachableFor]. A retry made by the policy goes to an
// instance the call has not tried yet. [WithTelemetry] reports all of it
// as metrics and logs.
package client
