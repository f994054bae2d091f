package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/ratelimit"
	kithttp "github.com/go-kit/kit/transport/http"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"golang.org/x/time/rate"

	"github.com/tailorkit/tailor/bench/internal/order"
)

// serveNaive is what a team assembles by hand from the same libraries
// tailor wraps: go-kit, a gobreaker circuit breaker, an x/time/rate limit
// (high enough never to refuse) and otelhttp with the SDK's defaults,
// sampling 1% of new traces.
func serveNaive(ctx context.Context, addr string, ready func(...net.Addr)) error {
	tp, mp, err := sdkProviders(0.01)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, tp.Shutdown(context.Background()), mp.Shutdown(context.Background())) }()

	cb := gobreaker.NewCircuitBreaker[any](gobreaker.Settings{Name: "orders"})
	breaker := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return cb.Execute(func() (any, error) { return next(ctx, request) })
		}
	}
	limit := ratelimit.NewErroringLimiter(rate.NewLimiter(1e6, 1e6))
	e := endpoint.Chain(limit, breaker)(placeEndpoint())

	mux := http.NewServeMux()
	mux.Handle("POST "+order.Path, kithttp.NewServer(e, decodeOrder, kithttp.EncodeJSONResponse))
	h := otelhttp.NewHandler(mux, "orders",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(mp),
		otelhttp.WithPropagators(otelPropagator()),
	)
	return serveHTTP(ctx, addr, h, ready)
}
