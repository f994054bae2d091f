package main

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/bench/internal/orderpb"
)

// serveGRPCRaw is the gRPC baseline: grpc-go alone, no interceptors.
func serveGRPCRaw(ctx context.Context, addr string, ready func(...net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	orderpb.RegisterOrdersServer(s, rawOrders{})
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

type rawOrders struct {
	orderpb.UnimplementedOrdersServer
}

func (rawOrders) Place(ctx context.Context, r *orderpb.OrderRequest) (*orderpb.Receipt, error) {
	req, err := fromProto(ctx, r)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := order.Place(ctx, req)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return toProto(ctx, resp)
}

func fromProto(_ context.Context, r *orderpb.OrderRequest) (order.Request, error) {
	return order.Request{SKU: r.GetSku(), Quantity: int(r.GetQuantity()), Note: r.GetNote()}, nil
}

func toProto(_ context.Context, r order.Receipt) (*orderpb.Receipt, error) {
	return &orderpb.Receipt{Id: r.ID, Sku: r.SKU, Quantity: int32(r.Quantity), TotalCents: r.TotalCents}, nil
}
