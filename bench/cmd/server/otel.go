package main

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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

// tailorProviders are the providers a tailor service builds from its
// environment, with sampler as OTEL_TRACES_SAMPLER (empty: tailor's default,
// 1% of new traces) and ratio as OTEL_TRACES_SAMPLER_ARG (0: the
// default), and spans batched to an exporter that drops them, as in
// sdkProviders.
func tailorProviders(ctx context.Context, sampler string, ratio float64) (*telemetry.Providers, error) {
	env := map[string]string{}
	if sampler != "" {
		env["OTEL_TRACES_SAMPLER"] = sampler
	}
	if ratio > 0 {
		env["OTEL_TRACES_SAMPLER_ARG"] = strconv.FormatFloat(ratio, 'g', -1, 64)
	}
	return telemetry.New(ctx, telemetry.Config{
		ServiceName:  "orders",
		SpanExporter: tracetest.NewNoopExporter(),
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	})
}
