package grpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

// BenchmarkEcho measures one unary call over loopback through every tailor
// layer: client interceptor, server interceptor, Handler and endpoint.
func BenchmarkEcho(b *testing.B) {
	client := testpb.NewEchoClient(dial(b, serveEcho(b, tailorgrpc.NewServer())))
	ctx := requestid.NewContext(context.Background(), "bench-1")
	req := &testpb.EchoRequest{Message: "hi"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Echo(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkErrorMapping measures a fault error's trip to a status and back,
// without the network.
func BenchmarkErrorMapping(b *testing.B) {
	err := &fault.Error{
		Kind:       fault.InvalidArgument,
		Detail:     "the order is invalid",
		Violations: []fault.Violation{{Field: "sku", Description: "must not be empty"}},
		RetryAfter: time.Second,
	}
	b.ReportAllocs()
	for b.Loop() {
		if tailorgrpc.Error(tailorgrpc.Status(err)) == nil {
			b.Fatal("got nil, want an error")
		}
	}
}
