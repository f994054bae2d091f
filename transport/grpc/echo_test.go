package grpc_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

// echo is the business side of the Echo service: domain types, no protobuf.
type echoRequest struct {
	Message string
	Fail    *testpb.Failure
	Panic   bool
}

type echoResponse struct {
	Message   string
	RequestID string
}

// echo answers with the request's message and the context's request ID, or
// fails or panics as the request asks.
func echo(ctx context.Context, req echoRequest) (echoResponse, error) {
	if req.Panic {
		panic("secret panic value")
	}
	if err := failure(req.Fail); err != nil {
		return echoResponse{}, err
	}
	return echoResponse{Message: req.Message, RequestID: requestid.FromContext(ctx)}, nil
}

// failure builds the error a Failure describes, or nil.
func failure(f *testpb.Failure) error {
	if f == nil {
		return nil
	}
	kind, ok := fault.ParseKind(f.GetKind())
	if !ok {
		return fault.Errorf(fault.InvalidArgument, "unknown fault kind %q", f.GetKind())
	}
	fe := &fault.Error{
		Kind:       kind,
		Detail:     f.GetDetail(),
		RetryAfter: time.Duration(f.GetRetryAfterMs()) * time.Millisecond,
	}
	if f.GetCause() != "" {
		fe.Cause = errors.New(f.GetCause())
	}
	for _, v := range f.GetViolations() {
		fe.Violations = append(fe.Violations, fault.Violation{Field: v.GetField(), Description: v.GetDescription()})
	}
	return fe
}

func decodeEcho(_ context.Context, req *testpb.EchoRequest) (echoRequest, error) {
	return echoRequest{Message: req.GetMessage(), Fail: req.GetFail(), Panic: req.GetPanic()}, nil
}

func encodeEcho(_ context.Context, resp echoResponse) (*testpb.EchoReply, error) {
	return &testpb.EchoReply{Message: resp.Message, RequestId: resp.RequestID}, nil
}

// echoServer binds the generated service to the endpoint. Echo goes through
// a tailor Handler; EchoStream is written directly against grpc-go, as
// stream RPCs are.
type echoServer struct {
	testpb.UnimplementedEchoServer
	echo *tailorgrpc.Handler[*testpb.EchoRequest, *testpb.EchoReply]
}

func newEchoServer() *echoServer {
	return &echoServer{echo: tailorgrpc.NewHandler(tailor.Endpoint(echo), decodeEcho, encodeEcho)}
}

func (s *echoServer) Echo(ctx context.Context, req *testpb.EchoRequest) (*testpb.EchoReply, error) {
	return s.echo.Serve(ctx, req)
}

func (s *echoServer) EchoStream(req *testpb.EchoStreamRequest, stream grpc.ServerStreamingServer[testpb.EchoReply]) error {
	r := req.GetRequest()
	for range req.GetCount() {
		resp, err := echo(stream.Context(), echoRequest{Message: r.GetMessage(), Panic: r.GetPanic()})
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.EchoReply{Message: resp.Message, RequestId: resp.RequestID}); err != nil {
			return err
		}
	}
	return failure(r.GetFail())
}

// serveEcho registers the Echo service on s and serves it as serve does.
func serveEcho(t testing.TB, s *grpc.Server) string {
	t.Helper()
	testpb.RegisterEchoServer(s, newEchoServer())
	return serve(t, s)
}

// serve serves s on a loopback port and returns the address. The server
// stops when the test ends.
func serve(t testing.TB, s *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, want nil after Stop", err)
		}
	})
	return lis.Addr().String()
}

// dial returns a connection to addr made by NewConn, closed when the test
// ends.
func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := tailorgrpc.NewConn(addr)
	if err != nil {
		t.Fatalf("NewConn(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// testContext returns a context that ends before the test's own deadline,
// so a hung call fails the test with a message instead of a timeout dump.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
