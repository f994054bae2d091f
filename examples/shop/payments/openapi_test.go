package payments_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Every operation in the payments' document is a route that RegisterHTTP
// serves, under the same pattern, and the admin routes are the ones that
// require a token. (The libopenapi checks of the document and of real
// traffic against it are in openapi/internal/validate.)
func TestDocumentNamesServedRoutes(t *testing.T) {
	s, _ := newService(t)
	patterns := make(chan string, 1)
	router := thttp.NewRouter(thttp.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			patterns <- r.Pattern
		})
	}))
	payments.RegisterHTTP(router, s)
	srv := httptest.NewServer(router)
	defer srv.Close()

	doc := openapi.New("Payments", "1.0.0", openapi.WithSecurityScheme(payments.SecurityScheme, openapi.BearerJWT()))
	payments.DescribeHTTP(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Security []map[string]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var ops, secured []string
	for path, methods := range spec.Paths {
		for method, op := range methods {
			ops = append(ops, strings.ToUpper(method)+" "+path)
			if len(op.Security) > 0 {
				secured = append(secured, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	slices.Sort(secured)
	want := []string{
		"GET /v1/admin/payments",
		"GET /v1/admin/payments/faults",
		"POST /internal/v1/charges",
		"POST /internal/v1/refunds",
		"PUT /v1/admin/payments/faults",
	}
	if !slices.Equal(ops, want) {
		t.Fatalf("documented operations = %v, want %v", ops, want)
	}
	if want := []string{"GET /v1/admin/payments", "GET /v1/admin/payments/faults", "PUT /v1/admin/payments/faults"}; !slices.Equal(secured, want) {
		t.Errorf("operations that require a token = %v, want %v", secured, want)
	}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(`{}`))
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

// DescribeHTTP defines the bearer scheme its guarded routes need, and
// refuses a document that means something else by that name.
func TestDescribeHTTPDefinesTheSecurityScheme(t *testing.T) {
	doc := openapi.New("Payments", "1.0.0")
	payments.DescribeHTTP(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}`) {
		t.Fatalf("document lacks the bearer scheme: %s", b)
	}
	defer func() {
		if r := recover(); r == nil || !errors.Is(r.(error), openapi.ErrConflict) {
			t.Errorf("recovered %v, want ErrConflict", r)
		}
	}()
	payments.DescribeHTTP(openapi.New("Payments", "1.0.0", openapi.WithSecurityScheme(payments.SecurityScheme, openapi.SecurityScheme{Type: "apiKey", Name: "X-Key", In: "header"})))
}
