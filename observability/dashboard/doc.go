// Package dashboard serves the JSON API of a service's operations
// dashboard: its breakers, the instances its clients call, its routes'
// traffic, its calls to other services, what protects it and them, and a
// live stream of it all. It reads what an [observability.Telemetry]
// knows: the breakers, clients, retry budgets and bulkheads tracked with
// it ([observability.Telemetry.TrackBreaker],
// [observability.Telemetry.TrackInstances],
// [observability.Telemetry.TrackBudget],
// [observability.Telemetry.TrackBulkhead]; a discovery client made with
// WithTelemetry tracks its own), the calls and requests refused, and,
// when made with [observability.Config.EndpointStats], its routes' and
// its callees' last minute.
//
// Start with [Mount]. A service with an admin address mounts it on its
// admin listener itself (see the service package's Config.AdminAddr), so
// that these routes are never served on the public port and need the
// admin token when one is set:
//
//	dashboard.Mount(adminRouter, tel)
//
// # API
//
// Every body is JSON; every error is application/problem+json. Each
// answer carries "version": 1 ([Version]); a change that is not an
// addition raises it. Durations are milliseconds, as numbers.
//
// GET /dash/api/breakers lists every tracked breaker, by name. A
// discovery client's are named after the service it calls ("payments")
// for its policy's breaker and "service/host:port" for each instance's:
//
//	{"version": 1, "breakers": [{
//	  "name": "payments/127.0.0.1:4567",
//	  "state": "open",              // closed, half-open or open
//	  "override": "auto",           // auto, force-open or force-closed
//	  "requests": 12,               // counted over the breaker's window while closed
//	  "failures": 5,
//	  "consecutive_failures": 5,
//	  "probe_in_ms": 4210.5         // open by its counts: time until a probe; else 0
//	}]}
//
// PUT /dash/api/breakers/{name}/override sets an operator's override on
// every breaker of that name (escape a "/" in the name as %2F) and
// answers its new state as one element of "breakers" above. The body is
//
//	{"override": "force-closed"}    // auto, force-open or force-closed
//
// An unknown breaker is 404; a body that is not that JSON object is 400
// and an unknown override 422. Each change is logged at level Warn with
// the breaker, the override before and after, and the client's address
// and user agent.
//
// GET /dash/api/instances lists, by callee, the instances each client
// has in rotation:
//
//	{"version": 1, "services": [{"service": "payments", "instances": [{
//	  "id": "payments-1", "addr": "127.0.0.1:4567",
//	  "version": "1.4.2",           // "" when the instance did not register one
//	  "ejected": false,             // its breaker is open or it could not be reached
//	  "in_flight": 0,
//	  "latency_ms": 1.8             // the client's estimate; 0 before any answer
//	}]}]}
//
// GET /dash/api/endpoints lists what each route served over the last
// minute ([observability.EndpointWindow]); only routes that served a
// request in that window appear:
//
//	{"version": 1, "window_seconds": 60, "endpoints": [{
//	  "method": "POST", "route": "/v1/orders",
//	  "requests": 120, "errors": 3, // errors: answered 5xx
//	  "rate": 2.0,                  // requests per second over the window
//	  "error_ratio": 0.025,
//	  "p50_ms": 4.5, "p99_ms": 28   // each within 25%
//	}]}
//
// GET /dash/api/topology lists the calls to each callee made through
// [observability.Telemetry.CallMiddleware] (a discovery client's) over
// the last minute ([observability.Telemetry.Calls]), as edges from this
// service ([WithService]); only callees called in that window appear:
//
//	{"version": 1, "window_seconds": 60, "edges": [{
//	  "from": "orders", "to": "payments",
//	  "requests": 120,              // calls, retries and all counting as one
//	  "errors": 3,                  // failed for the callee's reason: unavailable, timed out, internal
//	  "rejected": 0,                // refused by a resilience mechanism, never sent
//	  "rate": 2.0,                  // calls per second over the window
//	  "error_ratio": 0.025,         // errors ÷ requests
//	  "p50_ms": 4.5, "p99_ms": 28   // of the calls sent, each within 25%
//	}]}
//
// GET /dash/api/protection lists the mechanisms that protect the
// service and its callees, each by name (a discovery client's are named
// after the service it calls):
//
//	{"version": 1,
//	 "budgets": [{"name": "payments",
//	   "available": 0.8,            // retries the budget would allow now
//	   "refused": 3}],              // retries and hedges refused since it was made
//	 "rejections": [{"name": "payments",
//	   "reason": "circuit_open",    // circuit_open, bulkhead_full, rate_limited or load_shed
//	   "count": 12}],               // since the service started
//	 "bulkheads": [{"name": "payments", "in_flight": 3, "capacity": 10}]}
//
// Calls refused on the client side are named after the callee; requests
// the service itself refused (transport/http's RateLimit and Shed,
// inside the telemetry's middleware) are named "server".
//
// GET /dash/api/stream is a stream of server-sent events: an event
// "snapshot" at once and then every second ([WithInterval]), whose data
// is the answers above in one object ("version", "at", "service" (see
// [WithService]), "breakers", "services", "endpoints", "window_seconds",
// "edges", and "protection": the protection answer without its
// version), and an event "breaker" on each breaker state change, followed
// by a fresh snapshot:
//
//	event: breaker
//	data: {"version": 1, "breaker": "payments", "from": "closed", "to": "open",
//	       "reason": "after 5 consecutive failures", "at": "2026-12-01T12:00:00Z"}
//
// The stream ends when the client leaves or the request's context ends:
// a service ends it when it stops accepting, at shutdown.
package dashboard
