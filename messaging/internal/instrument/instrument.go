// Package instrument holds the spans and metrics that package messaging
// and its sub-packages share, so that each reports under one name.
package instrument

import (
	"log/slog"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every span and instrument.
const ScopeName = "github.com/tailorkit/tailor/messaging"

// Set is the instruments of one publisher, relay or consumer.
type Set struct {
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
	Log        *slog.Logger

	Published     metric.Int64Counter
	PublishErrors metric.Int64Counter
	Consumed      metric.Int64Counter
	Redelivered   metric.Int64Counter
	DeadLettered  metric.Int64Counter
	OutboxLag     metric.Float64Gauge
	OutboxPending metric.Int64Gauge
}

// Source hands out the providers and the logger: messaging.Telemetry,
// which *observability.Telemetry satisfies.
type Source interface {
	TracerProvider() trace.TracerProvider
	MeterProvider() metric.MeterProvider
	Propagator() propagation.TextMapPropagator
	Logger() *slog.Logger
}

// New makes the instruments from src. A nil src, or a nil provider or
// logger from it, means: observe nothing, W3C trace context, no logs.
func New(src Source) (*Set, error) {
	var (
		tp   trace.TracerProvider
		mp   metric.MeterProvider
		prop propagation.TextMapPropagator
		log  *slog.Logger
	)
	if src != nil {
		tp, mp, prop, log = src.TracerProvider(), src.MeterProvider(), src.Propagator(), src.Logger()
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{Tracer: tp.Tracer(ScopeName), Propagator: prop, Log: log}
	m := mp.Meter(ScopeName)
	var errs [7]error
	s.Published, errs[0] = m.Int64Counter("tailor.messaging.published", metric.WithUnit("{event}"),
		metric.WithDescription("Events JetStream acknowledged, by subject."))
	s.PublishErrors, errs[1] = m.Int64Counter("tailor.messaging.publish.errors", metric.WithUnit("{event}"),
		metric.WithDescription("Publish attempts JetStream did not acknowledge; the outbox relay tries them again."))
	s.Consumed, errs[2] = m.Int64Counter("tailor.messaging.consumed", metric.WithUnit("{event}"),
		metric.WithDescription("Events a consumer handled and acknowledged."))
	s.Redelivered, errs[3] = m.Int64Counter("tailor.messaging.redelivered", metric.WithUnit("{event}"),
		metric.WithDescription("Deliveries of an event after its first."))
	s.DeadLettered, errs[4] = m.Int64Counter("tailor.messaging.dead_lettered", metric.WithUnit("{event}"),
		metric.WithDescription("Events sent to a dead-letter subject after failing for good."))
	s.OutboxLag, errs[5] = m.Float64Gauge("tailor.messaging.outbox.lag", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event in the outbox not yet published; 0 when none waits."))
	s.OutboxPending, errs[6] = m.Int64Gauge("tailor.messaging.outbox.pending", metric.WithUnit("{event}"),
		metric.WithDescription("Events in the outbox not yet published, as of the relay's last pass."))
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Header carries trace context in NATS message headers, whose keys are
// case-sensitive (unlike HTTP's).
type Header nats.Header

// Get returns the first value of key.
func (h Header) Get(key string) string { return nats.Header(h).Get(key) }

// Set sets key to value.
func (h Header) Set(key, value string) { nats.Header(h).Set(key, value) }

// Keys lists the keys.
func (h Header) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
