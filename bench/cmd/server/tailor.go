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
// OTEL_TRACES_SAMPLER ("": the default, 1% of new traces).
func serveTailor(sampler string) serveFunc {
	return func(ctx context.Context, addr string, ready func(net.Addr)) (err error) {
		p, err := tailorProviders(ctx, sampler, 0)
		if err != nil {
			return err
		}
		svc, err := service.New(service.Config{Name: "orders", HTTPAddr: addr},
			service.WithTelemetry(p), service.WithoutSignals())
		if err != nil {
			return errors.Join(err, p.Shutdown(context.Background())) // Run shuts p down; New does not
		}
		svc.Router().Handle("POST "+order.Path, thttp.NewServer(
			tailor.Endpoint(order.Place),
			thttp.DecodeJSON[order.Request](),
			thttp.EncodeJSON(http.StatusOK),
		))
		return runService(ctx, svc, func() net.Addr { return svc.HTTPAddr() }, ready)
	}
}

// runService runs svc until ctx ends, calling ready with addr() once it
// serves.
func runService(ctx context.Context, svc *service.Service, addr func() net.Addr, ready func(net.Addr)) error {
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Started():
		ready(addr())
	case err := <-done:
		return err
	}
	return <-done
}
