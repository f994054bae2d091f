package validate_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
	"github.com/tailorkit/tailor/sqlite"
)

// newValidator checks spec as an OpenAPI 3.1 document and returns a
// validator of requests and responses against it.
func newValidator(t testing.TB, spec []byte) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("libopenapi.NewDocument: %v\n%s", err, spec)
	}
	if got := doc.GetSpecInfo().Version; got != "3.1.0" {
		t.Fatalf("spec version = %q, want 3.1.0", got)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("BuildV3Model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("NewValidator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
		t.FailNow()
	}
	return v
}

// startCatalog runs the catalog as a real service on a loopback port, its
// document at /openapi.json, and returns its base URL.
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
	svc := servicetest.New(t, service.Config{Name: "catalog"}, service.WithHTTPMiddleware(tokens.verifier.HTTPMiddleware()))
	catalog.RegisterHTTP(svc.Router(), catalog.NewService(db))
	doc := openapi.New("Catalog", "1.0.0")
	catalog.DescribeHTTP(doc)
	svc.Router().Handle("GET /openapi.json", doc.Handler())
	return servicetest.Start(t, svc).URL()
}

// tokens signs the administrator's token that creates products, and
// verifies it in the catalog.
var tokens = func() (a struct {
	verifier *auth.Verifier
	admin    string
}) {
	signer, err := auth.NewSigner("shop-users", "shop")
	if err != nil {
		panic(err)
	}
	if a.verifier, err = auth.NewVerifier(signer, "shop-users", "shop"); err != nil {
		panic(err)
	}
	if a.admin, err = signer.Sign(auth.Claims{Subject: "admin-1", Roles: []string{catalog.AdminRole}}, time.Hour); err != nil {
		panic(err)
	}
	return a
}()

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestCatalogMatchesItsDocument serves the catalog over loopback, checks
// the document it serves as OpenAPI 3.1, then sends it real requests and
// checks each request and each answer, errors included, against the
// document.
func TestCatalogMatchesItsDocument(t *testing.T) {
	base := startCatalog(t)
	resp, spec := get(t, base+"/openapi.json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	v := newValidator(t, spec)

	// Create one product first, so the reads below find it.
	created := do(t, v, "POST", base+"/v1/products", "application/json",
		`{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}`, true, http.StatusCreated)
	id := between(string(created), `"id":"`, `"`)

	tests := []struct {
		name, method, path, contentType, body string
		validRequest                          bool // the document alone accepts the request
		wantStatus                            int
	}{
		{"create", "POST", "/v1/products", "application/json", `{"name":"Cup","price":{"amount":0,"currency":"USD"},"description":""}`, true, 201},
		{"list", "GET", "/v1/products", "", "", true, 200},
		{"list a page", "GET", "/v1/products?limit=1", "", "", true, 200},
		{"get", "GET", "/v1/products/" + id, "", "", true, 200},
		{"unknown product", "GET", "/v1/products/0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", "", "", true, 404},
		{"limit out of range", "GET", "/v1/products?limit=1000", "", "", true, 422},
		{"bad cursor", "GET", "/v1/products?cursor=zzz", "", "", true, 422},
		{"limit not a number", "GET", "/v1/products?limit=ten", "", "", false, 400},
		{"malformed JSON", "POST", "/v1/products", "application/json", `{bad`, false, 400},
		{"wrong type", "POST", "/v1/products", "application/json", `{"name":"Mug","description":"","price":{"amount":"12","currency":"EUR"}}`, false, 400},
		{"missing fields", "POST", "/v1/products", "application/json", `{"price":{"amount":-1,"currency":"euro"}}`, false, 422},
		{"rule broken", "POST", "/v1/products", "application/json", `{"name":"","description":"","price":{"amount":-1,"currency":"euro"}}`, true, 422},
		{"wrong content type", "POST", "/v1/products", "text/csv", `name,price`, false, 415},
		{"body over the limit", "POST", "/v1/products", "application/json", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, false, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, v, tt.method, base+tt.path, tt.contentType, tt.body, tt.validRequest, tt.wantStatus)
		})
	}
}

// do sends a request, checks its status, checks the request against the
// document (valid or not, as validRequest says) and the answer against
// the document (always valid), and returns the answer's body.
func do(t *testing.T, v validator.Validator, method, url, contentType, body string, validRequest bool, wantStatus int) []byte {
	t.Helper()
	return doRequest(t, v, func() *http.Request {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+tokens.admin)
		return req
	}, validRequest, wantStatus)
}

// doRequest is do for the request newReq makes (once to send, once for
// each check).
func doRequest(t *testing.T, v validator.Validator, newReq func() *http.Request, validRequest bool, wantStatus int) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		req := newReq()
		t.Fatalf("%s %s = %d %s, want %d", req.Method, req.URL, resp.StatusCode, b, wantStatus)
	}
	ok, errs := v.ValidateHttpRequest(newReq())
	if ok != validRequest {
		t.Errorf("request valid by the document = %v, want %v: %v", ok, validRequest, messages(errs))
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if ok, errs := v.ValidateHttpResponse(newReq(), resp); !ok {
		t.Errorf("answer %d %s does not match the document: %v", resp.StatusCode, b, messages(errs))
	}
	return b
}

func messages(errs []*verrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		s := e.Message + ": " + e.Reason
		for _, se := range e.SchemaValidationErrors {
			s += "; " + se.FieldPath + ": " + se.Reason
		}
		out = append(out, s)
	}
	return out
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
