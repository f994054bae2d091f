package validate_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/openapi"
)

type Cost struct {
	Amount   int64  `json:"amount" jsonschema:"minimum=0,description=Minor units"`
	Currency string `json:"currency" jsonschema:"pattern=^[A-Z]{3}$,example=EUR"`
}

type Base struct {
	ID      string    `json:"id" jsonschema:"format=uuid"`
	Created time.Time `json:"created"`
}

type Node struct {
	Name     string  `json:"name"`
	Children []*Node `json:"children,omitempty"`
}

type Page[T any] struct {
	Items []T   `json:"items"`
	Next  *Node `json:"next"`
}

type Everything struct {
	Base
	Price  Cost              `json:"price"`
	Note   *string           `json:"note"`
	Tags   []string          `json:"tags,omitempty"`
	Blob   []byte            `json:"blob,omitzero"`
	Counts map[string]uint16 `json:"counts"`
	Quoted int               `json:"quoted,string"`
	Any    any               `json:"any"`
	Raw    json.RawMessage   `json:"raw"`
	Pair   [2]float64        `json:"pair"`
	Color  string            `json:"color" jsonschema:"enum=red|green,deprecated"`
	Nested Page[Node]        `json:"nested"`
}

type Search struct {
	Q     string `json:"-" query:"q" jsonschema:"description=Words to look for,minLength=1"`
	Limit int    `json:"-" query:"limit" jsonschema:"minimum=1,maximum=100"`
}

// TestEveryTypeMappingValidates checks, with libopenapi, a document that
// uses every Go type mapping, struct tag, parameter kind and security,
// and a gateway's merge of it with the catalog's.
func TestEveryTypeMappingValidates(t *testing.T) {
	doc := openapi.New("Everything", "1.0.0",
		openapi.WithDescription("Every mapping."),
		openapi.WithServer("http://127.0.0.1:8080", "local"),
		openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	openapi.Route[Everything, Everything](doc, "PUT /v1/things/{id}", openapi.Op{Security: []string{"bearer"}, Errors: []int{404, 409, 429, 503}, Tags: []string{"things"}})
	openapi.Route[Search, Page[Everything]](doc, "GET /v1/things", openapi.Op{Summary: "Search", Query: []openapi.Param{openapi.Query[bool]("fresh", "Skip caches.")}})
	openapi.Route[struct{}, struct{}](doc, "DELETE /v1/things/{id}", openapi.Op{Status: 204, Security: []string{"bearer"}, Deprecated: true})
	openapi.Route[struct{}, map[string][]byte](doc, "GET /v1/files/{path...}", openapi.Op{})
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	newValidator(t, b)

	cat := openapi.New("Catalog", "1.0.0")
	catalog.DescribeHTTP(cat)
	merged, err := openapi.Merge("Shop", "1.0.0", []openapi.Part{{Doc: doc, Prefix: "/things"}, {Doc: cat, Prefix: "/catalog"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(merged)
	if err != nil {
		t.Fatal(err)
	}
	newValidator(t, b)
}

// A document that does not say what a route answers is caught: the test
// above would fail for a catalog whose document drifted from its routes.
func TestDriftIsCaught(t *testing.T) {
	doc := openapi.New("Drifted", "1.0.0")
	// The route answers a Node, but the document says a Cost.
	openapi.Route[struct{}, Cost](doc, "GET /v1/node", openapi.Op{})
	spec, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, spec)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Node{Name: "root"})
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/node", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if ok, _ := v.ValidateHttpResponse(req, resp); ok {
		t.Fatalf("a Node answer matched a document that promises a Cost: %s", body)
	}
}

// A document that is not OpenAPI 3.1 is refused by the check the other
// tests rely on.
func TestInvalidDocumentIsCaught(t *testing.T) {
	doc := openapi.New("Bad", "1.0.0")
	openapi.Route[struct{}, Cost](doc, "GET /v1/money", openapi.Op{})
	spec, _ := json.Marshal(doc)
	// Break it: a response without its required description.
	bad := strings.Replace(string(spec), `"description":"OK"`, `"describe":"OK"`, 1)
	if bad == string(spec) {
		t.Fatal("the document has no 200 description to break")
	}
	ft := &fakeT{}
	func() {
		defer func() { _ = recover() }()
		newValidator(ft, []byte(bad))
	}()
	if !ft.failed {
		t.Fatal("a response without a description passed as OpenAPI 3.1")
	}
}

// fakeT records a failure instead of ending the test, to check newValidator.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic(f) }
func (f *fakeT) FailNow()              { f.failed = true; panic(f) }
