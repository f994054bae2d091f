package openapi

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	thttp "github.com/tailorkit/tailor/transport/http"
)

type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type Base struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type Node struct {
	Name     string  `json:"name"`
	Children []*Node `json:"children,omitempty"`
}

type Page[T any] struct {
	Items []T `json:"items"`
}

type Level string

func (l Level) MarshalText() ([]byte, error) { return []byte(l), nil }

type Raw struct{}

func (Raw) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }

type Everything struct {
	Base
	Price    Money             `json:"price"`
	Note     *string           `json:"note"`
	Tags     []string          `json:"tags,omitempty"`
	Blob     []byte            `json:"blob,omitzero"`
	Counts   map[string]uint16 `json:"counts"`
	Quoted   int               `json:"quoted,string"`
	Level    Level             `json:"level"`
	Any      any               `json:"any"`
	Raw      Raw               `json:"raw"`
	Pair     [2]float64        `json:"pair"`
	Limit    int               `json:"limit" jsonschema:"description=Page size\\, at most 100,minimum=1,maximum=100,example=20"`
	Color    string            `json:"color" jsonschema:"enum=red|green"`
	Size     *int              `json:"size" jsonschema:"enum=1|2"`
	Skipped  string            `json:"-"`
	Page     int               `json:"-" query:"page"`
	NoTag    bool
	internal int
	Anon     struct {
		X float32 `json:"x"`
	} `json:"anon"`
}

func schemaJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSchemaOfGoTypes(t *testing.T) {
	if b, _ := json.Marshal(Everything{internal: 1}); strings.Contains(string(b), "internal") {
		t.Fatalf("encoding/json wrote an unexported field: %s", b)
	}
	s := newSchemas()
	ref, err := s.of(reflect.TypeFor[Everything]())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := schemaJSON(t, ref), `{"$ref":"#/components/schemas/Everything"}`; got != want {
		t.Fatalf("ref = %s, want %s", got, want)
	}
	obj := s.defs["Everything"].(map[string]any)
	props := obj["properties"].(map[string]any)
	tests := []struct{ field, want string }{
		{"id", `{"type":"string"}`},
		{"created", `{"format":"date-time","type":"string"}`},
		{"price", `{"$ref":"#/components/schemas/Money"}`},
		{"note", `{"type":["string","null"]}`},
		{"tags", `{"items":{"type":"string"},"type":["array","null"]}`},
		{"blob", `{"contentEncoding":"base64","type":["string","null"]}`},
		{"counts", `{"additionalProperties":{"format":"int32","minimum":0,"type":"integer"},"type":["object","null"]}`},
		{"quoted", `{"type":"string"}`},
		{"level", `{"type":"string"}`},
		{"any", `{}`},
		{"raw", `{}`},
		{"pair", `{"items":{"format":"double","type":"number"},"maxItems":2,"minItems":2,"type":"array"}`},
		{"limit", `{"description":"Page size, at most 100","examples":[20],"format":"int64","maximum":100,"minimum":1,"type":"integer"}`},
		{"color", `{"enum":["red","green"],"type":"string"}`},
		{"size", `{"enum":[1,2],"format":"int64","type":["integer","null"]}`},
		{"NoTag", `{"type":"boolean"}`},
		{"anon", `{"properties":{"x":{"format":"float","type":"number"}},"required":["x"],"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if got := schemaJSON(t, props[tt.field]); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if len(props) != len(tests) {
		t.Errorf("got %d properties (%v), want %d: json:\"-\", query-tagged and unexported fields are left out", len(props), props, len(tests))
	}
	wantRequired := `["id","created","price","note","counts","quoted","level","any","raw","pair","limit","color","size","NoTag","anon"]`
	if got := schemaJSON(t, obj["required"]); got != wantRequired {
		t.Errorf("required = %s, want %s (omitempty and omitzero fields are optional)", got, wantRequired)
	}
}

func TestSchemaOfRecursiveAndGenericTypes(t *testing.T) {
	s := newSchemas()
	if _, err := s.of(reflect.TypeFor[Page[Node]]()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.defs["Page_openapi.Node"]; !ok {
		t.Errorf("no component Page_openapi.Node; have %v", sortedKeys(s.defs))
	}
	node := schemaJSON(t, s.defs["Node"])
	want := `{"properties":{"children":{"items":{"anyOf":[{"$ref":"#/components/schemas/Node"},{"type":"null"}]},"type":["array","null"]},"name":{"type":"string"}},"required":["name"],"type":"object"}`
	if node != want {
		t.Errorf("Node = %s, want %s", node, want)
	}
}

type Inner struct {
	A string
	B string `json:"b"`
}

type Other struct {
	A string
}

type Shadow struct {
	Inner
	Other
	B int `json:"b"`
}

// Embedded fields follow encoding/json: the shallower wins, equals at one
// depth cancel out.
func TestSchemaEmbeddedFieldRules(t *testing.T) {
	s := newSchemas()
	obj, err := s.object(reflect.TypeFor[Shadow]())
	if err != nil {
		t.Fatal(err)
	}
	got := schemaJSON(t, obj)
	want := `{"properties":{"b":{"format":"int64","type":"integer"}},"required":["b"],"type":"object"}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b, _ := json.Marshal(Shadow{Inner: Inner{A: "x", B: "y"}, Other: Other{A: "z"}, B: 1})
	if string(b) != `{"b":1}` {
		t.Fatalf("encoding/json wrote %s; the test's premise is wrong", b)
	}
}

type Decorated struct {
	*Base
	ID   string `json:"id"`
	Note string `json:"note"`
}

// The members of a struct embedded through a pointer are optional, as
// encoding/json leaves them all out when the pointer is nil; a shallower
// member of one name still wins and stays required.
func TestSchemaEmbeddedPointerIsOptional(t *testing.T) {
	s := newSchemas()
	obj, err := s.object(reflect.TypeFor[Decorated]())
	if err != nil {
		t.Fatal(err)
	}
	got := schemaJSON(t, obj)
	want := `{"properties":{"created":{"format":"date-time","type":"string"},"id":{"type":"string"},"note":{"type":"string"}},"required":["id","note"],"type":"object"}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b, _ := json.Marshal(Decorated{ID: "x", Note: "y"})
	if string(b) != `{"id":"x","note":"y"}` {
		t.Fatalf("encoding/json wrote %s; the test's premise is wrong", b)
	}
}

func TestSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		t    reflect.Type
	}{
		{"channel", reflect.TypeFor[chan int]()},
		{"func field", reflect.TypeFor[struct {
			F func() `json:"f"`
		}]()},
		{"struct map key", reflect.TypeFor[map[Money]int]()},
		{"complex", reflect.TypeFor[complex128]()},
		{"bad tag", reflect.TypeFor[struct {
			N int `json:"n" jsonschema:"minimum=one"`
		}]()},
		{"unknown tag key", reflect.TypeFor[struct {
			N int `json:"n" jsonschema:"min=1"`
		}]()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newSchemas().of(tt.t); err == nil {
				t.Errorf("of(%s) = nil error, want one", tt.t)
			}
		})
	}
}

func TestSchemaNameClash(t *testing.T) {
	type Money struct{ Cents int }
	s := newSchemas()
	if _, err := s.of(reflect.TypeFor[Everything]()); err != nil {
		t.Fatal(err)
	}
	_, err := s.of(reflect.TypeFor[Money]())
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want ErrConflict for two types named Money", err)
	}
	type Problem struct{}
	if _, err := s.of(reflect.TypeFor[Problem]()); !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want ErrConflict for a type named Problem", err)
	}
}

// The Problem schema names every member transport/http writes, and marks
// required those it always writes.
func TestProblemSchemaMatchesTransport(t *testing.T) {
	want := newSchemas()
	got, err := want.object(reflect.TypeFor[thttp.Problem]())
	if err != nil {
		t.Fatal(err)
	}
	p := problemSchema()
	if g, w := sortedKeys(p["properties"].(map[string]any)), sortedKeys(got["properties"].(map[string]any)); !slices.Equal(g, w) {
		t.Errorf("Problem properties = %v, transport/http writes %v", g, w)
	}
	if g, w := schemaJSON(t, p["required"]), schemaJSON(t, got["required"]); g != w {
		t.Errorf("Problem required = %s, transport/http always writes %s", g, w)
	}
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
