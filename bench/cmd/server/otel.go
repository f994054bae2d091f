package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry"
)

// sdkProviders sets up the OTel SDK as its documentation shows, with the
// SDK's defaults: ratio of new traces sampled, spans batched to an
// exporter that drops them (so the cost measured is everything but the
// network), metrics kept for Prometheus.
func sdkProviders(ratio float64) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		return nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()),
	)
	return tp, mp, nil
}

// tailorProviders are the providers a tailor service builds, with sampler
// named as OTEL_TRACES_SAMPLER names it ("": tailor's default, 1% of new
// traces; "always_on", "always_off", or "parentbased_traceidratio" with
// ratio), and spans batched to an exporter that drops them, as in
// sdkProviders.
func tailorProviders(ctx context.Context, sampler string, ratio float64) (*telemetry.Providers, error) {
	cfg := telemetry.Config{ServiceName: "orders", SpanExporter: tracetest.NewNoopExporter()}
	switch sampler {
	case "":
	case "always_on":
		cfg.Sampler = sdktrace.AlwaysSample()
	case "always_off":
		cfg.Sampler = sdktrace.NeverSample()
	case "parentbased_traceidratio":
		cfg.Sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	default:
		return nil, fmt.Errorf("bench: unknown sampler %q; use always_on, always_off or parentbased_traceidratio", sampler)
	}
	return telemetry.New(ctx, cfg)
}

// withRatioProviders serves with tailor's providers sampling ratio of new
// traces (see tailorProviders), and shuts them down once serve returns.
func withRatioProviders(ratio float64, serve func(ctx context.Context, addr string, p *telemetry.Providers, ready func(...net.Addr)) error) serveFunc {
	return func(ctx context.Context, addr string, ready func(...net.Addr)) (err error) {
		p, err := tailorProviders(ctx, "parentbased_traceidratio", ratio)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, p.Shutdown(context.Background())) }()
		return serve(ctx, addr, p, ready)
	}
}

// tailorTelemetry is tailor's own instrumentation over p.
func tailorTelemetry(p *telemetry.Providers) (*observability.Telemetry, error) {
	return observability.New(observability.Config{
		TracerProvider: p.TracerProvider(),
		MeterProvider:  p.MeterProvider(),
	})
}

// otelPropagator is the propagator a tailor service uses, given to the OTel
// project's instrumentation so that it does the same work.
func otelPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}
