package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Every operation in the catalog's document is a route that RegisterHTTP
// serves, under the same pattern. (The libopenapi checks of the document
// and of real traffic against it are in openapi/internal/validate.)
func TestDocumentNamesServedRoutes(t *testing.T) {
	db, err := sqlite.Open(t.TempDir() + "/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := catalog.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	patterns := make(chan string, 1)
	router := thttp.NewRouter(thttp.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			patterns <- r.Pattern
		})
	}))
	catalog.RegisterHTTP(router, catalog.NewService(db))
	srv := httptest.NewServer(router)
	defer srv.Close()

	doc := openapi.New("Catalog", "1.0.0")
	catalog.DescribeHTTP(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, methods := range spec.Paths {
		for method := range methods {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	if want := []string{"GET /v1/products", "GET /v1/products/{id}", "POST /v1/products"}; !slices.Equal(ops, want) {
		t.Fatalf("documented operations = %v, want %v", ops, want)
	}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req, err := http.NewRequest(method, srv.URL+strings.ReplaceAll(path, "{id}", "x"), strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := <-patterns; got != op {
			t.Errorf("%s was served by route %q, want %q", op, got, op)
		}
	}
}
