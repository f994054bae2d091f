package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/auth"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// On go-kit endpoints, HTTPToContext hands the bearer token from the
// request to the context, the verifier's Middleware checks it, and a
// guard per endpoint decides who may call it. The refusals reach the
// client as problem+json with the status and the RFC 6750 challenge that
// say why: no token, a token that is not valid, or a missing role.
func ExampleVerifier_Middleware() {
	signer, err := auth.NewSigner("https://users.shop.example", "catalog")
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(signer, "https://users.shop.example", "catalog")
	if err != nil {
		panic(err)
	}
	deleteProduct := endpoint.Chain(verifier.Middleware(), auth.RequireRole("admin"))(
		func(ctx context.Context, _ any) (any, error) {
			c, _ := auth.ClaimsFrom(ctx)
			return "deleted by " + c.Subject, nil
		})

	router := thttp.NewRouter()
	router.Handle("DELETE /v1/products/{id}", thttp.NewServer(deleteProduct,
		func(context.Context, *http.Request) (any, error) { return nil, nil },
		thttp.EncodeJSON(http.StatusOK),
		kithttp.ServerBefore(auth.HTTPToContext()),
	))
	srv := httptest.NewServer(router)
	defer srv.Close()

	customer, _ := signer.Sign(auth.Claims{Subject: "user-1", Roles: []string{"customer"}}, time.Minute)
	admin, _ := signer.Sign(auth.Claims{Subject: "root", Roles: []string{"admin"}}, time.Minute)
	for _, token := range []string{"", "not-a-token", customer, admin} {
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/products/42", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(body))
			continue
		}
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"))
	}
	// Output:
	// 401 application/problem+json Bearer
	// 401 application/problem+json Bearer error="invalid_token"
	// 403 application/problem+json Bearer error="insufficient_scope"
	// 200 "deleted by root"
}
