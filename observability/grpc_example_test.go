package observability_test

import (
	"context"
	"fmt"
	"net"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tailorkit/tailor/observability"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// A gRPC server and client instrumented on loopback, here calling the
// standard health service. The server's interceptor goes after tailor's
// own (NewServer puts those first), so it sees the request ID and the
// handler's errors as statuses; the server span continues the client's
// trace. package service does this for the services it runs.
func ExampleTelemetry_UnaryServerInterceptor() {
	spans := tracetest.NewInMemoryExporter()
	inst, err := observability.New(observability.Config{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
	})
	if err != nil {
		panic(err)
	}

	srv := tgrpc.NewServer(grpc.ChainUnaryInterceptor(inst.UnaryServerInterceptor()))
	health := tgrpc.NewHealth(srv)
	health.SetServing(true)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := tgrpc.NewConn(lis.Addr().String(), grpc.WithChainUnaryInterceptor(inst.UnaryClientInterceptor()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)

	ended := spans.GetSpans()
	for _, s := range ended {
		fmt.Println(s.SpanKind, s.Name)
	}
	fmt.Println(ended[0].SpanContext.TraceID() == ended[1].SpanContext.TraceID())
	// Output:
	// SERVING <nil>
	// server grpc.health.v1.Health/Check
	// client grpc.health.v1.Health/Check
	// true
}
