package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// startCatalog runs the catalog as a real service on a random loopback
// port with its own SQLite database, and returns its base URL. [do] calls
// it as an administrator.
func startCatalog(t *testing.T) string {
	t.Helper()
	db, err := sqlite.Open(t.TempDir() + "/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := catalog.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	svc := servicetest.New(t, service.Config{Name: "catalog"}, tokens.serviceOptions()...)
	catalog.RegisterHTTP(svc.Router(), catalog.NewService(db))
	return servicetest.Start(t, svc).URL()
}

func do(t *testing.T, method, url, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tokens.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestCatalogOverHTTP(t *testing.T) {
	base := startCatalog(t)

	// Create three products.
	var created []catalog.Product
	for i := range 3 {
		resp, body := do(t, "POST", base+"/v1/products", "application/json",
			fmt.Sprintf(`{"name":"Mug %d","description":"Blue","price":{"amount":%d,"currency":"EUR"}}`, i, 1000+i))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s, want 201", resp.StatusCode, body)
		}
		var p catalog.Product
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.Name != fmt.Sprintf("Mug %d", i) || p.Price.Amount != int64(1000+i) || p.Price.Currency != "EUR" {
			t.Fatalf("created %+v, want the sent fields and an id", p)
		}
		created = append(created, p)
	}

	// Get one back.
	resp, body := do(t, "GET", base+"/v1/products/"+created[1].ID, "", "")
	var got catalog.Product
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if got.ID != created[1].ID || got.Name != created[1].Name || !got.CreatedAt.Equal(created[1].CreatedAt) {
		t.Fatalf("get = %+v, want %+v", got, created[1])
	}

	// List in pages of two: all three, in creation order, then no cursor.
	var ids []string
	url := base + "/v1/products?limit=2"
	for page := 0; ; page++ {
		resp, body := do(t, "GET", url, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		var lp struct {
			Items      []catalog.Product `json:"items"`
			NextCursor *string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &lp); err != nil {
			t.Fatal(err)
		}
		for _, p := range lp.Items {
			ids = append(ids, p.ID)
		}
		if lp.NextCursor == nil {
			break
		}
		if page > 3 {
			t.Fatal("pagination does not end")
		}
		url = base + "/v1/products?limit=2&cursor=" + *lp.NextCursor
	}
	if len(ids) != 3 || ids[0] != created[0].ID || ids[1] != created[1].ID || ids[2] != created[2].ID {
		t.Fatalf("listed ids %q, want the three created in order", ids)
	}
}

func TestCatalogRefusesCompressedBody(t *testing.T) {
	base := startCatalog(t)
	req, _ := http.NewRequest("POST", base+"/v1/products", strings.NewReader(`{"name":"Mug","price":{"amount":1,"currency":"EUR"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "br")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), `Content-Encoding \"br\"`) {
		t.Fatalf("got %d %s, want 415 naming Content-Encoding \"br\"", resp.StatusCode, body)
	}
}

func TestCatalogBadInput(t *testing.T) {
	base := startCatalog(t)
	tests := []struct {
		name, method, path, contentType, body string
		wantStatus                            int
		wantDetail                            string
	}{
		{"malformed JSON", "POST", "/v1/products", "application/json", `{bad`, 400, "not valid JSON"},
		{"malformed JSON as curl sends it", "POST", "/v1/products", "application/x-www-form-urlencoded", `{bad`, 400, "not valid JSON"},
		{"body over the limit", "POST", "/v1/products", "application/json", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
		{"wrong content type", "POST", "/v1/products", "text/csv", `name,price`, 415, "application/json"},
		{"missing fields", "POST", "/v1/products", "application/json", `{"price":{"amount":-1,"currency":"euro"}}`, 422, "name: is required"},
		{"unknown field", "POST", "/v1/products", "application/json", `{"title":"Mug"}`, 400, `"title"`},
		{"unknown product", "GET", "/v1/products/0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", "", "", 404, "no product has id"},
		{"malformed id", "GET", "/v1/products/nope", "", "", 404, `"nope"`},
		{"bad limit", "GET", "/v1/products?limit=1000", "", "", 422, "limit"},
		{"bad cursor", "GET", "/v1/products?cursor=zzz", "", "", 422, "cursor"},
		{"limit not a number", "GET", "/v1/products?limit=ten", "", "", 400, `"limit" is "ten"; it must be a whole number`},
		{"limit beyond int", "GET", "/v1/products?limit=99999999999999999999", "", "", 422, "limit: must be from 1 to 100"},
		{"limit twice", "GET", "/v1/products?limit=1&limit=2", "", "", 400, `"limit" is given 2 times`},
		{"null body", "POST", "/v1/products", "application/json", `null`, 400, "JSON null; send a JSON object"},
		{"fractional amount", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":12.99,"currency":"EUR"}}`, 400, `"price.amount" is the JSON number 12.99; it must be an integer number of the currency's minor units`},
		{"invalid UTF-8", "POST", "/v1/products", "application/json", "{\"name\":\"M\xffg\",\"price\":{\"amount\":1,\"currency\":\"EUR\"}}", 400, "not valid UTF-8"},
		{"NUL in name", "POST", "/v1/products", "application/json", `{"name":"Mu\u0000g","price":{"amount":1,"currency":"EUR"}}`, 422, "name: must not contain control characters"},
		{"line break in name", "POST", "/v1/products", "application/json", `{"name":"Mu\ng","price":{"amount":1,"currency":"EUR"}}`, 422, "name: must not contain control characters"},
		{"escape in description", "POST", "/v1/products", "application/json", `{"name":"Mug","description":"\u001b[31m","price":{"amount":1,"currency":"EUR"}}`, 422, "description: must not contain control characters"},
		{"unknown currency", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":1,"currency":"ZZZ"}}`, 422, `price.currency: must be an ISO 4217 currency code in upper case, such as EUR or USD; "ZZZ" is not one`},
		{"no currency", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":1,"currency":"XXX"}}`, 422, "price.currency"},
		{"lower-case currency", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":1,"currency":"eur"}}`, 422, "price.currency"},
		{"case-folded key", "POST", "/v1/products", "application/json", `{"NAME":"Mug","price":{"amount":1,"currency":"EUR"}}`, 400, `key "NAME", but the field is "name"`},
		{"case-folded duplicate", "POST", "/v1/products", "application/json", `{"name":"Mug","NAME":"Cup","price":{"amount":1,"currency":"EUR"}}`, 400, `key "NAME", but the field is "name"`},
		{"nested case-folded key", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":1,"Currency":"EUR"}}`, 400, `key "Currency" in price, but the field is "currency"`},
		{"duplicate key", "POST", "/v1/products", "application/json", `{"name":"Mug","price":{"amount":1,"amount":2,"currency":"EUR"}}`, 400, `key "amount" twice in price`},
		{"method not allowed", "DELETE", "/v1/products", "", "", 405, "DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, base+tt.path, tt.contentType, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
				t.Fatalf("Content-Type = %q, want %q", ct, thttp.ProblemContentType)
			}
			var p thttp.Problem
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.wantDetail)
			}
		})
	}
	// Nothing bad was stored.
	resp, body := do(t, "GET", base+"/v1/products", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"items":[]`) {
		t.Fatalf("list after bad input: %d %s, want 200 and no items", resp.StatusCode, body)
	}
}
