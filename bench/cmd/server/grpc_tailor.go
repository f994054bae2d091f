package main

import (
	"context"
	"errors"
	"net"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/bench/internal/orderpb"
	"github.com/tailorkit/tailor/service"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// serveGRPCTailor is a tailor service serving the order RPC through
// tailor's gRPC handler (a go-kit gRPC server), with the service's
// interceptors: request ID, recovery, error mapping, a span (1% of new
// traces sampled) and RED metrics per call.
func serveGRPCTailor(ctx context.Context, addr string, ready func(...net.Addr)) (err error) {
	p, err := tailorProviders(ctx, "", 0)
	if err != nil {
		return err
	}
	svc, err := service.New(service.Config{Name: "orders", HTTPAddr: "127.0.0.1:0", GRPCAddr: addr},
		service.WithTelemetry(p), service.WithoutSignals())
	if err != nil {
		return errors.Join(err, p.Shutdown(context.Background())) // Run shuts p down; New does not
	}
	orderpb.RegisterOrdersServer(svc.GRPCServer(), tailorOrders{
		h: tgrpc.NewHandler(tailor.Endpoint(order.Place), fromProto, toProto),
	})
	return runService(ctx, svc, func() []net.Addr { return []net.Addr{svc.GRPCAddr()} }, ready)
}

type tailorOrders struct {
	orderpb.UnimplementedOrdersServer
	h *tgrpc.Handler[*orderpb.OrderRequest, *orderpb.Receipt]
}

func (o tailorOrders) Place(ctx context.Context, r *orderpb.OrderRequest) (*orderpb.Receipt, error) {
	return o.h.Serve(ctx, r)
}
