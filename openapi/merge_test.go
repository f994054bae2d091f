package openapi_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/openapi"
)

type Review struct {
	ID      string `json:"id"`
	Product string `json:"product"`
	Author  Author `json:"author"`
}

type Author struct {
	Name string `json:"name"`
}

type Secret struct {
	Key string `json:"key"`
}

func reviews() *openapi.Document {
	d := openapi.New("Reviews", "1.0.0", openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	openapi.Route[struct{}, Review](d, "GET /v1/reviews/{id}", openapi.Op{ID: "getReview", Security: []string{"bearer"}})
	openapi.Route[struct{}, Secret](d, "GET /internal/keys", openapi.Op{ID: "keys"})
	return d
}

func pathsOf(t *testing.T, d *openapi.Document) []string {
	t.Helper()
	var out []string
	for p := range decode(t, d).Paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func TestMergePrefixesAndFilters(t *testing.T) {
	public := func(_, path string) bool { return !strings.HasPrefix(path, "/internal/") }
	m, err := openapi.Merge("Shop", "2.0.0", []openapi.Part{
		{Doc: shop(), Prefix: "/catalog", Include: public},
		{Doc: reviews(), Prefix: "/reviews", Include: public},
	}, openapi.WithServer("https://shop.example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/catalog/", "/catalog/v1/files/{path}", "/catalog/v1/products", "/catalog/v1/products/{id}", "/reviews/v1/reviews/{id}"}
	if got := pathsOf(t, m); !slices.Equal(got, want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	s := decode(t, m)
	var schemas []string
	for n := range s.Components.Schemas {
		schemas = append(schemas, n)
	}
	slices.Sort(schemas)
	if want := []string{"Author", "CreateProduct", "Problem", "Product", "Review"}; !slices.Equal(schemas, want) {
		t.Errorf("schemas = %v, want %v (those the included operations use, Secret left out)", schemas, want)
	}
	if _, ok := s.Components.SecuritySchemes["bearer"]; !ok {
		t.Error("the bearer scheme is missing")
	}
}

func TestMergeIsOrderFree(t *testing.T) {
	a, err := openapi.Merge("Shop", "1", []openapi.Part{{Doc: shop()}, {Doc: reviews()}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := openapi.Merge("Shop", "1", []openapi.Part{{Doc: reviews()}, {Doc: shop()}})
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("merged documents differ by the order of parts:\n%s\n%s", ja, jb)
	}
}

func TestMergeConflicts(t *testing.T) {
	otherProduct := func() *openapi.Document {
		type Product struct {
			SKU string `json:"sku"`
		}
		d := openapi.New("Orders", "1")
		openapi.Route[struct{}, Product](d, "GET /v1/orders/{id}/product", openapi.Op{})
		return d
	}
	apiKey := openapi.New("Keys", "1", openapi.WithSecurityScheme("bearer", openapi.SecurityScheme{Type: "apiKey", Name: "X-Key", In: "header"}))
	tests := []struct {
		name     string
		parts    []openapi.Part
		conflict bool
	}{
		{"same path", []openapi.Part{{Doc: shop()}, {Doc: shop()}}, true},
		{"same operationId", []openapi.Part{{Doc: shop(), Prefix: "/a"}, {Doc: shop(), Prefix: "/b"}}, true},
		{"schema of one name, two shapes", []openapi.Part{{Doc: shop()}, {Doc: otherProduct()}}, true},
		{"security scheme of one name, two kinds", []openapi.Part{{Doc: shop()}, {Doc: apiKey}}, true},
		{"no document", []openapi.Part{{Prefix: "/a"}}, false},
		{"prefix without slash", []openapi.Part{{Doc: shop(), Prefix: "a"}}, false},
		{"prefix with trailing slash", []openapi.Part{{Doc: shop(), Prefix: "/a/"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := openapi.Merge("Shop", "1", tt.parts)
			if err == nil {
				t.Fatalf("Merge = %v, nil; want an error", m)
			}
			if got := errors.Is(err, openapi.ErrConflict); got != tt.conflict {
				t.Errorf("errors.Is(%v, ErrConflict) = %v, want %v", err, got, tt.conflict)
			}
			if !strings.HasPrefix(err.Error(), "openapi: merge: ") {
				t.Errorf("error %q lacks its prefix", err)
			}
		})
	}
}

// Equal schemas and schemes under one name are shared, not reported.
func TestMergeSharesEqualDefinitions(t *testing.T) {
	a := openapi.New("A", "1", openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	openapi.Route[struct{}, Product](a, "GET /a/{id}", openapi.Op{ID: "a", Security: []string{"bearer"}})
	b := openapi.New("B", "1", openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	openapi.Route[struct{}, Product](b, "GET /b/{id}", openapi.Op{ID: "b", Security: []string{"bearer"}})
	m, err := openapi.Merge("AB", "1", []openapi.Part{{Doc: a}, {Doc: b}})
	if err != nil {
		t.Fatal(err)
	}
	if got := pathsOf(t, m); !slices.Equal(got, []string{"/a/{id}", "/b/{id}"}) {
		t.Errorf("paths = %v", got)
	}
	// A route added to the merged document reuses the shared component.
	openapi.Route[struct{}, Product](m, "GET /c/{id}", openapi.Op{ID: "c"})
	if n := len(decode(t, m).Components.Schemas); n != 2 {
		t.Errorf("%d schemas, want Product and Problem", n)
	}
}
