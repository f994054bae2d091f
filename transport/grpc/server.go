package grpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/go-kit/kit/endpoint"
	kitgrpc "github.com/go-kit/kit/transport/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
)

// Option configures the server interceptors.
type Option func(*config)

type config struct {
	logger *slog.Logger
	codec  *requestCodec // set by ServerOptions only
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// log returns the logger to report panics to: the one set by [WithLogger],
// or else [slog.Default] at the time of the panic, so a default set in main
// after the server was built is honoured.
func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithLogger sets the logger that recovered panics are reported to, with
// the method, the request ID, the panic value and the stack. The default is
// [slog.Default]. A nil logger keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// NewServer returns a gRPC server with tailor's server options
// ([ServerOptions]) installed ahead of opts. The options in opts are
// passed to [grpc.NewServer] after tailor's own, so they may add
// interceptors (grpc.ChainUnaryInterceptor), credentials and limits.
// Panics are reported to [slog.Default]; to report them elsewhere, pass
// ServerOptions(WithLogger(l)) to grpc.NewServer yourself.
//
// Register services on it, then [Health] with [NewHealth], then serve.
func NewServer(opts ...grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(ServerOptions(), opts...)...)
}

// ServerOptions returns what makes a grpc.Server a tailor one: the unary
// and stream interceptors of [UnaryServerInterceptor] and
// [StreamServerInterceptor], and a server codec of tailor's own, so that a
// request message that does not decode is answered INVALID_ARGUMENT before
// any handler runs (grpc-go alone answers INTERNAL, which callers retry and
// alerts count as the server's fault). The codec is grpc-go's protobuf
// codec behind grpc.ForceServerCodecV2; a codec set in later options
// replaces it, and with it this answer. Interceptors chained by later
// options run after tailor's.
func ServerOptions(opts ...Option) []grpc.ServerOption {
	c := newConfig(opts)
	c.codec = newRequestCodec()
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(c.codec),
		grpc.ChainUnaryInterceptor(c.unaryInterceptor()),
		grpc.ChainStreamInterceptor(c.streamInterceptor()),
	}
}

// UnaryServerInterceptor returns the interceptor that every tailor gRPC
// server runs first. For each call it
//
//   - takes the request ID from the incoming metadata key
//     [requestid.MetadataKey] when it is [requestid.Valid], and otherwise
//     makes a new one; puts it in the handler's context
//     ([requestid.FromContext] reads it) and sends it back in the response
//     header under the same key;
//   - recovers a panic in the handler, reports it with its stack to the
//     logger (see [WithLogger]) and answers INTERNAL with a generic message:
//     the panic value never reaches the client and the process keeps
//     serving;
//   - turns the error the handler returns into a status with [Status].
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(opts)
	return c.unaryInterceptor()
}

func (c *config) unaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx = serverRequestID(ctx)
		if err := c.codec.decodeFailure(req); err != nil {
			return nil, err
		}
		defer func() {
			if v := recover(); v != nil {
				resp, err = nil, c.recovered(ctx, info.FullMethod, v)
			}
		}()
		resp, err = handler(ctx, req)
		if err != nil {
			return nil, Status(err).Err()
		}
		return resp, nil
	}
}

// StreamServerInterceptor returns the stream counterpart of
// [UnaryServerInterceptor]: the same request ID, panic recovery and error
// mapping, for the error that ends the stream.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(opts)
	return c.streamInterceptor()
}

func (c *config) streamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := serverRequestID(ss.Context())
		defer func() {
			if v := recover(); v != nil {
				err = c.recovered(ctx, info.FullMethod, v)
			}
		}()
		if err := handler(srv, &serverStream{ServerStream: ss, ctx: ctx, codec: c.codec}); err != nil {
			return Status(err).Err()
		}
		return nil
	}
}

// serverStream is a grpc.ServerStream whose context carries the request
// ID, and whose messages that do not decode are INVALID_ARGUMENT.
type serverStream struct {
	grpc.ServerStream
	ctx   context.Context
	codec *requestCodec
}

func (s *serverStream) Context() context.Context { return s.ctx }

func (s *serverStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.decodeFailure(m)
}

// serverRequestID returns ctx with the call's request ID, taken from the
// incoming metadata or made anew, and sets it in the response header.
func serverRequestID(ctx context.Context) context.Context {
	id := ""
	if vals := metadata.ValueFromIncomingContext(ctx, requestid.MetadataKey); len(vals) > 0 && requestid.Valid(vals[0]) {
		id = vals[0]
	} else {
		id = requestid.New()
	}
	// SetHeader fails only when the header was already sent, which cannot
	// happen before the handler runs; the ID in the context matters more.
	// The key is already in lower case, as metadata keys must be, so the
	// header is built directly rather than through metadata.Pairs.
	_ = grpc.SetHeader(ctx, metadata.MD{requestid.MetadataKey: []string{id}})
	return requestid.NewContext(ctx, id)
}

// recovered reports a recovered panic and returns the status error the
// client gets instead.
func (c *config) recovered(ctx context.Context, method string, v any) error {
	c.log().ErrorContext(ctx, "transport/grpc: handler panicked; answering INTERNAL",
		slog.String("method", method),
		slog.String("request_id", requestid.FromContext(ctx)),
		slog.Any("panic", v),
		slog.String("stack", string(debug.Stack())),
	)
	return faultStatus(&fault.Error{Kind: fault.Internal}).Err()
}

// Handler serves one RPC with a go-kit endpoint. It wraps go-kit's
// [kitgrpc.Server] with typed decode and encode functions, so the
// generated service's method needs no type assertion:
//
//	func (s *echoServer) Echo(ctx context.Context, req *pb.EchoRequest) (*pb.EchoReply, error) {
//		return s.echo.Serve(ctx, req)
//	}
//
// A Handler is safe for concurrent use. Its zero value is not usable;
// build it once with [NewHandler].
type Handler[PReq, PResp any] struct {
	server *kitgrpc.Server
}

// NewHandler returns a handler that decodes the gRPC request with dec, calls
// e, and encodes e's response with enc. Typically e is a business function
// adapted with [github.com/tailorkit/tailor.Endpoint] and wrapped in
// middlewares; opts are go-kit's server options (ServerBefore, ServerAfter,
// ServerErrorHandler, ServerFinalizer).
//
// An error from dec that is not already a [*fault.Error] or a status is bad
// input: it becomes [fault.InvalidArgument] with the decoder's message as
// the detail. A response from e that is not a Resp is an Internal error
// naming both types; it means e and enc do not match.
func NewHandler[PReq, Req, Resp, PResp any](
	e endpoint.Endpoint,
	dec func(ctx context.Context, req PReq) (Req, error),
	enc func(ctx context.Context, resp Resp) (PResp, error),
	opts ...kitgrpc.ServerOption,
) *Handler[PReq, PResp] {
	decode := func(ctx context.Context, grpcReq any) (any, error) {
		pReq, _ := grpcReq.(PReq) // Serve passes only a PReq
		req, err := dec(ctx, pReq)
		if err != nil {
			return nil, decodeError(err)
		}
		return req, nil
	}
	encode := func(ctx context.Context, response any) (any, error) {
		resp, ok := response.(Resp)
		if !ok {
			var want Resp
			return nil, fault.New(fault.Internal, fmt.Sprintf("transport/grpc: endpoint returned a response of type %T, but the encoder wants %T; check that NewHandler's endpoint and encoder match", response, want))
		}
		return enc(ctx, resp)
	}
	return &Handler[PReq, PResp]{server: kitgrpc.NewServer(e, decode, encode, opts...)}
}

// decodeError classifies an error from a request decoder.
func decodeError(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return fault.Wrap(err, fault.InvalidArgument, "the request could not be decoded: "+err.Error())
}

// Serve handles one call. Its error is a gRPC status error made by
// [Status], so the handler is safe to use even on a server without
// tailor's interceptors.
func (h *Handler[PReq, PResp]) Serve(ctx context.Context, req PReq) (PResp, error) {
	var zero PResp
	_, resp, err := h.server.ServeGRPC(ctx, req)
	if err != nil {
		return zero, Status(err).Err()
	}
	pResp, _ := resp.(PResp) // encode returns only a PResp
	return pResp, nil
}
