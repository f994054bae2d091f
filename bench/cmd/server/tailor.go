package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// serveTailor is a tailor service as its README shows it, with every
// default (request ID, recovery, a span and RED metrics per request, JSON
// logs at Info, no access log), tracing with sampler as
// OTEL_TRACES_SAMPLER ("": the default, 1% of new traces). With admin, it
// also serves its admin listener on a free loopback port, no token: the
// operations dashboard's API, and each route's last minute recorded for
// it (observability.Config.EndpointStats).
func serveTailor(sampler string, admin bool) serveFunc {
	return func(ctx context.Context, addr string, ready func(...net.Addr)) (err error) {
		p, err := tailorProviders(ctx, sampler, 0)
		if err != nil {
			return err
		}
		cfg := service.Config{Name: "orders", HTTPAddr: addr}
		if admin {
			cfg.AdminAddr = "127.0.0.1:0"
		}
		svc, err := service.New(cfg,
			service.WithTelemetry(p), service.WithoutSignals())
		if err != nil {
			return errors.Join(err, p.Shutdown(context.Background())) // Run shuts p down; New does not
		}
		svc.Router().Handle("POST "+order.Path, thttp.NewServer(
			tailor.Endpoint(order.Place),
			thttp.DecodeJSON[order.Request](),
			thttp.EncodeJSON(http.StatusOK),
		))
		return runService(ctx, svc, func() []net.Addr {
			if admin {
				return []net.Addr{svc.HTTPAddr(), svc.AdminAddr()}
			}
			return []net.Addr{svc.HTTPAddr()}
		}, ready)
	}
}

// runService runs svc until ctx ends, calling ready with addrs() once it
// serves.
func runService(ctx context.Context, svc *service.Service, addrs func() []net.Addr, ready func(...net.Addr)) error {
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Started():
		ready(addrs()...)
	case err := <-done:
		return err
	}
	return <-done
}
