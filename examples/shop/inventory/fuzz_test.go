package inventory_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// fuzzRouter serves an inventory with stock of "mug" and "hat".
func fuzzRouter(f *testing.F) (*thttp.Router, *inventory.Service) {
	s, _ := newService(f)
	setStock(f, s, "mug", 1000)
	setStock(f, s, "hat", 3)
	router := thttp.NewRouter()
	inventory.RegisterHTTP(router, s)
	return router, s
}

// serve sends body to the route through the router's real decoding, as
// an administrator, and fails on a server error: bad input is a 4xx.
func serve(t *testing.T, router http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(auth.ContextWithClaims(req.Context(), auth.Claims{Subject: "root", Roles: []string{inventory.AdminRole}}))
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q = %d %s: a server error for bad input", method, path, body, rec.Code, rec.Body)
	}
	return rec
}

// FuzzReserveBody sends arbitrary reservation bodies: each is reserved, or
// refused with a 4xx; never a server error, and never a negative stock.
func FuzzReserveBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":2}]}`,
		`{"reservation_id":"order-1","items":[{"product_id":"hat","quantity":2}]}`,
		`{"reservation_id":"order-2","items":[{"product_id":"hat","quantity":4},{"product_id":"mug","quantity":1}]}`,
		`{"reservation_id":"order-3","items":[{"product_id":"mug","quantity":1},{"product_id":"mug","quantity":1}]}`,
		`{"reservation_id":"","items":[]}`,
		`{"reservation_id":"x","items":[{"product_id":"scarf","quantity":1}]}`,
		`{"reservation_id":"x","items":[{"product_id":"mug","quantity":-9223372036854775808}]}`,
		`{"reservation_id":"x","items":[{"product_id":"mug","quantity":1e3}]}`,
		`{"reservation_id":"\u0000","items":null}`,
		`{"items":[{}]}`,
		`[]`, `null`, `{`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		serve(t, router, "POST", "/internal/v1/reservations", body)
		for _, p := range []string{"mug", "hat"} {
			st, err := s.GetStock(context.Background(), inventory.GetStockRequest{ProductID: p})
			if err != nil || st.Available < 0 {
				t.Fatalf("%s: %+v, %v after %q", p, st, err, body)
			}
		}
	})
}

// FuzzSetStockBody sends arbitrary bodies to the administrator's route:
// each sets a stock of 0 to MaxStock, or is refused with a 4xx.
func FuzzSetStockBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"available":10}`, `{"available":0}`, `{"available":1000000}`, `{"available":1000001}`,
		`{"available":-1}`, `{"available":null}`, `{}`, `{"available":1.5}`, `{"available":"3"}`,
		`{"available":1,"available":2}`, `{"AVAILABLE":1}`, `null`, "",
	} {
		f.Add("mug", seed)
	}
	f.Add("", `{"available":1}`)
	f.Add("%00", `{"available":1}`)
	f.Fuzz(func(t *testing.T, product, body string) {
		rec := serve(t, router, "PUT", "/v1/admin/stock/"+url.PathEscape(product), body)
		if rec.Code != http.StatusOK {
			return
		}
		st, err := s.GetStock(context.Background(), inventory.GetStockRequest{ProductID: product})
		if err != nil || st.Available < 0 || st.Available > inventory.MaxStock {
			t.Fatalf("stock of %q after %q = %+v, %v", product, body, st, err)
		}
	})
}
