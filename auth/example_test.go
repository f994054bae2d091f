package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
)

// The issuing service signs a token; a service that trusts it verifies it.
func ExampleNewVerifier() {
	signer, err := auth.NewSigner("https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	token, err := signer.Sign(auth.Claims{Subject: "user-42", Roles: []string{"customer"}}, 15*time.Minute)
	if err != nil {
		panic(err)
	}

	// In process the signer is the key source; across processes use
	// auth.NewRemoteKeys with the URL of the signer's JWKS handler.
	verifier, err := auth.NewVerifier(signer, "https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.Roles, claims.HasRole("admin"))

	_, err = verifier.Verify(context.Background(), token+"x")
	fmt.Println(fault.KindOf(err))
	// Output:
	// user-42 [customer] false
	// unauthenticated
}

// A verifier fetches the issuer's JWKS over HTTP. A token signed with a
// key it has not seen, after the issuer rotated its key, makes it fetch
// again (at most once per refresh interval).
func ExampleNewRemoteKeys() {
	signer, err := auth.NewSigner("https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	issuer := httptest.NewServer(signer.JWKSHandler()) // /.well-known/jwks.json in a real service
	defer issuer.Close()

	keys, err := auth.NewRemoteKeys(issuer.URL, auth.WithMaxAge(10*time.Minute))
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(keys, "https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	token, _ := signer.Sign(auth.Claims{Subject: "user-1"}, time.Hour)
	claims, err := verifier.Verify(context.Background(), token)
	fmt.Println(claims.Subject, err)
	// Output: user-1 <nil>
}

// Guards answer 401 for anonymous callers and 403 for callers without the
// role.
func ExampleRequireRole() {
	deleteProduct := endpoint.Chain(auth.RequireRole("admin"))(func(context.Context, any) (any, error) {
		return "deleted", nil
	})
	call := func(ctx context.Context) {
		resp, err := deleteProduct(ctx, nil)
		if err != nil {
			fmt.Println(fault.KindOf(err).HTTPStatus(), fault.As(err).Detail)
			return
		}
		fmt.Println(resp)
	}
	ctx := context.Background()
	call(ctx)
	call(auth.ContextWithClaims(ctx, auth.Claims{Subject: "user-1", Roles: []string{"customer"}}))
	call(auth.ContextWithClaims(ctx, auth.Claims{Subject: "root", Roles: []string{"admin"}}))
	// Output:
	// 401 this operation needs a bearer token; send Authorization: Bearer <token>
	// 403 this operation needs the role "admin"
	// deleted
}

// The net/http middleware lets anonymous requests through and refuses
// invalid tokens as RFC 6750 says.
func ExampleVerifier_HTTPMiddleware() {
	signer, _ := auth.NewSigner("https://users.shop.example", "orders")
	verifier, _ := auth.NewVerifier(signer, "https://users.shop.example", "orders")
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := auth.ClaimsFrom(r.Context()); ok {
			fmt.Fprint(w, c.Subject)
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	srv := httptest.NewServer(verifier.HTTPMiddleware()(whoami))
	defer srv.Close()

	token, _ := signer.Sign(auth.Claims{Subject: "user-7"}, time.Minute)
	for _, authorization := range []string{"", "Bearer " + token, "Bearer not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_ = resp.Body.Close()
		if challenge := resp.Header.Get("WWW-Authenticate"); challenge != "" {
			fmt.Println(resp.StatusCode, challenge)
			continue
		}
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 200
	// 200
	// 401 Bearer error="invalid_token"
}

// A service whose replicas sign tokens loads one shared key from a PKCS#8
// PEM file or variable.
func ExampleParsePrivateKeyPEM() {
	// Done once, by whoever provisions the key.
	key, err := auth.GenerateKey()
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	// In each replica.
	loaded, err := auth.ParsePrivateKeyPEM(pemData)
	if err != nil {
		panic(err)
	}
	a, _ := auth.NewSigner("https://users.shop.example", "shop", auth.WithSigningKey(loaded))
	b, _ := auth.NewSigner("https://users.shop.example", "shop", auth.WithSigningKey(loaded))
	fmt.Println(a.JWKS().Keys[0].Algorithm, a.KeyID() == b.KeyID())
	// Output: EdDSA true
}

// Keys can be given in process, as a JWKS document.
func ExampleNewStaticKeys() {
	signer, _ := auth.NewSigner("https://users.shop.example", "orders")
	doc, _ := json.Marshal(signer.JWKS()) // a JWKS from configuration, say

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		panic(err)
	}
	keys, err := auth.NewStaticKeys(set)
	if err != nil {
		panic(err)
	}
	verifier, _ := auth.NewVerifier(keys, "https://users.shop.example", "orders")
	token, _ := signer.Sign(auth.Claims{Subject: "user-3"}, time.Minute)
	claims, err := verifier.Verify(context.Background(), token)
	fmt.Println(claims.Subject, err)
	// Output: user-3 <nil>
}
