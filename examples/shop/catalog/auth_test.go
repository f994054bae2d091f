package catalog_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/service"
)

// testAuth issues the tokens of the catalog's tests and holds the verifier
// that trusts them, as the users service and the catalog's main would.
type testAuth struct {
	verifier *auth.Verifier
	signer   *auth.Signer
	admin    string // a token with the role catalog.AdminRole
	customer string // a token with the role "customer"
}

// tokens is the one testAuth of the package's tests.
var tokens = newTestAuth()

func newTestAuth() *testAuth {
	signer, err := auth.NewSigner("shop-users", "shop")
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(signer, "shop-users", "shop")
	if err != nil {
		panic(err)
	}
	a := &testAuth{verifier: verifier, signer: signer}
	a.admin = a.token(catalog.AdminRole)
	a.customer = a.token("customer")
	return a
}

func (a *testAuth) token(role string) string {
	tok, err := a.signer.Sign(auth.Claims{Subject: role + "-1", Roles: []string{role}}, time.Hour)
	if err != nil {
		panic(err)
	}
	return tok
}

// serviceOptions verify the tokens on both of a service's transports.
func (a *testAuth) serviceOptions() []service.Option {
	return []service.Option{
		service.WithHTTPMiddleware(a.verifier.HTTPMiddleware()),
		service.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(a.verifier.UnaryServerInterceptor())),
	}
}

// bearer sends a token with every gRPC call. Loopback tests have no TLS.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// TestCreateIsAdminOnly: anyone reads the catalog, only an administrator
// adds to it, over both transports; the refusals say why as problem+json
// with a Bearer challenge, or as the matching gRPC code.
func TestCreateIsAdminOnly(t *testing.T) {
	s := startGRPCCatalog(t)
	body := `{"name":"Mug","price":{"amount":1299,"currency":"EUR"}}`
	for _, c := range []struct {
		name, token string
		want        int
		challenge   string
	}{
		{"no token", "", http.StatusUnauthorized, "Bearer"},
		{"customer", tokens.customer, http.StatusForbidden, `error="insufficient_scope"`},
		{"bad token", tokens.admin[:len(tokens.admin)-4] + "AAAA", http.StatusUnauthorized, `error="invalid_token"`},
		{"admin", tokens.admin, http.StatusCreated, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.httpURL+"/v1/products", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("POST /v1/products: %s, want %d", resp.Status, c.want)
			}
			if c.want != http.StatusCreated {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q, want application/problem+json", ct)
				}
				if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) {
					t.Errorf("WWW-Authenticate %q, want it to contain %q", got, c.challenge)
				}
			}
		})
	}
	resp, err := http.Get(s.httpURL + "/v1/products")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous GET /v1/products: %s, want 200", resp.Status)
	}

	ctx := grpcTestContext(t)
	req := catalog.CreateProductRequest{Name: "Cup", Price: catalog.Money{Amount: 1, Currency: "EUR"}}
	if _, err := s.anonymous.CreateProduct(ctx, req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous gRPC CreateProduct: %v, want UNAUTHENTICATED", err)
	}
	if _, err := s.clientWith(t, tokens.customer).CreateProduct(ctx, req); status.Code(err) != codes.PermissionDenied {
		t.Errorf("customer's gRPC CreateProduct: %v, want PERMISSION_DENIED", err)
	}
	if _, err := s.grpc.CreateProduct(ctx, req); err != nil {
		t.Errorf("administrator's gRPC CreateProduct: %v", err)
	}
}
