package resilience

import (
	"context"
	"errors"

	"github.com/tailorkit/tailor/fault"
)

// Rejection is the cause of every error with which a mechanism of this
// package refuses a call without calling the endpoint. The refusal itself is
// a [*fault.Error] of a retryable kind whose Cause is a Rejection, so
//
//	errors.Is(err, resilience.ErrOpen)
//
// asks whether a breaker refused the call. [Classify] never counts a
// Rejection against the callee: a breaker's own refusals, or a bulkhead's
// below it, say nothing about the callee's health.
type Rejection string

// Error returns the rejection's text.
func (r Rejection) Error() string { return string(r) }

// The rejections.
const (
	ErrOpen         Rejection = "resilience: circuit open"  // a breaker is open or throttling
	ErrBulkheadFull Rejection = "resilience: bulkhead full" // too many calls in flight
	ErrRateLimited  Rejection = "resilience: rate limited"  // the rate limit is spent
	ErrShed         Rejection = "resilience: load shed"     // the adaptive concurrency limit is reached
)

// Outcome is what a call's result says about the callee's health.
type Outcome uint8

// The outcomes.
const (
	OutcomeSuccess Outcome = iota // the callee answered: counts for its health
	OutcomeFailure                // the callee is unhealthy: counts against it
	OutcomeIgnored                // says nothing about the callee: not counted
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	}
	return "ignored"
}

// Classify is the default rule for what a call's error says about the
// callee, used by breakers and throttles:
//
//   - nil is an OutcomeSuccess;
//   - the caller's own cancellation (ctx canceled, or a [fault.Canceled]
//     error) is OutcomeIgnored, as is a [Rejection] from a mechanism below;
//   - errors of kind [fault.Unavailable], [fault.DeadlineExceeded] and
//     [fault.Internal] are OutcomeFailure: Internal includes every error
//     nobody classified, such as a refused connection or a reset stream;
//   - every other kind is an OutcomeSuccess: a 4xx is the callee answering
//     correctly about a bad request.
func Classify(ctx context.Context, err error) Outcome {
	if err == nil {
		return OutcomeSuccess
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return OutcomeIgnored
	}
	var r Rejection
	if errors.As(err, &r) {
		return OutcomeIgnored
	}
	switch fault.KindOf(err) {
	case fault.Canceled:
		return OutcomeIgnored
	case fault.Unavailable, fault.DeadlineExceeded, fault.Internal:
		return OutcomeFailure
	}
	return OutcomeSuccess
}

type idempotentKey struct{}

// WithIdempotent returns a copy of ctx that marks the call made with it as
// idempotent: safe to send more than once. Only marked calls are retried or
// hedged, unless the retry's config says every call is idempotent.
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// Idempotent reports whether ctx marks its call as idempotent (see
// [WithIdempotent]).
func Idempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

type failoverKey struct{}

// WithFailover returns a copy of ctx that marks each retry of the call made
// with it as able to go to another instance, as a balancer with a breaker
// per instance does. When a breaker refuses an attempt, a [Retry] tries
// again at once only for such calls, and only when the refusal did not
// come from a breaker every attempt passes through; otherwise it returns
// the refusal: an open breaker is not waited out.
func WithFailover(ctx context.Context) context.Context {
	return context.WithValue(ctx, failoverKey{}, true)
}

func failover(ctx context.Context) bool {
	v, _ := ctx.Value(failoverKey{}).(bool)
	return v
}
