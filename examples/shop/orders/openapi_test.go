package orders

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Every operation in the orders' document is a route that RegisterHTTP
// serves, under the same pattern, and the Idempotency-Key is documented
// as required.
func TestDocumentNamesServedRoutes(t *testing.T) {
	sh := newShop(t)
	doc := openapi.New("Orders", "1.0.0")
	DescribeHTTP(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
		} `json:"paths"`
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
	if want := []string{"GET /v1/orders", "GET /v1/orders/{id}", "POST /v1/orders"}; !slices.Equal(ops, want) {
		t.Fatalf("documented operations = %v, want %v", ops, want)
	}
	keyed := false
	for _, p := range spec.Paths["/v1/orders"]["post"].Parameters {
		keyed = keyed || p.Name == "Idempotency-Key" && p.In == "header" && p.Required
	}
	if !keyed {
		t.Error("POST /v1/orders does not document a required Idempotency-Key header")
	}
	// Each documented operation is served by the route of its pattern.
	var pattern string
	router := thttp.NewRouter(thttp.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			pattern = r.Pattern
		})
	}))
	RegisterHTTP(router, sh.orders)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "x"), nil))
		if pattern != op {
			t.Errorf("%s was served by route %q, want %q", op, pattern, op)
		}
	}
}
