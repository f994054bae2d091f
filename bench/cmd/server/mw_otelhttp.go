package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
)

// serveOtelhttp is serveTailorMiddleware with the OTel project's own HTTP
// instrumentation, otelhttp, in place of tailor's middleware, on the same
// providers and the same router.
func serveOtelhttp(ratio float64) serveFunc {
	return func(ctx context.Context, addr string, ready func(net.Addr)) (err error) {
		p, err := tailorProviders(ctx, "parentbased_traceidratio", ratio)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, p.Shutdown(context.Background())) }()
		mw := func(next http.Handler) http.Handler {
			return otelhttp.NewHandler(next, "orders",
				otelhttp.WithTracerProvider(p.TracerProvider()),
				otelhttp.WithMeterProvider(p.MeterProvider()),
				otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
			)
		}
		return serveHTTP(ctx, addr, orderRouter(mw), ready)
	}
}
