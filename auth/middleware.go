package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-kit/kit/endpoint"
	kitgrpc "github.com/go-kit/kit/transport/grpc"
	kithttp "github.com/go-kit/kit/transport/http"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tailorkit/tailor/fault"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Errors of the guards. They are the causes of the [*fault.Error] values
// the guards return; classify them with [errors.Is].
var (
	// ErrNoToken means an operation needs an authenticated caller and the
	// request carries no bearer token.
	ErrNoToken = errors.New("auth: no bearer token")
	// ErrMissingRole means the caller's token is valid but lacks every role
	// the operation accepts.
	ErrMissingRole = errors.New("auth: caller lacks the role the operation needs")
)

type tokenKey struct{}

// bearer returns the token of an Authorization header value of the Bearer
// scheme (RFC 6750), which may be empty, and false for other schemes and an
// absent header.
func bearer(header string) (string, bool) {
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// HTTPToContext is a go-kit HTTP server [kithttp.RequestFunc] that puts the
// request's bearer token (Authorization: Bearer) in the context, for
// [Verifier.Middleware] to check. Use it with [kithttp.ServerBefore].
func HTTPToContext() kithttp.RequestFunc {
	return func(ctx context.Context, r *http.Request) context.Context {
		if token, ok := bearer(r.Header.Get("Authorization")); ok {
			return context.WithValue(ctx, tokenKey{}, token)
		}
		return ctx
	}
}

// GRPCToContext is a go-kit gRPC server [kitgrpc.ServerRequestFunc] that
// puts the call's bearer token ("authorization" metadata) in the context,
// for [Verifier.Middleware] to check. Use it with [kitgrpc.ServerBefore].
func GRPCToContext() kitgrpc.ServerRequestFunc {
	return func(ctx context.Context, md metadata.MD) context.Context {
		if token, ok := grpcBearer(md); ok {
			return context.WithValue(ctx, tokenKey{}, token)
		}
		return ctx
	}
}

func grpcBearer(md metadata.MD) (string, bool) {
	v := md.Get("authorization")
	if len(v) == 0 {
		return "", false
	}
	return bearer(v[0])
}

// Middleware returns a go-kit middleware that verifies the bearer token
// that [HTTPToContext] or [GRPCToContext] put in the context and puts its
// [Claims] there. A request without a token passes on as anonymous, so
// each endpoint decides with [RequireAuthenticated] or [RequireRole]; a
// request whose claims are already in the context (checked by
// [Verifier.HTTPMiddleware], say) passes on unchecked. An invalid token
// fails the request with the error [Verifier.Verify] returns.
func (v *Verifier) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if _, ok := ClaimsFrom(ctx); ok {
				return next(ctx, request)
			}
			token, ok := ctx.Value(tokenKey{}).(string)
			if !ok {
				return next(ctx, request)
			}
			claims, err := v.Verify(ctx, token)
			if err != nil {
				return nil, err
			}
			return next(ContextWithClaims(ctx, claims), request)
		}
	}
}

// HTTPMiddleware returns a net/http middleware that verifies the request's
// bearer token (Authorization: Bearer) and puts its [Claims] in the
// request's context. A request without a bearer token passes on as
// anonymous, so routes decide with guards. An invalid token is answered
// 401 with a problem+json body and, as RFC 6750 asks,
// WWW-Authenticate: Bearer error="invalid_token"; when the keys cannot be
// had the answer is 503.
func (v *Verifier) HTTPMiddleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			claims, err := v.Verify(r.Context(), token)
			if err != nil {
				thttp.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// UnaryServerInterceptor returns a gRPC interceptor that verifies the
// call's bearer token ("authorization" metadata, "Bearer <token>") and puts
// its [Claims] in the context. A call without a bearer token passes on as
// anonymous; an invalid token fails the call with UNAUTHENTICATED, and
// UNAVAILABLE when the keys cannot be had.
func (v *Verifier) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		token, ok := grpcBearer(md)
		if !ok {
			return handler(ctx, req)
		}
		claims, err := v.Verify(ctx, token)
		if err != nil {
			return nil, tgrpc.Status(err).Err()
		}
		return handler(ContextWithClaims(ctx, claims), req)
	}
}

// StreamServerInterceptor is [Verifier.UnaryServerInterceptor] for
// streaming calls: the stream's context carries the [Claims].
func (v *Verifier) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		md, _ := metadata.FromIncomingContext(ctx)
		token, ok := grpcBearer(md)
		if !ok {
			return handler(srv, ss)
		}
		claims, err := v.Verify(ctx, token)
		if err != nil {
			return tgrpc.Status(err).Err()
		}
		return handler(srv, claimsStream{ServerStream: ss, ctx: ContextWithClaims(ctx, claims)})
	}
}

// claimsStream is a server stream whose context carries claims.
type claimsStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s claimsStream) Context() context.Context { return s.ctx }

// challenge is the cause of a guard's refusal: it is err, and it asks
// the HTTP answer for the RFC 6750 challenge in WWW-Authenticate (through
// go-kit's Headerer, which transport/http's EncodeError honours).
type challenge struct {
	err   error
	value string
}

func (c challenge) Error() string        { return c.err.Error() }
func (c challenge) Unwrap() error        { return c.err }
func (c challenge) Headers() http.Header { return http.Header{"Www-Authenticate": {c.value}} }

// RequireAuthenticated returns a go-kit middleware that lets through only
// requests with verified [Claims] in the context, and fails the others with
// a [fault.Unauthenticated] error (401, UNAUTHENTICATED) that wraps
// [ErrNoToken]. Put it inside the verifier's middleware.
func RequireAuthenticated() endpoint.Middleware {
	return RequireRole()
}

// RequireRole returns a go-kit middleware that lets through only requests
// whose verified [Claims] hold at least one of roles. A request without
// claims fails with a [fault.Unauthenticated] error (401) wrapping
// [ErrNoToken]; one whose claims hold none of roles fails with a
// [fault.PermissionDenied] error (403) wrapping [ErrMissingRole]. Over
// HTTP the answers carry WWW-Authenticate: Bearer, and Bearer
// error="insufficient_scope" on the 403 (RFC 6750). With no
// roles it is [RequireAuthenticated].
func RequireRole(roles ...string) endpoint.Middleware {
	denied := &fault.Error{
		Kind:   fault.PermissionDenied,
		Detail: fmt.Sprintf("this operation needs one of the roles %q", roles),
		Cause:  challenge{ErrMissingRole, `Bearer error="insufficient_scope"`},
	}
	if len(roles) == 1 {
		denied.Detail = fmt.Sprintf("this operation needs the role %q", roles[0])
	}
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			claims, ok := ClaimsFrom(ctx)
			if !ok {
				return nil, &fault.Error{
					Kind:   fault.Unauthenticated,
					Detail: "this operation needs a bearer token; send Authorization: Bearer <token>",
					Cause:  challenge{ErrNoToken, "Bearer"},
				}
			}
			if len(roles) > 0 && !slices.ContainsFunc(roles, claims.HasRole) {
				return nil, denied
			}
			return next(ctx, request)
		}
	}
}
