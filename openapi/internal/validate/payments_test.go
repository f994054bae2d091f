package validate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// TestPaymentsMatchesItsDocument serves the payments over loopback
// behind a token verifier, as the shop does, checks the document it
// serves as OpenAPI 3.1, then sends it real requests, with and without
// tokens, through declines and outages, and checks each request and each
// answer against the document.
func TestPaymentsMatchesItsDocument(t *testing.T) {
	db, err := sqlite.Open(t.TempDir() + "/payments.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := payments.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := payments.NewService(db)
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
	payments.RegisterHTTP(router, s)
	doc := openapi.New("Payments", "1.0.0", openapi.WithSecurityScheme(payments.SecurityScheme, openapi.BearerJWT()))
	payments.DescribeHTTP(doc)
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
	const charge1 = `{"key":"saga-1/charge","order_id":"order-1","user_id":"user-1","amount":1250,"currency":"EUR"}`
	const charge2 = `{"key":"saga-2/charge","order_id":"order-2","user_id":"user-1","amount":990,"currency":"EUR"}`

	tests := []struct {
		name, method, path, token, body string
		validRequest                    bool // the document alone accepts the request
		wantStatus                      int
	}{
		{"charge", "POST", "/internal/v1/charges", "", charge1, true, 200},
		{"charge again", "POST", "/internal/v1/charges", "", charge1, true, 200},
		{"charge the key with another amount", "POST", "/internal/v1/charges", "", strings.Replace(charge1, "1250", "1", 1), true, 409},
		{"charge nothing", "POST", "/internal/v1/charges", "", strings.Replace(charge1, "1250", "0", 1), false, 422},
		{"charge in lower case", "POST", "/internal/v1/charges", "", strings.Replace(charge1, "EUR", "eur", 1), false, 422},
		{"charge malformed", "POST", "/internal/v1/charges", "", `{"key":`, false, 400},
		{"refund", "POST", "/internal/v1/refunds", "", `{"key":"saga-1/charge","order_id":"order-1"}`, true, 200},
		{"refund again", "POST", "/internal/v1/refunds", "", `{"key":"saga-1/charge","order_id":"order-1"}`, true, 200},
		{"refund for another order", "POST", "/internal/v1/refunds", "", `{"key":"saga-1/charge","order_id":"order-2"}`, true, 409},
		{"refund before the charge", "POST", "/internal/v1/refunds", "", `{"key":"saga-3/charge","order_id":"order-3"}`, true, 200},
		{"the late charge", "POST", "/internal/v1/charges", "", `{"key":"saga-3/charge","order_id":"order-3","user_id":"user-1","amount":5,"currency":"EUR"}`, true, 409},
		{"refund without a key", "POST", "/internal/v1/refunds", "", `{"order_id":"order-1"}`, false, 422},
		{"faults without a token", "GET", "/v1/admin/payments/faults", "", "", false, 401},
		{"faults as a customer", "GET", "/v1/admin/payments/faults", customer, "", true, 403},
		{"faults", "GET", "/v1/admin/payments/faults", admin, "", true, 200},
		{"set faults as a customer", "PUT", "/v1/admin/payments/faults", customer, `{"failure_rate":1,"latency_ms":0,"unavailable_rate":0}`, true, 403},
		{"set faults out of range", "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":2,"latency_ms":-1,"unavailable_rate":0}`, false, 422},
		{"decline every charge", "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":1,"latency_ms":0,"unavailable_rate":0}`, true, 200},
		{"a declined charge", "POST", "/internal/v1/charges", "", charge2, true, 402},
		{"fail every call", "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":1}`, true, 200},
		{"a charge in an outage", "POST", "/internal/v1/charges", "", charge2, true, 503},
		{"a refund in an outage", "POST", "/internal/v1/refunds", "", `{"key":"saga-2/charge","order_id":"order-2"}`, true, 503},
		{"set faults without latency_ms", "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"unavailable_rate":0}`, false, 422},
		{"no faults", "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`, true, 200},
		{"list payments", "GET", "/v1/admin/payments?order_id=order-1", admin, "", true, 200},
		{"list payments without an order", "GET", "/v1/admin/payments", admin, "", false, 422},
		{"list payments as a customer", "GET", "/v1/admin/payments?order_id=order-1", customer, "", true, 403},
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
