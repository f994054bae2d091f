// Package dashboard serves the JSON API of a service's operations
// dashboard: its breakers, the instances its clients call, its routes'
// traffic, and a live stream of all three. It reads what an
// [observability.Telemetry] knows: the breakers and clients tracked with
// it ([observability.Telemetry.TrackBreaker],
// [observability.Telemetry.TrackInstances]; a discovery client made with
// WithTelemetry tracks its own) and, when made with
// [observability.Config.EndpointStats], its routes' last minute.
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
// GET /dash/api/stream is a stream of server-sent events: an event
// "snapshot" at once and then every second ([WithInterval]), whose data
// is the three answers above in one object ("version", "at",
// "breakers", "services", "endpoints", "window_seconds"), and an event
// "breaker" on each breaker state change, followed by a fresh snapshot:
//
//	event: breaker
//	data: {"version": 1, "breaker": "payments", "from": "closed", "to": "open",
//	       "reason": "after 5 consecutive failures", "at": "2026-12-01T12:00:00Z"}
//
// The stream ends when the client leaves or the request's context ends:
// a service ends it when it stops accepting, at shutdown.
//
// GET /dash/api/targets answers the one target a service is, itself,
// whose API is under the base "api" ([WithService] names it; each event
// of its stream then carries "target" and "service", that name):
//
//	{"version": 1, "targets": [{"id": "orders", "service": "orders", "base": "api", "up": true}]}
//
// # Hub
//
// A [Hub] is the dashboard of several services: `tailor dash`, and the
// one-process shop's -dash-addr. [NewHub] watches services in a
// registry ([HubConfig].Resolver and Services); each instance that names
// its admin listener in its registration ([discovery.Instance.WithAdmin],
// Meta key [discovery.MetaAdmin]) is a target, as is each static
// [Target], such as a gateway that does not register. With DNS, the SRV
// records of a Kubernetes Service port named "admin",
// _admin._tcp.<service>, are the admin listeners themselves: give
// [HubConfig].AdminAddr as [discovery.Instance.HostPort]. The hub serves:
//
// GET /dash/api/targets lists the targets, each checked at once (GET
// /dash/api/breakers within [HubConfig].Timeout); "error" says why one is
// down:
//
//	{"version": 1, "targets": [{"id": "orders-10.0.0.7-8080", "service": "orders",
//	  "base": "api/t/orders-10.0.0.7-8080", "up": false, "addr": "10.0.0.7:9100",
//	  "error": "cannot reach its admin listener at 10.0.0.7:9100: connection refused"}]}
//
// GET and PUT /dash/api/t/{id}/... are passed on to the target's
// /dash/api/..., with the hub's token in place of the client's, bodies
// up to 1 MiB, bounded by Timeout (but a stream). A target that cannot be
// reached is a 502 problem naming it and its address; an unknown one 404.
//
// GET /dash/api/stream merges the streams of every target: each event's
// data gains "target" (its id) and, when it has none, "service". An event
// "target" says when a target's stream is cut and when it is back:
//
//	event: target
//	data: {"version": 1, "target": "orders-1", "service": "orders", "up": false,
//	       "error": "its stream at 10.0.0.7:9100 ended", "at": "2026-12-01T12:00:00Z"}
//
// A target whose stream ends is reconnected after [HubConfig].Reconnect;
// targets that come and go are picked up every [HubConfig].Refresh. The
// merged stream ends when the client leaves.
//
// With [HubConfig].Token set, every /dash/api/ route of the hub asks for
// it (Authorization: Bearer, as the services' admin listeners do) and
// the hub sends it to the targets. [Hub.Router] takes further routes,
// such as the page's, which need no token.
package dashboard
