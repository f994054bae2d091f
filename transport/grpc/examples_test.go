package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

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

func ExampleHealth() {
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
