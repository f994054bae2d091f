package main

import (
	"context"
	"net"
	"net/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/observability/telemetry"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// serveTailorMiddleware is tailor's router and go-kit server observed by
// tailor's own OTel middleware (observability.Telemetry.HTTPMiddleware),
// sampling ratio of new traces. serveOtelhttp is the same with otelhttp in
// its place; nothing else differs.
func serveTailorMiddleware(ratio float64) serveFunc {
	return withRatioProviders(ratio, func(ctx context.Context, addr string, p *telemetry.Providers, ready func(...net.Addr)) error {
		inst, err := tailorTelemetry(p)
		if err != nil {
			return err
		}
		return serveHTTP(ctx, addr, orderRouter(inst.HTTPMiddleware), ready)
	})
}

// orderRouter is tailor's router serving the order route with tailor's
// decoder and encoder, with mw inside it (see thttp.WithMiddleware).
func orderRouter(mw func(http.Handler) http.Handler) *thttp.Router {
	router := thttp.NewRouter(thttp.WithMiddleware(mw))
	router.Handle("POST "+order.Path, thttp.NewServer(
		tailor.Endpoint(order.Place),
		thttp.DecodeJSON[order.Request](),
		thttp.EncodeJSON(http.StatusOK),
	))
	return router
}
