// Package auth verifies bearer tokens (JWS-signed JWTs) and guards
// endpoints by the caller's roles; it also issues such tokens for the
// service that logs callers in. JOSE itself is left to
// github.com/golang-jwt/jwt/v5 (tokens) and github.com/go-jose/go-jose/v4
// (key sets).
//
// A service that accepts tokens starts with [NewVerifier], over a
// [KeySource]: [NewRemoteKeys] fetches the issuer's JWKS from a URL and
// caches it, [NewStaticKeys] holds one in process, and a [Signer] is one
// over its own keys. The verifier's middlewares check the token of each
// request and put its [Claims] in the context, where [ClaimsFrom] finds
// them:
//
//   - [Verifier.HTTPMiddleware] for net/http handlers, reading
//     Authorization: Bearer;
//   - [Verifier.UnaryServerInterceptor] and
//     [Verifier.StreamServerInterceptor] for gRPC servers, reading the
//     "authorization" metadata;
//   - [Verifier.Middleware] for go-kit endpoints, reading the token that
//     [HTTPToContext] or [GRPCToContext] put in the context.
//
// A request without a token passes these as anonymous; an endpoint that
// needs a caller says so with [RequireAuthenticated] or [RequireRole],
// go-kit middlewares that answer 401 (UNAUTHENTICATED) when there is no
// verified caller and 403 (PERMISSION_DENIED) when the caller lacks the
// role. A request with a token that is not acceptable is refused with 401
// (as problem+json with WWW-Authenticate: Bearer error="invalid_token"
// over HTTP). Errors are [*fault.Error] values, so the transports encode
// them like any other; they never contain the token.
//
// A service that issues tokens starts with [NewSigner]: it signs with
// Ed25519 by default, rotates keys by ID ([Signer.Rotate]) and serves the
// public keys for verifiers ([Signer.JWKSHandler]). Keys come from
// [GenerateKey] or from a PKCS#8 PEM file ([ParsePrivateKeyPEM]).
package auth
