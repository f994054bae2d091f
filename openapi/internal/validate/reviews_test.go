package validate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// TestReviewsMatchesItsDocument serves the reviews service over loopback
// behind a token verifier, as the shop does, checks the document it
// serves as OpenAPI 3.1, then sends it real requests, with and without
// tokens, and checks each request and each answer against the document.
func TestReviewsMatchesItsDocument(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(t.TempDir() + "/reviews.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := reviews.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := reviews.NewService(db)
	if err != nil {
		t.Fatal(err)
	}
	// Ann bought the mug.
	event, err := orders.OrderConfirmedEvent().New("order-1", orders.OrderConfirmed{OrderID: "order-1", UserID: "ann", Lines: []orders.Line{{ProductID: "mug", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Handler()(ctx, event); err != nil {
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
	reviews.RegisterHTTP(router, s)
	doc := openapi.New("Reviews", "1.0.0")
	reviews.DescribeHTTP(doc)
	router.Handle("GET /openapi.json", doc.Handler())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)

	resp, spec := get(t, srv.URL+"/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", resp.StatusCode)
	}
	v := newValidator(t, spec)

	sign := func(user string) string {
		tok, err := signer.Sign(auth.Claims{Subject: user, Roles: []string{"customer"}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ann, bob := sign("ann"), sign("bob")
	const review = `{"rating":4,"title":"Holds tea","body":"Blue.\nSturdy."}`

	tests := []struct {
		name, method, path, token, body string
		validRequest                    bool // the document alone accepts the request
		wantStatus                      int
	}{
		{"no reviews", "GET", "/v1/products/mug/reviews", "", "", true, 200},
		{"no summary", "GET", "/v1/products/mug/reviews/summary", "", "", true, 200},
		{"review without a token", "POST", "/v1/products/mug/reviews", "", review, false, 401},
		{"review by a non-buyer", "POST", "/v1/products/mug/reviews", bob, review, true, 403},
		{"review", "POST", "/v1/products/mug/reviews", ann, review, true, 201},
		{"review again", "POST", "/v1/products/mug/reviews", ann, review, true, 409},
		{"rating out of range", "POST", "/v1/products/mug/reviews", ann, `{"rating":6,"title":"T","body":"B"}`, false, 422},
		{"a banned word", "POST", "/v1/products/mug/reviews", ann, `{"rating":1,"title":"Crap","body":"B"}`, true, 422},
		{"page", "GET", "/v1/products/mug/reviews?limit=1", "", "", true, 200},
		{"limit out of range", "GET", "/v1/products/mug/reviews?limit=0", "", "", false, 422},
		{"summary", "GET", "/v1/products/mug/reviews/summary", "", "", true, 200},
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
