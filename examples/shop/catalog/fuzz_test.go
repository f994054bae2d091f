package catalog_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/sqlite"
)

// FuzzListQuery decodes arbitrary limit and cursor query values the way the
// HTTP transport does and lists with them: the answer is a page or a 4xx,
// never a server error.
func FuzzListQuery(f *testing.F) {
	db, err := sqlite.Open(f.TempDir() + "/catalog.db")
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if err := catalog.Migrate(context.Background(), db); err != nil {
		f.Fatal(err)
	}
	svc := catalog.NewService(db)
	p, err := svc.CreateProduct(context.Background(), catalog.CreateProductRequest{Name: "Mug", Price: catalog.Money{Amount: 1, Currency: "EUR"}})
	if err != nil {
		f.Fatal(err)
	}
	page, err := svc.ListProducts(context.Background(), catalog.ListProductsRequest{Limit: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("1", page.NextCursor)
	f.Add("", "")
	f.Add("100", "MDE5MGQ5YTQtN2MxZS03YjVlLThmM2EtMmIxYzRkNWU2Zjcw")
	f.Add("-1", "%%%")
	f.Add("9999999999999999999", p.ID)
	f.Add("ten", "")
	f.Add("1.5", "")
	f.Add("99999999999999999999", "")
	f.Add(" 5", "\x00")
	f.Fuzz(func(t *testing.T, limit, cursor string) {
		q := url.Values{"limit": {limit}, "cursor": {cursor}}
		r := httptest.NewRequest("GET", "/v1/products?"+q.Encode(), nil)
		var req catalog.ListProductsRequest
		if err := req.BindHTTP(r); err != nil {
			if fault.As(err).HTTPStatus() >= 500 {
				t.Fatalf("BindHTTP(%q, %q) = %v: a server error for bad input", limit, cursor, err)
			}
			return
		}
		resp, err := svc.ListProducts(context.Background(), req)
		if err != nil {
			if fault.As(err).HTTPStatus() >= 500 {
				t.Fatalf("ListProducts(%+v) = %v: a server error for bad input", req, err)
			}
			return
		}
		if len(resp.Items) > catalog.MaxPageSize {
			t.Fatalf("page of %d items, want at most %d", len(resp.Items), catalog.MaxPageSize)
		}
	})
}
