package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"strings"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

// upper is the business function: plain Go types, no protobuf, no gRPC.
func upper(_ context.Context, text string) (string, error) {
	if text == "" {
		return "", fault.Invalid(fault.Violation{Field: "message", Description: "must not be empty"})
	}
	return strings.ToUpper(text), nil
}

// upperServer binds the generated Echo service to the endpoint.
type upperServer struct {
	testpb.UnimplementedEchoServer
	echo *tailorgrpc.Handler[*testpb.EchoRequest, *testpb.EchoReply]
}

func (s *upperServer) Echo(ctx context.Context, req *testpb.EchoRequest) (*testpb.EchoReply, error) {
	return s.echo.Serve(ctx, req)
}

// A server and a client of one RPC over loopback, with the request ID and a
// validation error crossing the wire.
func Example() {
	// The server: endpoint, typed decode and encode, health.
	s := tailorgrpc.NewServer()
	testpb.RegisterEchoServer(s, &upperServer{echo: tailorgrpc.NewHandler(
		tailor.Endpoint(upper),
		func(_ context.Context, req *testpb.EchoRequest) (string, error) { return req.GetMessage(), nil },
		func(_ context.Context, text string) (*testpb.EchoReply, error) {
			return &testpb.EchoReply{Message: text}, nil
		},
	)})
	health := tailorgrpc.NewHealth(s)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	health.SetServing(true)
	defer func() {
		health.SetServing(false) // drain: balancers stop sending calls
		s.GracefulStop()
	}()

	// The client: a go-kit endpoint, adapted to a typed function.
	cc, err := tailorgrpc.NewConn(lis.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	e, err := tailorgrpc.NewClient(cc, testpb.Echo_Echo_FullMethodName,
		func(_ context.Context, text string) (*testpb.EchoRequest, error) {
			return &testpb.EchoRequest{Message: text}, nil
		},
		func(_ context.Context, reply *testpb.EchoReply) (string, error) { return reply.GetMessage(), nil },
	)
	if err != nil {
		log.Fatal(err)
	}
	shout := tailor.Call[string, string](e)

	ctx := requestid.NewContext(context.Background(), "req-1")
	got, err := shout(ctx, "hello")
	fmt.Println(got, err)

	_, err = shout(ctx, "")
	var fe *fault.Error
	if errors.As(err, &fe) {
		fmt.Println(errors.Is(err, fault.InvalidArgument), fe.Violations)
	}
	// Output:
	// HELLO <nil>
	// true [{message must not be empty}]
}
