package grpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

var allKinds = []fault.Kind{
	fault.Internal, fault.InvalidArgument, fault.Unauthenticated, fault.PermissionDenied,
	fault.NotFound, fault.Conflict, fault.FailedPrecondition, fault.ResourceExhausted,
	fault.Canceled, fault.Unavailable, fault.DeadlineExceeded,
}

// callers are the two ways a client calls the Echo RPC: the generated
// client over a connection made by NewConn, and a go-kit endpoint made by
// NewClient over a plain grpc-go connection, so each path is shown to map
// errors and send request IDs on its own.
func callers(t *testing.T, addr string) map[string]func(context.Context, *testpb.EchoRequest) (*testpb.EchoReply, error) {
	t.Helper()
	generated := testpb.NewEchoClient(dial(t, addr))

	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = plain.Close() })
	e, err := tailorgrpc.NewClient(plain, testpb.Echo_Echo_FullMethodName,
		func(_ context.Context, req *testpb.EchoRequest) (*testpb.EchoRequest, error) { return req, nil },
		func(_ context.Context, reply *testpb.EchoReply) (*testpb.EchoReply, error) { return reply, nil },
	)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]func(context.Context, *testpb.EchoRequest) (*testpb.EchoReply, error){
		"NewConn": func(ctx context.Context, req *testpb.EchoRequest) (*testpb.EchoReply, error) {
			return generated.Echo(ctx, req)
		},
		"NewClient": func(ctx context.Context, req *testpb.EchoRequest) (*testpb.EchoReply, error) {
			resp, err := e(ctx, req)
			if err != nil {
				return nil, err
			}
			return resp.(*testpb.EchoReply), nil
		},
	}
}

func TestErrorRoundTrip(t *testing.T) {
	addr := serveEcho(t, tailorgrpc.NewServer())

	type testCase struct {
		name           string
		fail           *testpb.Failure
		wantKind       fault.Kind
		wantDetail     string
		wantViolations []fault.Violation
		wantRetryAfter time.Duration
	}
	var cases []testCase
	for _, k := range allKinds {
		tc := testCase{
			name:       k.String(),
			fail:       &testpb.Failure{Kind: k.String(), Detail: "detail of " + k.String(), Cause: "secret cause"},
			wantKind:   k,
			wantDetail: "detail of " + k.String(),
		}
		if k.ServerFault() {
			tc.wantDetail = (&fault.Error{Kind: k}).PublicDetail()
		}
		cases = append(cases, tc)
	}
	cases = append(cases,
		testCase{
			name: "violations",
			fail: &testpb.Failure{Kind: "invalid_argument", Detail: "the order is invalid", Violations: []*testpb.FieldViolation{
				{Field: "items[0].sku", Description: "must not be empty"},
				{Field: "total.amount", Description: "must be positive"},
			}},
			wantKind:   fault.InvalidArgument,
			wantDetail: "the order is invalid",
			wantViolations: []fault.Violation{
				{Field: "items[0].sku", Description: "must not be empty"},
				{Field: "total.amount", Description: "must be positive"},
			},
		},
		testCase{
			name:           "retry after on a client fault",
			fail:           &testpb.Failure{Kind: "resource_exhausted", Detail: "rate limit of 10/s exceeded", RetryAfterMs: 1500},
			wantKind:       fault.ResourceExhausted,
			wantDetail:     "rate limit of 10/s exceeded",
			wantRetryAfter: 1500 * time.Millisecond,
		},
		testCase{
			name:           "retry after on a server fault",
			fail:           &testpb.Failure{Kind: "unavailable", Detail: "database down", Cause: "secret cause", RetryAfterMs: 2000},
			wantKind:       fault.Unavailable,
			wantDetail:     (&fault.Error{Kind: fault.Unavailable}).PublicDetail(),
			wantRetryAfter: 2 * time.Second,
		},
		testCase{
			name: "violations of a server fault stay on the server",
			fail: &testpb.Failure{Kind: "internal", Detail: "secret detail", Violations: []*testpb.FieldViolation{
				{Field: "secret", Description: "secret"},
			}},
			wantKind:   fault.Internal,
			wantDetail: (&fault.Error{Kind: fault.Internal}).PublicDetail(),
		},
	)

	for name, call := range callers(t, addr) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := call(testContext(t), &testpb.EchoRequest{Message: "hi", Fail: tc.fail})
					if !errors.Is(err, tc.wantKind) {
						t.Fatalf("got error %v (kind %v), want kind %v", err, fault.KindOf(err), tc.wantKind)
					}
					var fe *fault.Error
					if !errors.As(err, &fe) {
						t.Fatalf("got error %T, want a *fault.Error", err)
					}
					if fe.Detail != tc.wantDetail {
						t.Errorf("got detail %q, want %q", fe.Detail, tc.wantDetail)
					}
					if strings.Contains(err.Error(), "secret") {
						t.Errorf("got error %q, which leaks server-internal text", err)
					}
					if !reflect.DeepEqual(fe.Violations, tc.wantViolations) {
						t.Errorf("got violations %v, want %v", fe.Violations, tc.wantViolations)
					}
					if fe.RetryAfter != tc.wantRetryAfter {
						t.Errorf("got RetryAfter %v, want %v", fe.RetryAfter, tc.wantRetryAfter)
					}
					if got, want := status.Code(fe.Cause), tailorgrpc.CodeOf(tc.wantKind); got != want {
						t.Errorf("got cause with code %v, want the status error with code %v", got, want)
					}
				})
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	addr := serveEcho(t, tailorgrpc.NewServer())
	tooLong := strings.Repeat("a", requestid.MaxLen+1)
	cases := []struct {
		name string
		id   string // in the client's context; "" for none
		keep bool   // whether the server must use it as is
	}{
		{name: "valid", id: "order-7f3a", keep: true},
		{name: "absent", id: ""},
		{name: "with a space", id: "two words"},
		{name: "too long", id: tooLong},
	}
	for name, call := range callers(t, addr) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := testContext(t)
					if tc.id != "" {
						ctx = requestid.NewContext(ctx, tc.id)
					}
					reply, err := call(ctx, &testpb.EchoRequest{Message: "hi"})
					if err != nil {
						t.Fatalf("Echo: %v", err)
					}
					got := reply.GetRequestId()
					switch {
					case tc.keep && got != tc.id:
						t.Errorf("server saw request ID %q, want the client's %q", got, tc.id)
					case !tc.keep && (got == tc.id || len(got) != 20):
						t.Errorf("server saw request ID %q, want a new one of %d characters", got, 20)
					}
				})
			}
		})
	}
}

func TestRequestIDInResponseHeader(t *testing.T) {
	addr := serveEcho(t, tailorgrpc.NewServer())
	client := testpb.NewEchoClient(dial(t, addr))
	cases := []struct {
		name string
		id   string
		fail bool
	}{
		{name: "given", id: "order-7f3a"},
		{name: "given on error", id: "order-7f3b", fail: true},
		{name: "made", id: ""},
		{name: "made on error", id: "", fail: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			if tc.id != "" {
				ctx = requestid.NewContext(ctx, tc.id)
			}
			req := &testpb.EchoRequest{Message: "hi"}
			if tc.fail {
				req.Fail = &testpb.Failure{Kind: "failed_precondition", Detail: "not yet"}
			}
			var header metadata.MD
			reply, err := client.Echo(ctx, req, grpc.Header(&header))
			if (err != nil) != tc.fail {
				t.Fatalf("got error %v, want failure %v", err, tc.fail)
			}
			ids := header.Get(requestid.MetadataKey)
			if len(ids) != 1 || !requestid.Valid(ids[0]) {
				t.Fatalf("got response header %s=%q, want one valid request ID", requestid.MetadataKey, ids)
			}
			if tc.id != "" && ids[0] != tc.id {
				t.Errorf("got response header request ID %q, want %q", ids[0], tc.id)
			}
			if !tc.fail && reply.GetRequestId() != ids[0] {
				t.Errorf("handler saw request ID %q, header says %q; want the same", reply.GetRequestId(), ids[0])
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPanicRecovery(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(tailorgrpc.UnaryServerInterceptor(tailorgrpc.WithLogger(logger))),
		grpc.ChainStreamInterceptor(tailorgrpc.StreamServerInterceptor(tailorgrpc.WithLogger(logger))),
	)
	client := testpb.NewEchoClient(dial(t, serveEcho(t, s)))
	ctx := requestid.NewContext(testContext(t), "panic-1")

	for i := range 3 {
		_, err := client.Echo(ctx, &testpb.EchoRequest{Panic: true})
		if !errors.Is(err, fault.Internal) {
			t.Fatalf("call %d: got error %v, want internal", i, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("call %d: got error %q, which leaks the panic value", i, err)
		}
		reply, err := client.Echo(ctx, &testpb.EchoRequest{Message: "still here"})
		if err != nil || reply.GetMessage() != "still here" {
			t.Fatalf("call %d after a panic: got %v, %v; want the echo", i, reply, err)
		}
	}

	stream, err := client.EchoStream(ctx, &testpb.EchoStreamRequest{Request: &testpb.EchoRequest{Panic: true}, Count: 1})
	if err != nil {
		t.Fatalf("EchoStream: %v", err)
	}
	if _, err := stream.Recv(); !errors.Is(err, fault.Internal) || strings.Contains(err.Error(), "secret") {
		t.Errorf("got stream error %v, want internal without the panic value", err)
	}

	log := logs.String()
	for _, want := range []string{"secret panic value", "request_id=panic-1", "method=/tailor.testpb.Echo/Echo", "method=/tailor.testpb.Echo/EchoStream", "stack="} {
		if !strings.Contains(log, want) {
			t.Errorf("panic log lacks %q; got:\n%s", want, log)
		}
	}
}

func TestStream(t *testing.T) {
	client := testpb.NewEchoClient(dial(t, serveEcho(t, tailorgrpc.NewServer())))
	cases := []struct {
		name     string
		req      *testpb.EchoStreamRequest
		wantN    int
		wantKind fault.Kind // checked when wantErr
		wantErr  bool
	}{
		{name: "three replies", req: &testpb.EchoStreamRequest{Request: &testpb.EchoRequest{Message: "hi"}, Count: 3}, wantN: 3},
		{
			name:     "fails after two",
			req:      &testpb.EchoStreamRequest{Request: &testpb.EchoRequest{Message: "hi", Fail: &testpb.Failure{Kind: "permission_denied", Detail: "not yours"}}, Count: 2},
			wantN:    2,
			wantKind: fault.PermissionDenied,
			wantErr:  true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := requestid.NewContext(testContext(t), "stream-1")
			stream, err := client.EchoStream(ctx, tc.req)
			if err != nil {
				t.Fatalf("EchoStream: %v", err)
			}
			header, err := stream.Header()
			if err != nil {
				t.Fatalf("EchoStream header: %v", err)
			}
			if got := header.Get(requestid.MetadataKey); len(got) != 1 || got[0] != "stream-1" {
				t.Errorf("got response header %s=%q, want [stream-1]", requestid.MetadataKey, got)
			}
			n := 0
			for {
				reply, err := stream.Recv()
				if err == io.EOF {
					if tc.wantErr {
						t.Fatalf("stream ended cleanly, want kind %v", tc.wantKind)
					}
					break
				}
				if err != nil {
					if !tc.wantErr || !errors.Is(err, tc.wantKind) {
						t.Fatalf("got stream error %v, want kind %v: %v", err, tc.wantKind, tc.wantErr)
					}
					break
				}
				n++
				if reply.GetRequestId() != "stream-1" {
					t.Errorf("reply %d: server saw request ID %q, want %q", n, reply.GetRequestId(), "stream-1")
				}
			}
			if n != tc.wantN {
				t.Errorf("got %d replies, want %d", n, tc.wantN)
			}
		})
	}
}

func TestUnavailableWhenNobodyListens(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // now nothing listens on addr

	for name, call := range callers(t, addr) {
		t.Run(name, func(t *testing.T) {
			_, err := call(testContext(t), &testpb.EchoRequest{Message: "hi"})
			if !errors.Is(err, fault.Unavailable) {
				t.Fatalf("got error %v, want unavailable", err)
			}
			if !fault.IsRetryable(err) {
				t.Errorf("got IsRetryable false for %v, want true", err)
			}
		})
	}
}

func TestNewConnCredentials(t *testing.T) {
	cases := []struct {
		target  string
		wantErr bool
	}{
		{target: "127.0.0.1:50051"},
		{target: "127.9.9.9:50051"},
		{target: "localhost:50051"},
		{target: "[::1]:50051"},
		{target: "dns:///localhost:50051"},
		{target: "passthrough:///127.0.0.1:50051"},
		{target: "unix:///tmp/tailor.sock"},
		{target: "inventory.internal:50051", wantErr: true},
		{target: "dns:///inventory.internal:50051", wantErr: true},
		{target: "10.0.0.7:50051", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			// grpc.NewClient connects lazily, so no call leaves the machine.
			cc, err := tailorgrpc.NewConn(tc.target)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewConn(%q): got error %v, want error %v", tc.target, err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.target) {
					t.Errorf("got error %q, want it to name the target", err)
				}
				return
			}
			_ = cc.Close()
			cc, err = tailorgrpc.NewConn(tc.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatalf("NewConn(%q) with explicit credentials: %v", tc.target, err)
			}
			_ = cc.Close()
		})
	}
	cc, err := tailorgrpc.NewConn("inventory.internal:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewConn with explicit credentials for a remote target: %v", err)
	}
	_ = cc.Close()
}

func TestHandlerErrors(t *testing.T) {
	ctx := context.Background()
	okEndpoint := func(context.Context, any) (any, error) { return "a string, not an echoResponse", nil }
	cases := []struct {
		name     string
		handler  *tailorgrpc.Handler[*testpb.EchoRequest, *testpb.EchoReply]
		wantCode codes.Code
		wantMsg  string
	}{
		{
			name: "decoder error is bad input",
			handler: tailorgrpc.NewHandler(endpoint.Nop,
				func(context.Context, *testpb.EchoRequest) (echoRequest, error) {
					return echoRequest{}, errors.New("message: must not be empty")
				}, encodeEcho),
			wantCode: codes.InvalidArgument,
			wantMsg:  "the request could not be decoded: message: must not be empty",
		},
		{
			name: "decoder fault keeps its kind",
			handler: tailorgrpc.NewHandler(endpoint.Nop,
				func(context.Context, *testpb.EchoRequest) (echoRequest, error) {
					return echoRequest{}, fault.New(fault.Unauthenticated, "sign in first")
				}, encodeEcho),
			wantCode: codes.Unauthenticated,
			wantMsg:  "sign in first",
		},
		{
			name:     "endpoint and encoder mismatch",
			handler:  tailorgrpc.NewHandler(okEndpoint, decodeEcho, encodeEcho),
			wantCode: codes.Internal,
			wantMsg:  (&fault.Error{Kind: fault.Internal}).PublicDetail(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.handler.Serve(ctx, &testpb.EchoRequest{Message: "hi"})
			st, ok := status.FromError(err)
			if !ok {
				t.Fatalf("got error %T %v, want a status error", err, err)
			}
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
				t.Errorf("got status %v %q, want %v %q", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestNewClientBadMethod(t *testing.T) {
	cc := dial(t, "127.0.0.1:1") // never called
	for _, method := range []string{"", "Echo", "/tailor.testpb.Echo", "/tailor.testpb.Echo/", "//Echo", "tailor.testpb.Echo/Echo"} {
		e, err := tailorgrpc.NewClient(cc, method,
			func(_ context.Context, req *testpb.EchoRequest) (*testpb.EchoRequest, error) { return req, nil },
			func(_ context.Context, reply *testpb.EchoReply) (*testpb.EchoReply, error) { return reply, nil },
		)
		if e != nil || err == nil || !strings.Contains(err.Error(), "FullMethodName") {
			t.Errorf("NewClient(%q) = %v, %v; want no endpoint and an error pointing at FullMethodName", method, e != nil, err)
		}
	}
}

func TestNewClientWrongRequestType(t *testing.T) {
	addr := serveEcho(t, tailorgrpc.NewServer())
	e, err := tailorgrpc.NewClient(dial(t, addr), testpb.Echo_Echo_FullMethodName,
		func(_ context.Context, req echoRequest) (*testpb.EchoRequest, error) {
			return &testpb.EchoRequest{Message: req.Message}, nil
		},
		func(_ context.Context, reply *testpb.EchoReply) (echoResponse, error) {
			return echoResponse{Message: reply.GetMessage(), RequestID: reply.GetRequestId()}, nil
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e(testContext(t), "not an echoRequest"); !errors.Is(err, fault.Internal) || !strings.Contains(err.Error(), "string") {
		t.Errorf("got error %v, want an internal error naming the request's type", err)
	}
	resp, err := e(testContext(t), echoRequest{Message: "typed"})
	if err != nil || resp.(echoResponse).Message != "typed" {
		t.Errorf("got %v, %v; want the typed echo", resp, err)
	}
}

func TestNewServerRunsUserInterceptorsInside(t *testing.T) {
	var mu sync.Mutex
	var sawID string
	var sawErr error
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		mu.Lock()
		defer mu.Unlock()
		sawID, sawErr = requestid.FromContext(ctx), err
		return resp, err
	}
	client := testpb.NewEchoClient(dial(t, serveEcho(t, tailorgrpc.NewServer(grpc.ChainUnaryInterceptor(record)))))
	ctx := requestid.NewContext(testContext(t), "inner-1")
	if _, err := client.Echo(ctx, &testpb.EchoRequest{Fail: &testpb.Failure{Kind: "not_found", Detail: "gone"}}); !errors.Is(err, fault.NotFound) {
		t.Fatalf("got error %v, want not found", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if sawID != "inner-1" {
		t.Errorf("user interceptor saw request ID %q, want %q: tailor's interceptor must run first", sawID, "inner-1")
	}
	if got := status.Code(sawErr); got != codes.NotFound {
		t.Errorf("user interceptor saw error code %v, want %v", got, codes.NotFound)
	}
}

// TestOutgoingMetadataIsSent: metadata the caller put in the context, such
// as a bearer token, reaches the server through every client, next to the
// request ID.
func TestOutgoingMetadataIsSent(t *testing.T) {
	seen := make(chan metadata.MD, 2)
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		seen <- md
		return h(ctx, req)
	}
	addr := serveEcho(t, tailorgrpc.NewServer(grpc.ChainUnaryInterceptor(record)))
	for name, call := range callers(t, addr) {
		t.Run(name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(requestid.NewContext(testContext(t), "req-1"), "authorization", "Bearer abc", "x-tenant", "t1")
			if _, err := call(ctx, &testpb.EchoRequest{Message: "hi"}); err != nil {
				t.Fatalf("Echo: %v", err)
			}
			md := <-seen
			for key, want := range map[string]string{"authorization": "Bearer abc", "x-tenant": "t1", requestid.MetadataKey: "req-1"} {
				if got := md.Get(key); len(got) != 1 || got[0] != want {
					t.Errorf("server saw %s=%q, want [%q]", key, got, want)
				}
			}
		})
	}
}
