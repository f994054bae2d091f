package grpc

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"

	"github.com/go-kit/kit/endpoint"
	kitgrpc "github.com/go-kit/kit/transport/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
)

// NewConn returns a client connection to target with tailor's client
// interceptors installed ([UnaryClientInterceptor] and
// [StreamClientInterceptor], run after any interceptor in opts). Like
// [grpc.NewClient], which it calls, it does not connect until the first
// call.
//
// For a loopback target ("127.0.0.1:50051", "localhost:50051",
// "[::1]:50051", "dns:///localhost:50051") or a unix socket, the connection
// uses insecure (plaintext) credentials unless opts set others. For any
// other target opts must set credentials, with
// grpc.WithTransportCredentials: TLS credentials, or insecure ones when the
// network is trusted. The options are passed to grpc.NewClient after
// tailor's own, so they win.
func NewConn(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	all := make([]grpc.DialOption, 0, 3+len(opts))
	all = append(all,
		grpc.WithChainUnaryInterceptor(UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(StreamClientInterceptor()),
	)
	if isLocal(target) {
		all = append(all, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	all = append(all, opts...)
	cc, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("transport/grpc: cannot make a client for %q: %w", target, err)
	}
	return cc, nil
}

// isLocal reports whether target names a unix socket or a loopback
// address, where plaintext is a safe default.
func isLocal(target string) bool {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return true
	}
	endpoint := target
	if _, rest, ok := strings.Cut(target, "://"); ok {
		// scheme://authority/endpoint; the authority is usually empty.
		_, endpoint, ok = strings.Cut(rest, "/")
		if !ok {
			return false
		}
	}
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(endpoint, "["), "]")
	}
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// UnaryClientInterceptor returns the interceptor that tailor's client
// connections run: it sends the context's request ID
// ([requestid.FromContext]) in the outgoing metadata key
// [requestid.MetadataKey], unless the metadata already has one or the
// context has none, and turns a status error into a [*fault.Error] with
// [FromError], so a caller checks errors.Is(err, fault.NotFound).
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return FromError(invoker(outgoingRequestID(ctx), method, req, reply, cc, opts...))
	}
}

// StreamClientInterceptor returns the stream counterpart of
// [UnaryClientInterceptor]: the request ID goes out with the stream, and
// errors from opening the stream, SendMsg and RecvMsg become fault errors
// (io.EOF stays io.EOF).
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(outgoingRequestID(ctx), desc, cc, method, opts...)
		if err != nil {
			return nil, FromError(err)
		}
		return &clientStream{ClientStream: cs}, nil
	}
}

// clientStream is a grpc.ClientStream whose errors are fault errors.
type clientStream struct {
	grpc.ClientStream
}

func (s *clientStream) SendMsg(m any) error { return FromError(s.ClientStream.SendMsg(m)) }
func (s *clientStream) RecvMsg(m any) error { return FromError(s.ClientStream.RecvMsg(m)) }

// outgoingRequestID returns ctx with its request ID in the outgoing
// metadata, unless it has none or the metadata already holds one.
func outgoingRequestID(ctx context.Context) context.Context {
	id := requestid.FromContext(ctx)
	if id == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(requestid.MetadataKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
}

// NewClient returns a go-kit endpoint that calls one unary RPC over cc. It
// wraps go-kit's [kitgrpc.NewClient]: enc turns the endpoint's request into
// the gRPC request, dec turns the gRPC reply into the endpoint's response,
// and opts are go-kit's client options (ClientBefore, ClientAfter,
// ClientFinalizer).
//
// fullMethod is the RPC's full name, "/package.Service/Method"; the
// generated code declares it as a constant (Echo_Echo_FullMethodName). PResp
// is the generated reply type, a pointer such as *pb.EchoReply.
//
// The endpoint sends the metadata already in the context (see
// [metadata.AppendToOutgoingContext]; go-kit's client alone would replace
// it) and the context's request ID, and returns status errors as
// [*fault.Error]s (see [FromError]) whether or not cc was made by
// [NewConn]. A request that is not a Req is an Internal error naming both
// types. Adapt the endpoint to a typed function with
// [github.com/tailorkit/tailor.Call], after wrapping it in middlewares.
//
// It is an error if fullMethod is not of the form "/package.Service/Method",
// as [github.com/tailorkit/tailor/transport/http.NewClient] refuses a target
// that is not a URL: a typo is found when the client is built, not on its
// first call.
func NewClient[Req, PReq, PResp, Resp any](
	cc *grpc.ClientConn,
	fullMethod string,
	enc func(ctx context.Context, req Req) (PReq, error),
	dec func(ctx context.Context, reply PResp) (Resp, error),
	opts ...kitgrpc.ClientOption,
) (endpoint.Endpoint, error) {
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || !strings.HasPrefix(fullMethod, "/") || service == "" || method == "" || strings.Contains(method, "/") {
		return nil, fmt.Errorf("transport/grpc: client method name %q is not of the form \"/package.Service/Method\"; use the generated FullMethodName constant", fullMethod)
	}
	encode := func(ctx context.Context, request any) (any, error) {
		req, ok := request.(Req)
		if !ok {
			var want Req
			return nil, fault.New(fault.Internal, fmt.Sprintf("transport/grpc: client for %s got a request of type %T, want %T; check the caller", fullMethod, request, want))
		}
		return enc(ctx, req)
	}
	decode := func(ctx context.Context, reply any) (any, error) {
		r, _ := reply.(PResp) // go-kit allocates a reply of the type replyPrototype gives
		return dec(ctx, r)
	}
	all := make([]kitgrpc.ClientOption, 0, 1+len(opts))
	all = append(all, kitgrpc.ClientBefore(func(ctx context.Context, md *metadata.MD) context.Context {
		if out, ok := metadata.FromOutgoingContext(ctx); ok {
			for k, v := range out {
				(*md)[k] = append((*md)[k], v...)
			}
		}
		if id := requestid.FromContext(ctx); id != "" {
			md.Set(requestid.MetadataKey, id)
		}
		return ctx
	}))
	all = append(all, opts...)
	e := kitgrpc.NewClient(cc, service, method, encode, decode, replyPrototype[PResp](), all...).Endpoint()
	return func(ctx context.Context, request any) (any, error) {
		response, err := e(ctx, request)
		if err != nil {
			return nil, FromError(err)
		}
		return response, nil
	}, nil
}

// replyPrototype returns the value go-kit's client takes to learn the reply
// type: a new message for a pointer type, the zero value otherwise.
func replyPrototype[PResp any]() any {
	t := reflect.TypeFor[PResp]()
	if t.Kind() == reflect.Pointer {
		return reflect.New(t.Elem()).Interface()
	}
	var zero PResp
	return zero
}
