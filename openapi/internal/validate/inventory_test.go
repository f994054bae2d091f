package validate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// TestInventoryMatchesItsDocument serves the inventory over loopback
// behind a token verifier, as the shop does, checks the document it
// serves as OpenAPI 3.1, then sends it real requests, with and without
// tokens, and checks each request and each answer against the document.
func TestInventoryMatchesItsDocument(t *testing.T) {
	db, err := sqlite.Open(t.TempDir() + "/inventory.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := inventory.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := inventory.NewService(db)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner("shop-users", "shop")
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(signer, "shop-users", "shop")
	if err != nil {
		t.Fatal(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	inventory.RegisterHTTP(router, s)
	doc := openapi.New("Inventory", "1.0.0", openapi.WithSecurityScheme(inventory.SecurityScheme, openapi.BearerJWT()))
	inventory.DescribeHTTP(doc)
	router.Handle("GET /openapi.json", doc.Handler())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)

	resp, spec := get(t, srv.URL+"/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", resp.StatusCode)
	}
	v := newValidator(t, spec)

	sign := func(role string) string {
		tok, err := signer.Sign(auth.Claims{Subject: role + "-1", Roles: []string{role}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin, customer := sign("admin"), sign("customer")

	tests := []struct {
		name, method, path, token, body string
		validRequest                    bool // the document alone accepts the request
		wantStatus                      int
	}{
		{"unknown product", "GET", "/v1/stock/mug", "", "", true, 404},
		{"set stock", "PUT", "/v1/admin/stock/mug", admin, `{"available":5}`, true, 200},
		{"get stock", "GET", "/v1/stock/mug", "", "", true, 200},
		{"set stock without a token", "PUT", "/v1/admin/stock/mug", "", `{"available":5}`, false, 401},
		{"set stock as a customer", "PUT", "/v1/admin/stock/mug", customer, `{"available":5}`, true, 403},
		{"stock out of range", "PUT", "/v1/admin/stock/mug", admin, `{"available":-1}`, false, 422},
		{"stock missing", "PUT", "/v1/admin/stock/mug", admin, `{}`, false, 422},
		{"stock malformed", "PUT", "/v1/admin/stock/mug", admin, `{"available":`, false, 400},
		{"reserve", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":2}]}`, true, 200},
		{"reserve again", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":2}]}`, true, 200},
		{"reserve again with other items", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":1}]}`, true, 409},
		{"reserve too many", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-2","items":[{"product_id":"mug","quantity":4}]}`, true, 409},
		{"reserve nothing", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-2","items":[]}`, false, 422},
		{"reserve a product twice", "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-2","items":[{"product_id":"mug","quantity":1},{"product_id":"mug","quantity":1}]}`, true, 422},
		{"release", "POST", "/internal/v1/reservations/order-1/release", "", `{}`, true, 200},
		{"release again", "POST", "/internal/v1/reservations/order-1/release", "", `{}`, true, 200},
		{"commit a released reservation", "POST", "/internal/v1/reservations/order-1/commit", "", `{}`, true, 409},
		{"commit an unknown reservation", "POST", "/internal/v1/reservations/nope/commit", "", `{}`, true, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doRequest(t, v, func() *http.Request {
				req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				if tt.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				return req
			}, tt.validRequest, tt.wantStatus)
		})
	}
}
