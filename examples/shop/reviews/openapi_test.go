package reviews_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Every operation in the reviews' document is a route that RegisterHTTP
// serves, under the same pattern, and writing a review is the one that
// requires a token; its description says that a purchase takes a moment
// to be known.
func TestDocumentNamesServedRoutes(t *testing.T) {
	s, _ := newService(t)
	patterns := make(chan string, 1)
	router := thttp.NewRouter(thttp.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			patterns <- r.Pattern
		})
	}))
	reviews.RegisterHTTP(router, s)
	srv := httptest.NewServer(router)
	defer srv.Close()

	doc := openapi.New("Reviews", "1.0.0")
	reviews.DescribeHTTP(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Description string           `json:"description"`
			Security    []map[string]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var ops, secured []string
	for path, methods := range spec.Paths {
		for method, op := range methods {
			route := strings.ToUpper(method) + " " + path
			ops = append(ops, route)
			if len(op.Security) > 0 {
				secured = append(secured, route)
				if !strings.Contains(op.Description, "may take a moment to be known") {
					t.Errorf("%s does not say that a purchase takes a moment to be known: %q", route, op.Description)
				}
			}
		}
	}
	slices.Sort(ops)
	want := []string{
		"GET /v1/products/{id}/reviews",
		"GET /v1/products/{id}/reviews/summary",
		"POST /v1/products/{id}/reviews",
	}
	if !slices.Equal(ops, want) {
		t.Fatalf("documented operations = %v, want %v", ops, want)
	}
	if !slices.Equal(secured, []string{"POST /v1/products/{id}/reviews"}) {
		t.Errorf("operations that require a token = %v, want only writing a review", secured)
	}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req, err := http.NewRequest(method, srv.URL+strings.ReplaceAll(path, "{id}", "mug"), strings.NewReader(`{}`))
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

// DescribeHTTP defines the bearer scheme its guarded route needs, and
// refuses a document that means something else by that name.
func TestDescribeHTTPDefinesTheSecurityScheme(t *testing.T) {
	doc := openapi.New("Reviews", "1.0.0", openapi.WithSecurityScheme(reviews.SecurityScheme, openapi.BearerJWT()))
	reviews.DescribeHTTP(doc) // the same scheme is no conflict
	defer func() {
		if r := recover(); r == nil || !errors.Is(r.(error), openapi.ErrConflict) {
			t.Errorf("recovered %v, want ErrConflict", r)
		}
	}()
	reviews.DescribeHTTP(openapi.New("Reviews", "1.0.0", openapi.WithSecurityScheme(reviews.SecurityScheme, openapi.SecurityScheme{Type: "apiKey", Name: "X-Key", In: "header"})))
}
