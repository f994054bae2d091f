// Package observability instruments tailor services with OpenTelemetry
// traces and metrics and with trace-aware [log/slog] logs, on the OTel API
// alone: it compiles no SDK and no exporter. Package
// [github.com/tailorkit/tailor/observability/telemetry] builds the SDK
// providers from the standard OTEL_* environment, once, in main; package
// [github.com/tailorkit/tailor/service] takes them with its WithTelemetry
// option, makes the service's one [Telemetry] from them and hands it
// (Service.Telemetry) to everything else that observes, so a service
// built on tailor is traced, measured and logged without code.
//
// Start with [New], which takes the providers in a [Config] and returns a
// [Telemetry]. Its parts, each optional:
//
//   - server side: [Telemetry.HTTPMiddleware] (pass it to the Router
//     with transport/http's WithMiddleware, so it sees the route template)
//     and [Telemetry.UnaryServerInterceptor] /
//     [Telemetry.StreamServerInterceptor] for gRPC: one span per
//     request with OTel semantic-convention attributes, W3C trace context
//     and baggage taken from the caller, RED metrics
//     (http.server.request.duration, rpc.server.call.duration), and an
//     optional access log;
//   - client side: [Telemetry.HTTPClientOptions] (go-kit client
//     options) and [Telemetry.UnaryClientInterceptor] (a gRPC dial
//     option's interceptor): a client span per attempt, the trace context
//     sent on, http.client.request.duration and rpc.client.call.duration;
//   - resilience: [Telemetry.BreakerStateChange] for
//     resilience.WithStateChange, and [Telemetry.CallMiddleware] with
//     [Telemetry.AttemptMiddleware] around a resilience.Policy:
//     breaker state and transitions, retries and rejections as metrics and
//     as span events;
//   - logs: [NewLogger] and [NewLogHandler] add trace_id, span_id and
//     request_id to every record logged with a request's context;
//   - messages: [Telemetry.Inject] and [Telemetry.Extract] move
//     the trace context through any [propagation.TextMapCarrier], such as
//     message headers.
//   - what an operator looks at, read by package
//     [github.com/tailorkit/tailor/observability/dashboard]: the live
//     breakers, clients' instances, retry budgets and bulkheads that
//     packages list with [Telemetry.TrackBreaker],
//     [Telemetry.TrackInstances], [Telemetry.TrackBudget] and
//     [Telemetry.TrackBulkhead] (each undone by the func it returns),
//     breaker changes for [Telemetry.WatchBreakers], the calls and
//     requests refused, by name and reason ([Telemetry.Rejections]), and,
//     with [Config.EndpointStats], each route's and each callee's last
//     minute ([Telemetry.Endpoints], [Telemetry.Calls]); and the background
//     processes, outbox relays, event consumers and sagas, that list
//     themselves with [Telemetry.TrackOutbox], [Telemetry.TrackConsumer]
//     and [Telemetry.TrackSagas] (their reports are declared in package
//     [github.com/tailorkit/tailor/observability/status], so that the
//     packages that report need not import this one).
//
// Errors follow tailor's error model ([github.com/tailorkit/tailor/fault]):
// on server spans only the server's faults (5xx, and the gRPC codes that
// map to them) set the span status to Error; a 4xx is the client's
// business and leaves it unset. Client spans mark every failed call, and
// a call that got no answer gets the error.type [fault.KindOf] gives it,
// the kind its caller sees (a refused connection is "unavailable").
//
// Metric attributes are bounded: routes are templates (never raw paths),
// methods outside the standard set are "_OTHER", and peers are host:port.
package observability
