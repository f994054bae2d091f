package main

import (
	"context"
	"net"
	"net/http"

	"github.com/tailorkit/tailor/observability/telemetry"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// serveOtelhttp is serveTailorMiddleware with the OTel project's own HTTP
// instrumentation, otelhttp, in place of tailor's middleware, on the same
// providers and the same router.
func serveOtelhttp(ratio float64) serveFunc {
	return withRatioProviders(ratio, func(ctx context.Context, addr string, p *telemetry.Providers, ready func(...net.Addr)) error {
		mw := func(next http.Handler) http.Handler {
			return otelhttp.NewHandler(next, "orders",
				otelhttp.WithTracerProvider(p.TracerProvider()),
				otelhttp.WithMeterProvider(p.MeterProvider()),
				otelhttp.WithPropagators(otelPropagator()),
			)
		}
		return serveHTTP(ctx, addr, orderRouter(mw), ready)
	})
}
