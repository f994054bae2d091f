package users_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/openapi"
)

// The document names exactly the API routes RegisterHTTP serves, and each
// of them is served under that pattern, not answered 404 or 405.
func TestDocumentNamesServedRoutes(t *testing.T) {
	doc := openapi.New("Users", "1.0.0")
	users.DescribeHTTP(doc)
	want := []string{"GET /v1/users/me", "POST /v1/sessions", "POST /v1/users"}
	if got := doc.Operations(); !slices.Equal(got, want) {
		t.Fatalf("documented operations = %q, want %q", got, want)
	}
	r := start(t, newService(t, freshSQLite(t)))
	for _, op := range want {
		method, path, _ := strings.Cut(op, " ")
		resp, _ := call(t, r, method, path, "{}", "")
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s answered %s: not served", op, resp.Status)
		}
	}
}
