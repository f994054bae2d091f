package observability

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/resilience"
)

var breakerStates = [...]resilience.State{resilience.StateClosed, resilience.StateHalfOpen, resilience.StateOpen, resilience.StateThrottling}

// BreakerStateChange records a circuit breaker's change of state: the
// gauge tailor.breaker.state (1 for the new state, 0 for the others, by
// breaker and state) and the counter tailor.breaker.transitions (by
// breaker, from and to). Pass it to the breaker:
//
//	resilience.NewPolicy(cfg, resilience.WithStateChange(inst.BreakerStateChange))
//
// In Prometheus, tailor_breaker_state{state="open"} == 1 finds open
// breakers. The change also goes to every func given to
// [Telemetry.WatchBreakers].
func (in *Telemetry) BreakerStateChange(e resilience.StateChange) {
	defer in.notifyWatchers(e)
	ctx := context.Background()
	for _, s := range breakerStates {
		v := int64(0)
		if s == e.To {
			v = 1
		}
		in.breakerState.Record(ctx, v, metric.WithAttributes(attribute.String("breaker", e.Breaker), attribute.String("state", s.String())))
	}
	in.breakerTransitions.Add(ctx, 1, metric.WithAttributes(attribute.String("breaker", e.Breaker),
		attribute.String("from", e.From.String()), attribute.String("to", e.To.String())))
}

// ObserveBudget reports b's refusals as the counter
// tailor.retry.budget.refused, by name: it grows when the budget is
// exhausted and keeps retries from multiplying an outage's load. The count
// is read when metrics are collected; Unregister the returned registration
// when b is no longer used.
func (in *Telemetry) ObserveBudget(name string, b *resilience.Budget) (metric.Registration, error) {
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("budget", name)))
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(in.budgetRefused, int64(b.Refused()), set)
		return nil
	}, in.budgetRefused)
}

// ObserveInstances reports count() as the gauge tailor.discovery.instances,
// by service: how many instances of service a client can call right now.
// For a discovery client:
//
//	inst.ObserveInstances("inventory", func() int { return len(client.Instances()) })
//
// count is called when metrics are collected; Unregister the returned
// registration when the client is closed.
func (in *Telemetry) ObserveInstances(service string, count func() int) (metric.Registration, error) {
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("service", service)))
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(in.instances, int64(count()), set)
		return nil
	}, in.instances)
}

type callKey struct{}

// call is one call through a [Telemetry.CallMiddleware]: the
// attempts its [Telemetry.AttemptMiddleware] has seen.
type call struct{ attempts atomic.Int32 }

// CallMiddleware observes calls to the callee name through a resilience
// policy (or any chain of resilience mechanisms); wrap it outside them, and
// [Telemetry.AttemptMiddleware] inside:
//
//	e = inst.CallMiddleware("inventory")(policy.Middleware()(inst.AttemptMiddleware("inventory")(client)))
//
// A call refused by a mechanism (an open breaker, a full bulkhead, a rate
// limit or load shedding: a [resilience.Rejection]) adds the span event
// "resilience.rejected" to the context's span, counts
// tailor.resilience.rejections by name and reason, and counts in
// [Telemetry.Rejections]. With [Config.EndpointStats], every call counts
// in the callee's last minute (see [Telemetry.Calls]).
func (in *Telemetry) CallMiddleware(name string) endpoint.Middleware {
	var w *window
	if in.calls != nil {
		w = in.calls.get(name)
	}
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			ctx = context.WithValue(ctx, callKey{}, &call{})
			var start time.Time
			if w != nil {
				start = time.Now()
			}
			response, err := next(ctx, request)
			o := outcomeOK
			var rej resilience.Rejection
			switch {
			case err == nil:
			case errors.As(err, &rej):
				o = outcomeRejected
				reason := rejectionReason(rej)
				trace.SpanFromContext(ctx).AddEvent("resilience.rejected", trace.WithAttributes(
					keyResilienceName.String(name), attribute.String("tailor.resilience.reason", reason)))
				in.reject(ctx, name, reason)
			case resilience.Classify(ctx, err) == resilience.OutcomeFailure:
				o = outcomeFailed
			}
			if w != nil {
				end := time.Now()
				w.record(end.Unix(), end.Sub(start), o)
			}
			return response, err
		}
	}
}

// AttemptMiddleware observes each attempt a retry or a hedge makes; wrap
// it inside them, around the transport client (see
// [Telemetry.CallMiddleware], without which it counts nothing). An
// attempt after the first adds the span event "retry" with its number
// (tailor.retry.attempt) and counts tailor.retry.attempts by name.
func (in *Telemetry) AttemptMiddleware(name string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if c, ok := ctx.Value(callKey{}).(*call); ok {
				if n := int(c.attempts.Add(1)); n > 1 {
					trace.SpanFromContext(ctx).AddEvent("retry", trace.WithAttributes(
						keyResilienceName.String(name), attribute.Int("tailor.retry.attempt", n)))
					in.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("name", name)))
				}
			}
			return next(ctx, request)
		}
	}
}

func rejectionReason(r resilience.Rejection) string {
	switch r {
	case resilience.ErrOpen:
		return "circuit_open"
	case resilience.ErrBulkheadFull:
		return "bulkhead_full"
	case resilience.ErrRateLimited:
		return "rate_limited"
	case resilience.ErrShed:
		return "load_shed"
	}
	return "other"
}
