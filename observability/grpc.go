package observability

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// UnaryServerInterceptor observes unary gRPC calls: a server span named
// after the full method ("pkg.Service/Method") that continues the
// caller's trace from the metadata, with rpc.system, rpc.service,
// rpc.method and rpc.grpc.status_code; and rpc.server.call.duration by
// service, method and status code. Codes that are the server's fault
// (INTERNAL, UNKNOWN, UNAVAILABLE, DEADLINE_EXCEEDED, UNIMPLEMENTED,
// DATA_LOSS) set the span status to Error; the others do not. Chain it
// after tailor's own interceptors, so the request ID is in the context and
// handler errors are still [fault] errors.
func (in *Telemetry) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		ctx, span := in.startServerSpan(ctx, info.FullMethod)
		done := false
		defer func() {
			if !done { // the handler panicked; tailor's recovery answers INTERNAL
				in.finishRPC(ctx, kindRPCServer, info.FullMethod, grpccodes.Internal, nil, span, start, in.rpcServer)
			}
		}()
		resp, err = handler(ctx, req)
		done = true
		in.finishRPC(ctx, kindRPCServer, info.FullMethod, codeOf(err), err, span, start, in.rpcServer)
		return resp, err
	}
}

// StreamServerInterceptor observes streaming gRPC calls as
// [Telemetry.UnaryServerInterceptor] does unary ones; the span covers
// the whole stream.
func (in *Telemetry) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		start := time.Now()
		ctx, span := in.startServerSpan(ss.Context(), info.FullMethod)
		done := false
		defer func() {
			if !done {
				in.finishRPC(ctx, kindRPCServer, info.FullMethod, grpccodes.Internal, nil, span, start, in.rpcServer)
			}
		}()
		err = handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
		done = true
		in.finishRPC(ctx, kindRPCServer, info.FullMethod, codeOf(err), err, span, start, in.rpcServer)
		return err
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// startServerSpan starts a call's server span, continuing the caller's
// trace; the span is nil when tracing is off.
func (in *Telemetry) startServerSpan(ctx context.Context, fullMethod string) (context.Context, trace.Span) {
	if !in.tracing {
		return ctx, nil
	}
	ctx = in.propagator.Extract(ctx, incomingCarrier{ctx})
	return in.tracer.Start(ctx, strings.TrimPrefix(fullMethod, "/"), in.serverSpan...)
}

// UnaryClientInterceptor observes unary gRPC client calls: a client span
// named after the full method, the trace context sent in the outgoing
// metadata, and rpc.client.call.duration. Any failed call sets the span
// status to Error. Install it with
//
//	tgrpc.NewConn(target, grpc.WithChainUnaryInterceptor(inst.UnaryClientInterceptor()))
func (in *Telemetry) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		var span trace.Span
		if in.tracing {
			ctx, span = in.tracer.Start(ctx, strings.TrimPrefix(method, "/"), in.clientSpan...)
			md, _ := metadata.FromOutgoingContext(ctx)
			md = md.Copy()
			in.propagator.Inject(ctx, metadataCarrier(md))
			ctx = metadata.NewOutgoingContext(ctx, md)
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		in.finishRPC(ctx, kindRPCClient, method, codeOf(err), err, span, start, in.rpcClient)
		return err
	}
}

func (in *Telemetry) finishRPC(ctx context.Context, kind uint8, fullMethod string, code grpccodes.Code, err error, span trace.Span, start time.Time, h metric.Float64Histogram) {
	elapsed := time.Since(start)
	service, method := splitMethod(fullMethod)
	failed := code != grpccodes.OK
	if kind == kindRPCServer {
		failed = serverFaultCode(code)
	}
	if span != nil {
		if span.IsRecording() {
			span.SetAttributes(keyRPCSystem.String("grpc"), keyRPCService.String(service), keyRPCMethod.String(method), keyRPCGRPCStatus.Int(int(code)))
			if failed {
				span.SetAttributes(keyErrorType.String(code.String()))
				if err != nil {
					span.RecordError(err)
				}
				span.SetStatus(codes.Error, code.String())
			}
		}
		span.End()
	}
	opt := in.recordOptions(attrKey{kind: kind, route: fullMethod, status: int(code)}, func() []attribute.KeyValue {
		return []attribute.KeyValue{keyRPCSystem.String("grpc"), keyRPCService.String(service), keyRPCMethod.String(method), keyRPCGRPCStatus.Int(int(code))}
	})
	h.Record(ctx, elapsed.Seconds(), opt...)
}

// codeOf is the status code a call's error carries: the gRPC status's, or
// the fault kind's for errors that are not yet statuses.
func codeOf(err error) grpccodes.Code {
	if err == nil {
		return grpccodes.OK
	}
	if s, ok := status.FromError(err); ok && s.Code() != grpccodes.Unknown {
		return s.Code()
	}
	return tgrpc.CodeOf(fault.KindOf(err))
}

// serverFaultCode reports whether a server's answer with code is the
// server's fault, as the semantic conventions list them.
func serverFaultCode(c grpccodes.Code) bool {
	switch c {
	case grpccodes.Unknown, grpccodes.DeadlineExceeded, grpccodes.Unimplemented, grpccodes.Internal, grpccodes.Unavailable, grpccodes.DataLoss:
		return true
	}
	return false
}

func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

// incomingCarrier reads trace context from a server call's incoming
// metadata, one key at a time, rather than copying all of it.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set does nothing: incoming metadata is read-only.
func (incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	return metadataCarrier(md).Keys()
}

// metadataCarrier reads and writes trace context in gRPC metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
