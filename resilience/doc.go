// Package resilience keeps calls between services from failing together:
// circuit breakers, adaptive throttling, retries with budgets, timeouts,
// bulkheads, hedging, rate limits and adaptive load shedding. Every
// mechanism is a go-kit [endpoint.Middleware].
//
// # Where to start
//
// A client starts with [NewPolicy]: a [PolicyConfig] declares, for one
// callee, the timeout, retry, hedge, breaker and bulkhead it wants, and the
// Policy puts them in the order a client needs:
//
//	fallback ▸ timeout ▸ retry (budget) ▸ hedge ▸ throttle ▸ breaker ▸ bulkhead ▸ endpoint
//
// A balancer keeps one breaker per downstream instance with [NewBreakers].
// A server puts a [RateLimiter] and a [Shedder] in front of its handlers;
// package transport/http's RateLimit and Shed do that for HTTP, refusing
// excess load before a body is read. Each mechanism also stands alone:
// [NewBreaker], [NewThrottle], [NewRetry], [NewBudget], [Timeout],
// [NewBulkhead], [NewHedge], [Fallback].
//
// # What counts as a failure
//
// [Classify] decides: only errors that say the callee is unhealthy
// (unavailable, deadline exceeded, internal, connection errors) count
// against it. A 4xx is the callee answering; the caller's own cancellation
// and every [Rejection] from this package (an open breaker, a full
// bulkhead) say nothing about it. Retries go further: they retry only
// [fault.IsRetryable] errors of calls marked idempotent ([WithIdempotent]),
// so a 400 or a 500 is never retried.
//
// # Breakers and throttles
//
// [Breaker] is the classic circuit breaker: github.com/sony/gobreaker/v2
// keeps its state, its counts over a rolling window and its open timer,
// and tailor adds the classification above, an operator's override
// ([Breaker.SetOverride]), state events ([WithStateChange]) and refusals
// that name the breaker and say when it lets a probe through. It opens
// after ConsecutiveFailures failures in a row or a FailureRatio over the
// window, refuses every call for OpenTimeout, then lets probes through.
// Its states are discrete events an operator can alert on and override,
// its recovery is bounded (traffic returns one open timeout after the
// callee does), and it behaves the same at 1 and at 10 000 calls a second.
//
// [Throttle], the client-side adaptive throttling of Google's SRE book,
// suits high-volume clients of callees that degrade partially: it refuses
// calls in proportion to the failure rate rather than all at once.
//
// An open breaker refuses at once, and a retry above it does not wait it
// out: it tries again at once only when the next attempt can go elsewhere
// (a call marked with [WithFailover], as a balancer with a breaker per
// instance marks it), and otherwise returns the breaker's error.
//
// # Load shedding
//
// [Shedder] adapts a concurrency limit to measured latency with a gradient
// rule after Netflix's concurrency-limits (GradientLimit for the decrease,
// AIMDLimit for the increase). Its baseline, the latency of a server that
// does not queue, is re-measured while it sheds by lowering the limit to
// MinLimit for one window in Baseline, as BBR's ProbeRTT phase does
// (Cardwell et al., ACM Queue 14(5), 2016) and Envoy's adaptive concurrency
// filter does for servers; without the probes a saturated server queues in
// every window and the limit settles well above its real concurrency. See
// its documentation.
//
// # Time
//
// Every mechanism reads time with package time and bounds calls with
// package context, so tests run them in a testing/synctest bubble to move
// time without sleeping. The benchmarks (bench_test.go) and the load
// scenarios (SCENARIO.md) measure what the mechanisms cost and how they
// behave under load.
package resilience
