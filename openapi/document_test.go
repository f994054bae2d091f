package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type Product struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

type CreateProduct struct {
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

type ListProducts struct {
	Limit  int    `json:"-" query:"limit" jsonschema:"description=Page size,minimum=1,maximum=100"`
	Cursor string `json:"-" query:"cursor"`
}

// spec is a document decoded for tests to look into.
type spec struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		OperationID string           `json:"operationId"`
		Parameters  []map[string]any `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
		Security []map[string][]string `json:"security"`
	} `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

func decode(t *testing.T, d *openapi.Document) spec {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func statuses(t *testing.T, s spec, path, method string) []string {
	t.Helper()
	op, ok := s.Paths[path][method]
	if !ok {
		t.Fatalf("no operation %s %s", method, path)
	}
	var out []string
	for code := range op.Responses {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}

func shop() *openapi.Document {
	d := openapi.New("Shop", "1.0.0", openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	openapi.Route[CreateProduct, Product](d, "POST /v1/products", openapi.Op{Status: 201, Security: []string{"bearer"}, Errors: []int{409}})
	openapi.Route[ListProducts, []Product](d, "GET /v1/products", openapi.Op{})
	openapi.Route[struct{}, Product](d, "GET /v1/products/{id}", openapi.Op{Errors: []int{404}})
	openapi.Route[struct{}, struct{}](d, "DELETE /v1/products/{id}", openapi.Op{Status: 204})
	openapi.Route[struct{}, []Product](d, "GET /v1/files/{path...}", openapi.Op{})
	openapi.Route[struct{}, Product](d, "GET /{$}", openapi.Op{ID: "root"})
	return d
}

func TestOperationResponses(t *testing.T) {
	s := decode(t, shop())
	if s.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", s.OpenAPI)
	}
	tests := []struct {
		name, path, method string
		want               []string
	}{
		{"JSON body with security", "/v1/products", "post", []string{"201", "400", "401", "403", "409", "413", "415", "422", "500"}},
		{"query parameters", "/v1/products", "get", []string{"200", "400", "500"}},
		{"path parameter", "/v1/products/{id}", "get", []string{"200", "400", "404", "500"}},
		{"no content", "/v1/products/{id}", "delete", []string{"204", "400", "500"}},
		{"no parameters", "/", "get", []string{"200", "500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := statuses(t, s, tt.path, tt.method)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("statuses = %v, want %v", got, tt.want)
			}
			op := s.Paths[tt.path][tt.method]
			for code, r := range op.Responses {
				ct := "application/json"
				if code >= "400" {
					ct = thttp.ProblemContentType
				}
				if code == "204" {
					if len(r.Content) != 0 {
						t.Errorf("204 has content %v, want none", r.Content)
					}
					continue
				}
				if _, ok := r.Content[ct]; !ok || len(r.Content) != 1 {
					t.Errorf("%s content = %v, want only %s", code, r.Content, ct)
				}
				if code >= "400" && r.Content[ct].Schema["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("%s schema = %v, want the Problem schema", code, r.Content[ct].Schema)
				}
			}
		})
	}
	if _, ok := s.Components.Schemas["Problem"]; !ok {
		t.Error("no Problem schema")
	}
}

func TestOperationParametersAndBody(t *testing.T) {
	s := decode(t, shop())
	post := s.Paths["/v1/products"]["post"]
	if post.RequestBody == nil || post.RequestBody.Content["application/json"].Schema["$ref"] != "#/components/schemas/CreateProduct" {
		t.Errorf("POST body = %+v, want a CreateProduct reference", post.RequestBody)
	}
	if got, want := post.Security, []map[string][]string{{"bearer": {}}}; len(got) != 1 || len(got[0]) != 1 || got[0]["bearer"] == nil {
		t.Errorf("security = %v, want %v", got, want)
	}
	if s.Paths["/v1/products"]["get"].RequestBody != nil {
		t.Error("GET has a request body, want none")
	}
	params, _ := json.Marshal(s.Paths["/v1/products"]["get"].Parameters)
	want := `[{"description":"Page size","in":"query","name":"limit","schema":{"format":"int64","maximum":100,"minimum":1,"type":"integer"}},{"in":"query","name":"cursor","schema":{"type":"string"}}]`
	if string(params) != want {
		t.Errorf("parameters = %s, want %s", params, want)
	}
	if _, ok := s.Components.Schemas["ListProducts"]; ok {
		t.Error("a GET request type became a schema; only bodies should")
	}
	for path, name := range map[string]string{"/v1/files/{path}": "path", "/v1/products/{id}": "id"} {
		p := s.Paths[path]["get"].Parameters
		if len(p) != 1 || p[0]["name"] != name || p[0]["in"] != "path" || p[0]["required"] != true {
			t.Errorf("%s parameters = %v, want the required path parameter %q", path, p, name)
		}
	}
	if got := s.Paths["/v1/products/{id}"]["delete"].OperationID; got != "deleteV1ProductsId" {
		t.Errorf("derived operationId = %q, want deleteV1ProductsId", got)
	}
	if got := string(s.Components.SecuritySchemes["bearer"]); got != `{"type":"http","scheme":"bearer","bearerFormat":"JWT"}` {
		t.Errorf("bearer scheme = %s", got)
	}
}

func TestRoutePanicsOnProgrammingErrors(t *testing.T) {
	tests := []struct {
		name     string
		add      func(d *openapi.Document)
		conflict bool
	}{
		{"no method", func(d *openapi.Document) { openapi.Route[struct{}, Product](d, "/v1/x", openapi.Op{}) }, false},
		{"host", func(d *openapi.Document) { openapi.Route[struct{}, Product](d, "GET example.com/v1/x", openapi.Op{}) }, false},
		{"same route twice", func(d *openapi.Document) {
			openapi.Route[struct{}, Product](d, "GET /v1/products/{id}", openapi.Op{ID: "again"})
		}, true},
		{"same id twice", func(d *openapi.Document) { openapi.Route[struct{}, Product](d, "GET /v2/x", openapi.Op{ID: "root"}) }, true},
		{"undefined security", func(d *openapi.Document) {
			openapi.Route[struct{}, Product](d, "GET /v2/x", openapi.Op{Security: []string{"apikey"}})
		}, false},
		{"not an error status", func(d *openapi.Document) {
			openapi.Route[struct{}, Product](d, "GET /v2/x", openapi.Op{Errors: []int{302}})
		}, false},
		{"error as success status", func(d *openapi.Document) { openapi.Route[struct{}, Product](d, "GET /v2/x", openapi.Op{Status: 404}) }, false},
		{"no JSON form", func(d *openapi.Document) { openapi.Route[struct{}, chan int](d, "GET /v2/x", openapi.Op{}) }, false},
		{"untyped query", func(d *openapi.Document) {
			openapi.Route[struct{}, Product](d, "GET /v2/x", openapi.Op{Query: []openapi.Param{{Name: "q"}}})
		}, false},
		{"path tag without wildcard", func(d *openapi.Document) {
			openapi.Route[GetByNumber, Product](d, "GET /v2/x/{id}", openapi.Op{})
		}, false},
		{"query twice", func(d *openapi.Document) {
			openapi.Route[ListProducts, Product](d, "GET /v2/x", openapi.Op{Query: []openapi.Param{openapi.Query[int]("limit", "")}})
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := shop()
			before, _ := json.Marshal(d)
			func() {
				defer func() {
					err, ok := recover().(error)
					if !ok {
						t.Fatalf("recovered %v, want a panic with an error", err)
					}
					if !strings.HasPrefix(err.Error(), "openapi: ") {
						t.Errorf("error %q lacks the package prefix", err)
					}
					if got := errors.Is(err, openapi.ErrConflict); got != tt.conflict {
						t.Errorf("errors.Is(%v, ErrConflict) = %v, want %v", err, got, tt.conflict)
					}
				}()
				tt.add(d)
			}()
			if after, _ := json.Marshal(d); string(after) != string(before) {
				t.Errorf("a refused route changed the document")
			}
		})
	}
}

// The same routes give the same bytes, whatever order they came in.
func TestDocumentIsDeterministic(t *testing.T) {
	a := openapi.New("A", "1")
	openapi.Route[CreateProduct, Product](a, "POST /v1/products", openapi.Op{})
	openapi.Route[struct{}, Product](a, "GET /v1/products/{id}", openapi.Op{})
	b := openapi.New("A", "1")
	openapi.Route[struct{}, Product](b, "GET /v1/products/{id}", openapi.Op{})
	openapi.Route[CreateProduct, Product](b, "POST /v1/products", openapi.Op{})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("documents differ:\n%s\n%s", ja, jb)
	}
	for range 5 {
		if again, _ := json.Marshal(a); string(again) != string(ja) {
			t.Fatal("marshalling twice gave different bytes")
		}
	}
}

func TestHandlerServesTheDocument(t *testing.T) {
	d := shop()
	router := thttp.NewRouter()
	router.Handle("GET /openapi.json", d.Handler())
	srv := httptest.NewServer(router)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want, _ := json.Marshal(d)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(body) != string(want) {
		t.Fatalf("got %d %q %s, want 200 application/json and the document", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestHandleServesAndRecords(t *testing.T) {
	d := openapi.New("Shop", "1")
	router := thttp.NewRouter()
	create := func(_ context.Context, req CreateProduct) (Product, error) {
		return Product{ID: "p1", Name: req.Name, Price: req.Price}, nil
	}
	openapi.Handle(d, router, "POST /v1/products", create, thttp.DecodeJSON[CreateProduct](), thttp.EncodeJSON(201), openapi.Op{Status: 201})
	srv := httptest.NewServer(router)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/products", "application/json", strings.NewReader(`{"name":"Mug","price":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"id":"p1"`) {
		t.Fatalf("got %d %s, want 201 with the product", resp.StatusCode, body)
	}
	s := decode(t, d)
	if got := statuses(t, s, "/v1/products", "post"); got[0] != "201" {
		t.Errorf("statuses = %v, want 201 first", got)
	}
}

// Routes may be recorded while the document is served.
func TestDocumentConcurrentUse(t *testing.T) {
	d := openapi.New("Shop", "1")
	h := d.Handler()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
				return
			}
		}
	}()
	for i := range 50 {
		openapi.Route[CreateProduct, Product](d, "POST /v1/products/"+strings.Repeat("x", i+1), openapi.Op{})
	}
	<-done
	if n := len(decode(t, d).Paths); n != 50 {
		t.Errorf("%d paths, want 50", n)
	}
}

type GetByNumber struct {
	Number int64  `json:"-" path:"number" jsonschema:"description=The product's number,minimum=1"`
	Fields string `json:"fields"`
}

func TestPathParameterFromTag(t *testing.T) {
	d := openapi.New("Shop", "1")
	openapi.Route[GetByNumber, Product](d, "PATCH /v1/products/{number}", openapi.Op{})
	s := decode(t, d)
	op := s.Paths["/v1/products/{number}"]["patch"]
	got, _ := json.Marshal(op.Parameters)
	want := `[{"description":"The product's number","in":"path","name":"number","required":true,"schema":{"format":"int64","minimum":1,"type":"integer"}}]`
	if string(got) != want {
		t.Errorf("parameters = %s, want %s", got, want)
	}
	body := string(s.Components.Schemas["GetByNumber"])
	if want := `{"properties":{"fields":{"type":"string"}},"required":["fields"],"type":"object"}`; body != want {
		t.Errorf("body schema = %s, want %s (the path field left out)", body, want)
	}
}

// BenchmarkHandler measures serving a small document, which is written
// afresh for each request.
func BenchmarkHandler(b *testing.B) {
	h := shop().Handler()
	req := httptest.NewRequest("GET", "/openapi.json", nil)
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// TestDefineSecurityScheme: a scheme defined on a document made elsewhere
// serves the routes recorded after it; defining it again is harmless only
// when the two agree.
func TestDefineSecurityScheme(t *testing.T) {
	d := openapi.New("Shop", "1.0.0")
	if err := d.DefineSecurityScheme("bearer", openapi.BearerJWT()); err != nil {
		t.Fatal(err)
	}
	if err := d.DefineSecurityScheme("bearer", openapi.BearerJWT()); err != nil {
		t.Fatalf("defining an equal scheme again: %v", err)
	}
	err := d.DefineSecurityScheme("bearer", openapi.SecurityScheme{Type: "apiKey", Name: "X-Key", In: "header"})
	if !errors.Is(err, openapi.ErrConflict) || !strings.Contains(err.Error(), `"bearer"`) {
		t.Fatalf("defining another scheme under the name: %v, want ErrConflict naming it", err)
	}
	openapi.Route[CreateProduct, Product](d, "POST /v1/products", openapi.Op{Security: []string{"bearer"}})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}`) {
		t.Fatalf("document lacks the bearer scheme: %s", b)
	}
}

func TestOperations(t *testing.T) {
	want := []string{"DELETE /v1/products/{id}", "GET /", "GET /v1/files/{path}", "GET /v1/products", "GET /v1/products/{id}", "POST /v1/products"}
	if got := shop().Operations(); !slices.Equal(got, want) {
		t.Fatalf("Operations() = %q, want %q", got, want)
	}
}

// TestHeaderParameter: a header an operation reads is documented as a
// header parameter, required when the route refuses a request without it.
func TestHeaderParameter(t *testing.T) {
	d := openapi.New("Shop", "1.0.0")
	key := openapi.Header[string]("Idempotency-Key", "Makes retries of the request safe.")
	key.Required = true
	openapi.Route[CreateProduct, Product](d, "POST /v1/orders", openapi.Op{Headers: []openapi.Param{key}})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `"parameters":[{"description":"Makes retries of the request safe.","in":"header","name":"Idempotency-Key","required":true,"schema":{"type":"string"}}]`
	if !strings.Contains(string(b), want) {
		t.Fatalf("document %s lacks %s", b, want)
	}
}
