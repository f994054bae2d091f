package users

import (
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/auth"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RegisterHTTP serves s on r:
//
//	POST /v1/users      {"email", "password", "name"} -> 201 User
//	POST /v1/sessions   {"email", "password"} -> 200 {"token", "expires_at"}
//	GET  /v1/users/me   Authorization: Bearer <token> -> 200 User
//	GET  /.well-known/jwks.json -> the keys that verify the tokens
//
// GET /v1/users/me verifies the token with s's own keys and answers 401
// without a token or with one that does not verify. Tokens are sent with
// Cache-Control: no-store. opts are go-kit server options added to every
// route (an error logger, say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("POST /v1/users", thttp.NewServer(
		tailor.Endpoint(s.SignUp), thttp.DecodeJSON[SignUpRequest](), thttp.EncodeJSON(http.StatusCreated), opts...))
	r.Handle("POST /v1/sessions", thttp.NewServer(
		tailor.Endpoint(s.Login), thttp.DecodeJSON[LoginRequest](), noStore(thttp.EncodeJSON(http.StatusOK)), opts...))
	me := endpoint.Chain(auth.RequireAuthenticated())(tailor.Endpoint(s.Me))
	r.Handle("GET /v1/users/me", s.verifier.HTTPMiddleware()(thttp.NewServer(
		me, thttp.DecodeRequest[MeRequest](), thttp.EncodeJSON(http.StatusOK), opts...)))
	r.Handle("GET "+JWKSPath, s.signer.JWKSHandler())
}

// noStore keeps tokens out of caches (RFC 6749, section 5.1).
func noStore(enc kithttp.EncodeResponseFunc) kithttp.EncodeResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter, resp any) error {
		w.Header().Set("Cache-Control", "no-store")
		return enc(ctx, w, resp)
	}
}
