// Package resilience keeps calls between services from failing together:
// circuit breakers, retries with budgets, timeouts, bulkheads, rate limits,
// adaptive load shedding and hedging. Every mechanism is a go-kit
// [endpoint.Middleware].
//
// Start with [NewPolicy]: a [PolicyConfig] declares, for one callee, the
// timeout, retry, hedge, breaker and bulkhead it wants, and the Policy puts
// them in the order a client needs:
//
//	fallback ▸ timeout ▸ retry (budget) ▸ hedge ▸ breaker ▸ bulkhead ▸ endpoint
//
// Servers put a [RateLimiter] and a [Shedder] in front of their handlers
// ([RateLimiter.Handler], [Shedder.Handler]) so excess load is refused before
// a body is read. [Breakers] keeps one breaker per downstream instance, for
// balancers.
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
// # Breaker strategy
//
// The default is [StrategyTrip], the classic breaker on
// github.com/sony/gobreaker/v2: it opens after ConsecutiveFailures failures
// in a row or a FailureRatio over a rolling window, refuses calls for
// OpenTimeout, then lets a probe through. It is the default because its
// states are discrete events an operator can alert on and override, its
// recovery is bounded (traffic returns one open timeout after the callee
// does), and it behaves the same at 1 and at 10 000 calls a second.
// [StrategyThrottle], the client-side adaptive throttling of Google's SRE
// book (used by Kratos and go-zero), suits high-volume clients of callees
// that degrade partially: it refuses calls in proportion to the failure
// rate rather than all at once.
//
// # Load shedding
//
// [Shedder] adapts a concurrency limit to measured latency with a gradient
// rule after Netflix's concurrency-limits (GradientLimit for the decrease,
// AIMDLimit for the increase): see its documentation.
//
// # Time
//
// Every mechanism that reads time takes a [Clock] ([WithClock]), the system
// clock by default, so tests move time by hand instead of sleeping. Context
// deadlines are the exception: they belong to package context.
//
// SCENARIO.md describes the load scenarios that measure all this over real
// HTTP.
package resilience
