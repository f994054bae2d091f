package orders

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The body of POST /v1/orders, decoded as the route decodes it: bad input
// is a 4xx error, and a body that passes holds only what the rules allow.
func FuzzPlaceOrderBody(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"product_id":"hat","quantity":2}]}`,
		`{"items":[{"product_id":"hat","quantity":1},{"product_id":"hat","quantity":1}]}`,
		`{"items":[]}`, `{"items":null}`, `{}`, `null`, ``, `{"items":[{"product_id":"\u0000","quantity":1e3}]}`,
		`{"items":[{"product_id":"hat","quantity":1001}]}`, `{"items":[{"PRODUCT_ID":"hat","quantity":1}]}`,
	} {
		f.Add(s)
	}
	dec := thttp.DecodeJSON[PlaceOrderRequest]()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(body))
		v, err := dec(context.Background(), r)
		if err != nil {
			if s := fault.As(err).HTTPStatus(); s < 400 || s >= 500 {
				t.Fatalf("body %q: error %v with status %d, want a 4xx", body, err, s)
			}
			return
		}
		req := v.(*PlaceOrderRequest)
		if len(req.Items) < 1 || len(req.Items) > MaxItems {
			t.Fatalf("body %q passed with %d items", body, len(req.Items))
		}
		seen := map[string]bool{}
		for _, it := range req.Items {
			if it.ProductID == "" || it.Quantity < 1 || it.Quantity > MaxQuantity || seen[it.ProductID] {
				t.Fatalf("body %q passed with item %+v", body, it)
			}
			seen[it.ProductID] = true
		}
	})
}

// The query of GET /v1/orders: a limit out of range or not a number is a
// 4xx, never a panic or a 5xx.
func FuzzListOrdersQuery(f *testing.F) {
	for _, s := range []string{"limit=20", "limit=0", "limit=-1", "limit=99999999999999999999", "limit=x", "limit=1&limit=2", "cursor=abc", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/v1/orders", nil)
		r.URL.RawQuery = query
		var req ListOrdersRequest
		if err := req.BindHTTP(r); err != nil {
			if s := fault.As(err).HTTPStatus(); s < 400 || s >= 500 {
				t.Fatalf("query %q: error %v with status %d, want a 4xx", query, err, s)
			}
		}
	})
}
