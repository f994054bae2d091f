package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
)

func ExampleStatus() {
	// Server side: what a handler's error becomes on the wire.
	err := &fault.Error{Kind: fault.ResourceExhausted, Detail: "at most 10 orders a minute", RetryAfter: 30 * time.Second}
	st := tailorgrpc.Status(err)
	fmt.Println(st.Code(), st.Message())

	// Server faults never show their detail.
	st = tailorgrpc.Status(fault.Wrap(errors.New("pq: relation \"orders\" does not exist"), fault.Internal, "schema out of date"))
	fmt.Println(st.Code(), st.Message())
	// Output:
	// ResourceExhausted at most 10 orders a minute
	// Internal the server failed to handle the request; quote the request id when reporting it
}

func ExampleError() {
	st := tailorgrpc.Status(&fault.Error{Kind: fault.ResourceExhausted, Detail: "at most 10 orders a minute", RetryAfter: 30 * time.Second})

	// Client side: the status turns back into a fault error.
	err := tailorgrpc.Error(st)
	fmt.Println(errors.Is(err, fault.ResourceExhausted), fault.IsRetryable(err), fault.RetryAfter(err))
	// Output:
	// true true 30s
}

func ExampleNewHealth() {
	s := tailorgrpc.NewServer()
	// Register the service's own gRPC services here, then:
	health := tailorgrpc.NewHealth(s)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()

	cc, err := tailorgrpc.NewConn(lis.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	check := func() {
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.GetStatus())
	}

	check()                 // starting up
	health.SetServing(true) // ready
	check()
	health.SetServing(false) // draining
	check()
	// Output:
	// NOT_SERVING
	// SERVING
	// NOT_SERVING
}

// NewServer's server answers a request that does not decode
// INVALID_ARGUMENT; UNIMPLEMENTED names a method nobody registered.
func ExampleNewServer() {
	s := tailorgrpc.NewServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()

	cc, err := tailorgrpc.NewConn(lis.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	_, err = healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(errors.Unwrap(err)))
	// Output:
	// Unimplemented
}

// NewConn makes a connection whose calls return fault errors; it connects
// at the first call, so a target nobody listens on fails then, as
// Unavailable, which a caller may retry.
func ExampleNewConn() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nobody listens there now

	cc, err := tailorgrpc.NewConn(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	_, err = healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(errors.Is(err, fault.Unavailable), fault.IsRetryable(err))
	// Output:
	// true true
}

// NewClient refuses a method name that gRPC could never call, when the
// client is built.
func ExampleNewClient() {
	cc, err := tailorgrpc.NewConn("127.0.0.1:50051") // connects at the first call only
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	check := func(method string) error {
		_, err := tailorgrpc.NewClient(cc, method,
			func(_ context.Context, service string) (*healthpb.HealthCheckRequest, error) {
				return &healthpb.HealthCheckRequest{Service: service}, nil
			},
			func(_ context.Context, reply *healthpb.HealthCheckResponse) (string, error) {
				return reply.GetStatus().String(), nil
			})
		return err
	}
	fmt.Println(check(healthpb.Health_Check_FullMethodName))
	fmt.Println(check("Health.Check"))
	// Output:
	// <nil>
	// transport/grpc: client method name "Health.Check" is not of the form "/package.Service/Method"; use the generated FullMethodName constant
}

// NewHandler serves one RPC with an endpoint; a decoder's error is bad
// input, INVALID_ARGUMENT.
func ExampleNewHandler() {
	h := tailorgrpc.NewHandler(
		func(_ context.Context, request any) (any, error) { return "SERVING", nil },
		func(_ context.Context, req *healthpb.HealthCheckRequest) (string, error) {
			if req.GetService() == "" {
				return "", errors.New("name the service to check")
			}
			return req.GetService(), nil
		},
		func(_ context.Context, s string) (*healthpb.HealthCheckResponse, error) {
			return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_ServingStatus(healthpb.HealthCheckResponse_ServingStatus_value[s])}, nil
		},
	)
	resp, err := h.Serve(context.Background(), &healthpb.HealthCheckRequest{Service: "catalog"})
	fmt.Println(resp.GetStatus(), err)
	_, err = h.Serve(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err))
	// Output:
	// SERVING <nil>
	// InvalidArgument
}

func ExampleCodeOf() {
	fmt.Println(tailorgrpc.CodeOf(fault.Conflict), tailorgrpc.KindOf(codes.Aborted))
	// Output:
	// AlreadyExists conflict
}
