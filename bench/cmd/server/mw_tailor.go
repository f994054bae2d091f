package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/observability"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// serveTailorMiddleware is tailor's router and go-kit server observed by
// tailor's own OTel middleware (observability.Telemetry.HTTPMiddleware),
// sampling ratio of new traces. serveOtelhttp is the same with otelhttp in
// its place; nothing else differs.
func serveTailorMiddleware(ratio float64) serveFunc {
	return func(ctx context.Context, addr string, ready func(net.Addr)) (err error) {
		p, err := tailorProviders(ctx, "parentbased_traceidratio", ratio)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, p.Shutdown(context.Background())) }()
		inst, err := observability.New(observability.Config{
			TracerProvider: p.TracerProvider(),
			MeterProvider:  p.MeterProvider(),
		})
		if err != nil {
			return err
		}
		return serveHTTP(ctx, addr, orderRouter(inst.HTTPMiddleware), ready)
	}
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
