// Package grpc is tailor's gRPC transport: go-kit's transport/grpc with
// tailor's error model, request IDs, panic recovery and the standard health
// service.
//
// Where to start:
//
//   - Server: [NewServer] makes a *grpc.Server whose interceptors give every
//     call a request ID, recover panics and turn returned errors into
//     statuses. Serve each RPC with a [Handler] made by [NewHandler] from a
//     go-kit endpoint and typed decode and encode functions. Register
//     [NewHealth] and flip it with [Health.SetServing] as the service turns
//     ready and starts draining.
//   - Client: [NewConn] makes a *grpc.ClientConn whose interceptors send the
//     request ID and turn statuses back into errors; [NewClient] makes a
//     go-kit endpoint for one RPC, to wrap in middlewares and adapt with
//     [github.com/tailorkit/tailor.Call].
//   - Errors: [CodeOf] and [KindOf] map fault kinds to gRPC codes and
//     back; [Status] and [Error] map between [fault] errors and gRPC
//     statuses, the same way the HTTP transport maps them to problem+json:
//     the code is [CodeOf] the kind, the message the
//     client-safe detail, and field violations and retry delays travel as
//     google.rpc.BadRequest and google.rpc.RetryInfo details. A client sees
//     errors.Is(err, fault.NotFound) exactly when the server returned a
//     NotFound error.
//
// The package is named grpc like the one it builds on; import it under
// another name, such as tailorgrpc, next to google.golang.org/grpc.
package grpc
