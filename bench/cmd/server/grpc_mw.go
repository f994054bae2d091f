package main

import (
	"context"
	"net"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/bench/internal/orderpb"
	"github.com/tailorkit/tailor/observability/telemetry"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// serveGRPCTailorMiddleware is tailor's gRPC server (tgrpc.NewServer: its
// codec, request ID, recovery and error mapping) serving the order RPC
// through tgrpc.NewHandler, observed by tailor's own interceptors
// (observability.Telemetry.UnaryServerInterceptor), sampling ratio of new
// traces. serveGRPCOtelgrpc is the same with otelgrpc in their place;
// nothing else differs.
func serveGRPCTailorMiddleware(ratio float64) serveFunc {
	return withRatioProviders(ratio, func(ctx context.Context, addr string, p *telemetry.Providers, ready func(...net.Addr)) error {
		inst, err := tailorTelemetry(p)
		if err != nil {
			return err
		}
		return serveGRPC(ctx, addr, tgrpc.NewServer(
			grpc.ChainUnaryInterceptor(inst.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(inst.StreamServerInterceptor()),
		), ready)
	})
}

// serveGRPCOtelgrpc is serveGRPCTailorMiddleware with the OTel project's
// own gRPC instrumentation, otelgrpc's server stats handler, in place of
// tailor's interceptors, on the same providers and the same server.
func serveGRPCOtelgrpc(ratio float64) serveFunc {
	return withRatioProviders(ratio, func(ctx context.Context, addr string, p *telemetry.Providers, ready func(...net.Addr)) error {
		return serveGRPC(ctx, addr, tgrpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(p.TracerProvider()),
			otelgrpc.WithMeterProvider(p.MeterProvider()),
			otelgrpc.WithPropagators(otelPropagator()),
		))), ready)
	})
}

// serveGRPC registers the order RPC, served by tailor's handler, on s and
// serves it on addr until ctx ends.
func serveGRPC(ctx context.Context, addr string, s *grpc.Server, ready func(...net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	orderpb.RegisterOrdersServer(s, tailorOrders{
		h: tgrpc.NewHandler(tailor.Endpoint(order.Place), fromProto, toProto),
	})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	ready(ln.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.GracefulStop()
	return <-done
}
