package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/examples/shop/stats"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/openapi"
)

// serviceDocs are the services' documents, from their DescribeHTTP
// functions; each has routes the gateway does not serve (the inventory's
// and payments' internal ones, the reviews' summary), and the catalog one
// more.
func serviceDocs() []*openapi.Document {
	var docs []*openapi.Document
	for _, describe := range []func(*openapi.Document){
		catalog.DescribeHTTP, users.DescribeHTTP, inventory.DescribeHTTP, orders.DescribeHTTP, payments.DescribeHTTP, reviews.DescribeHTTP, stats.DescribeHTTP,
	} {
		d := openapi.New("service", "1.0.0")
		describe(d)
		docs = append(docs, d)
	}
	openapi.Route[struct{}, struct{}](docs[0], "GET /internal/reindex", openapi.Op{})
	return docs
}

// docPaths decodes a document's paths: path -> method -> operation.
func docPaths(t *testing.T, b []byte) map[string]map[string]map[string]any {
	t.Helper()
	var d struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Paths
}

// The public document has exactly the routes the gateway serves, with
// the product page's own answer, and GET /openapi.json serves it.
func TestDocumentHasThePublicRoutes(t *testing.T) {
	h := newHarness(t).start(t, unlimited, func(c *Config) { c.Docs = serviceDocs() })
	resp, body := h.do(t, "GET", "/openapi.json", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s, want 200", resp.StatusCode, body)
	}
	want, err := json.Marshal(h.gw.Document())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(body), want) {
		t.Errorf("GET /openapi.json is not Document()")
	}

	var got []string
	for path, ops := range docPaths(t, body) {
		for method := range ops {
			got = append(got, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(got)
	wantRoutes := slices.Sorted(slices.Values(publicRoutes))
	if !slices.Equal(got, wantRoutes) {
		t.Errorf("the document's routes are %q, want %q", got, wantRoutes)
	}

	page := docPaths(t, body)["/v1/products/{id}"]["get"]
	schema := page["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	if ref := schema.(map[string]any)["$ref"]; ref != "#/components/schemas/ProductPage" {
		t.Errorf("the product page answers %v, want the ProductPage schema", schema)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required []string `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if req := doc.Components.Schemas["ProductPage"].Required; !slices.Equal(req, []string{"id", "stock", "reviews"}) {
		t.Errorf("ProductPage requires %q, want only id, stock and reviews, which every page has", req)
	}
}

// Routes no document describes are logged, and left out.
func TestDocumentLogsUndescribedRoutes(t *testing.T) {
	var logs bytes.Buffer
	cat := openapi.New("catalog", "1.0.0")
	catalog.DescribeHTTP(cat)
	h := newHarness(t).start(t, unlimited, func(c *Config) {
		c.Docs = []*openapi.Document{cat}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	b, err := json.Marshal(h.gw.Document())
	if err != nil {
		t.Fatal(err)
	}
	paths := docPaths(t, b)
	if _, ok := paths["/v1/products"]["post"]; !ok || len(paths) != 2 {
		t.Errorf("document paths %v, want the catalog's two paths", paths)
	}
	for _, route := range []string{"POST /v1/users", "GET /v1/stats", "PUT /v1/admin/stock/{product_id}"} {
		if !strings.Contains(logs.String(), route) {
			t.Errorf("the log does not name %s:\n%s", route, logs.String())
		}
	}
}

// Two documents describing one public route are an error of New.
func TestDocumentConflictIsAnError(t *testing.T) {
	a, b := openapi.New("a", "1"), openapi.New("b", "1")
	openapi.Route[struct{}, struct{}](a, "GET /v1/stats", openapi.Op{ID: "statsA"})
	openapi.Route[struct{}, struct{}](b, "GET /v1/stats", openapi.Op{ID: "statsB"})
	h := newHarness(t)
	_, err := New(Config{Resolver: h.reg, Verifier: h.verifier(t), Docs: []*openapi.Document{a, b}})
	if err == nil || !strings.Contains(err.Error(), "/v1/stats") {
		t.Fatalf("New returned %v, want a conflict naming the route", err)
	}
}
