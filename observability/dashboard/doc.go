// Package dashboard serves a service's operations dashboard, a page and
// its JSON API: its breakers, the instances its clients call, its routes'
// traffic, its calls to other services, what protects it and them, its
// background processes, its recent slow and failed traces, an explorer
// of its HTTP API, and a live stream of it all. It reads what an
// [observability.Telemetry] knows: the breakers, clients, retry budgets
// and bulkheads tracked with
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
// # Page
//
// GET /dash/ serves the dashboard's page, and GET /dash/ui/{file} its
// scripts and style: plain HTML, CSS and JavaScript embedded in the
// binary, with nothing loaded from elsewhere, so that it works offline, on
// a laptop or a phone. They hold no data and need no token (a service's
// admin listener lets them through); the page asks the API below for
// everything, with the admin token it reads from the address's fragment
// (/dash/#token=…) or asks for, kept for the browser tab only. It reads
// one stream, GET /dash/api/stream, and shows a panel for each field of
// its snapshots, saying "not reported by this service" for a field the
// service does not send.
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
// GET /dash/api/messaging lists the service's background processes, each
// by name: its outbox relays, event consumers and kinds of saga (see
// [observability.Telemetry.TrackOutbox] and the package
// [github.com/tailorkit/tailor/observability/status]; an outbox Relay,
// a messaging Consumer and a saga Orchestrator made WithTelemetry list
// themselves). Counts are since the process started, unless said:
//
//	{"version": 1,
//	 "outboxes": [{"name": "orders",
//	   "pending": 3,                // written, not yet published (read at most once a second)
//	   "oldest_ms": 1200,           // how long the first pending event has waited; 0 when none
//	   "published": 1000,
//	   "failures": 2}],             // events a relay pass could not publish
//	 "consumers": [{"name": "ORDERS/reviews",  // stream/durable name
//	   "delivered": 100,            // deliveries to the handler, repeats included
//	   "redelivered": 3,            // repeats among them
//	   "dead_lettered": 1,
//	   "in_flight": 0}],            // received, not yet answered
//	 "sagas": [{"name": "order",
//	   "running": 2, "compensating": 0, // unfinished, in the whole database
//	   "stuck": 0,                  // of those, not advanced for longer than the lease
//	   "completed": 100,            // run to their end by this process
//	   "failed": 3}]}               // compensated after a failed step, by this process
//
// The stream's snapshot carries the same object, without "version", as
// "messaging".
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
//	   "available": 8.5,            // retries the budget would allow now
//	   "capacity": 100,             // the most it holds in reserve
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
// is the answers above in one object ("version", "at", "service" and
// "target", both the [WithService] name, "breakers", "services",
// "endpoints", "window_seconds", "edges", and "protection" and
// "messaging", each that answer without its version), and an event
// "breaker" on each breaker state change, followed by a fresh snapshot:
//
//	event: breaker
//	data: {"version": 1, "service": "orders", "target": "orders",
//	       "breaker": "payments", "from": "closed", "to": "open",
//	       "reason": "after 5 consecutive failures", "at": "2026-12-01T12:00:00Z"}
//
// The stream ends when the client leaves or the request's context ends:
// a service ends it when it stops accepting, at shutdown.
//
// # Traces
//
// GET /dash/api/traces lists the traces that the span buffer given with
// [WithSpans] keeps (a service passes its telemetry's: see
// [github.com/tailorkit/tailor/observability/telemetry/spanbuffer.Buffer]
// for which traces stay), the one that last had a
// span end first; without a buffer the list is empty:
//
//	{"version": 1, "capacity": 512, // the most spans kept
//	 "traces": [{
//	  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
//	  "root": "POST /v1/orders",    // the first span whose parent is not kept
//	  "start": "2026-12-01T12:00:00.123456789Z",
//	  "duration_ms": 812.5,         // first span's start to last span's end
//	  "spans": 6,
//	  "error": true,                // a span has status error
//	  "error_message": "unavailable" // the root's status message, or the first failed span's
//	}]}
//
// GET /dash/api/traces/{trace_id} answers one of them, its spans in
// parent order: each after its parent, siblings by start.
//
//	{"version": 1, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "spans": [{
//	  "span_id": "00f067aa0ba902b7",
//	  "parent_id": "",              // "" for a root; a parent in another service is named but not listed
//	  "name": "POST /v1/orders",
//	  "kind": "server",             // server, client, internal, producer or consumer
//	  "start": "2026-12-01T12:00:00.123456789Z",
//	  "offset_ms": 0,               // from the trace's start
//	  "duration_ms": 12.5,
//	  "status": "error",            // error, ok or unset
//	  "status_message": "unavailable",
//	  "attributes": {"http.route": "/v1/orders"}, // values as text
//	  "events": [{"name": "exception", "offset_ms": 3.1}] // offset from the trace's start
//	}]}
//
// A trace id that is not 32 hex digits (or is all zeros) is 400; one that
// is not kept is 404. The stream does not carry traces: fetch them.
//
// # API explorer
//
// With [WithAPI] (a service passes its public router), GET
// /dash/api/openapi answers the service's OpenAPI document, as its
// router serves it at GET /openapi.json (application/json); 404 when it
// serves none.
//
// POST /dash/api/try sends one request to the service's router, in this
// process, and answers what it replied; a redirect is answered, never
// followed. The body is
//
//	{"method": "GET", "path": "/v1/products?limit=2", // path and query only
//	 "headers": {"Authorization": "Bearer …"},         // optional
//	 "body": "…"}                                     // optional, text, at most MaxTryBody
//
// and the answer
//
//	{"version": 1, "status": 200,
//	 "headers": {"Content-Type": "application/json"}, // several values joined with ", "
//	 "body": "…",                   // as text, at most MaxTryBody bytes
//	 "truncated": false,            // the body was longer and is cut
//	 "duration_ms": 3.2}
//
// A body that is not that JSON object is 400 (415 when sent as a media
// type other than JSON), a method, path, header or body that cannot be sent
// is 422, a route that does not answer within [TryTimeout] is 504, and
// without WithAPI both routes are 404. The request goes through the
// router's middleware like any other: it is traced, measured, logged
// and authenticated as the service does, with the operator's address.
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
// GET, PUT and POST /dash/api/t/{id}/... are passed on to the target's
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
// The hub serves the page too, at /dash/. With [HubConfig].Token set,
// every route of the hub but the page's files ([IsPage]) asks for it
// (Authorization: Bearer, as the services' admin listeners do) and the
// hub sends it to the targets. [Hub.Router] takes further routes.
package dashboard
