// Package tailor is a toolkit for building microservices on go-kit.
//
// This root package holds typed endpoints: write business functions with
// concrete request and response types, and adapt them to go-kit's
// [endpoint.Endpoint] at the edge with [Endpoint], so no handler ever writes
// a type assertion. [Call] goes the other way for clients. Every middleware
// in tailor stays a plain go-kit [endpoint.Middleware] and wraps the adapted
// endpoint.
//
// Where to go next:
//   - [github.com/tailorkit/tailor/service]: a service's lifecycle, listeners,
//     health and graceful shutdown; start here. Its servicetest package runs
//     one inside a test.
//   - [github.com/tailorkit/tailor/transport/http] and
//     [github.com/tailorkit/tailor/transport/grpc]: go-kit transports with
//     tailor's error model.
//   - [github.com/tailorkit/tailor/fault]: the error model.
//   - [github.com/tailorkit/tailor/observability/telemetry]: the
//     OpenTelemetry providers main builds from the OTEL_* environment;
//     [github.com/tailorkit/tailor/observability] instruments with them.
//   - [github.com/tailorkit/tailor/discovery/client]: call another service
//     by name, over a registry of
//     [github.com/tailorkit/tailor/discovery/consul] or
//     [github.com/tailorkit/tailor/discovery/memory], with the
//     [github.com/tailorkit/tailor/resilience] policy each call needs.
//   - [github.com/tailorkit/tailor/auth]: bearer tokens and role guards.
//   - [github.com/tailorkit/tailor/migrate] and
//     [github.com/tailorkit/tailor/sqlite]: a service's own database.
//   - [github.com/tailorkit/tailor/messaging]: events between services,
//     with a transactional outbox and an idempotent inbox.
package tailor

import (
	"context"
	"fmt"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// Func is an endpoint with concrete request and response types.
type Func[Req, Resp any] func(ctx context.Context, req Req) (Resp, error)

// Endpoint adapts f to a go-kit endpoint. The request the endpoint receives
// must be a Req or a non-nil *Req (tailor's decoders hand over a *Req, which
// spares an allocation); anything else is answered with an Internal error
// naming both types, never a panic.
func Endpoint[Req, Resp any](f Func[Req, Resp]) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		switch req := request.(type) {
		case Req:
			return f(ctx, req)
		case *Req:
			if req != nil {
				return f(ctx, *req)
			}
		}
		var want Req
		return nil, fault.New(fault.Internal, fmt.Sprintf("tailor: endpoint wants a request of type %T, got %T; check the transport's decoder", want, request))
	}
}

// Call adapts a go-kit endpoint, typically a transport client, to a typed
// function. The endpoint's response must be a Resp or a non-nil *Resp
// (tailor's response decoders hand over a *Resp, which spares an
// allocation); anything else is an Internal error naming both types.
func Call[Req, Resp any](e endpoint.Endpoint) Func[Req, Resp] {
	return func(ctx context.Context, req Req) (Resp, error) {
		var zero Resp
		response, err := e(ctx, req)
		if err != nil {
			return zero, err
		}
		switch resp := response.(type) {
		case Resp:
			return resp, nil
		case *Resp:
			if resp != nil {
				return *resp, nil
			}
		}
		return zero, fault.New(fault.Internal, fmt.Sprintf("tailor: endpoint returned a response of type %T, want %T; check the transport's decoder", response, zero))
	}
}
