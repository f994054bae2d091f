package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// schemaRef is the prefix of a reference to a named schema.
const schemaRef = "#/components/schemas/"

// The types that encoding/json treats apart.
func timeType() reflect.Type          { return reflect.TypeFor[time.Time]() }
func jsonMarshalerType() reflect.Type { return reflect.TypeFor[json.Marshaler]() }
func textMarshalerType() reflect.Type { return reflect.TypeFor[encoding.TextMarshaler]() }

// schemas turns Go types into JSON Schema 2020-12 as encoding/json sees
// them. Named struct types become components, referenced by name; every
// other type is inlined. It is not safe for concurrent use; the Document
// guards it.
type schemas struct {
	defs  map[string]any          // component name -> schema
	names map[reflect.Type]string // named struct type -> component name
}

func newSchemas() *schemas {
	// Problem is taken from the start, so no Go type takes its name.
	return &schemas{defs: map[string]any{ProblemSchema: problemSchema()}, names: map[reflect.Type]string{}}
}

// of returns the schema of t.
func (s *schemas) of(t reflect.Type) (map[string]any, error) {
	switch {
	case t == timeType():
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case t.Kind() == reflect.Pointer:
		inner, err := s.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return nullable(inner), nil
	case t.Implements(jsonMarshalerType()) || reflect.PointerTo(t).Implements(jsonMarshalerType()):
		return map[string]any{}, nil // its JSON form is its own business
	case t.Implements(textMarshalerType()) || reflect.PointerTo(t).Implements(textMarshalerType()):
		return map[string]any{"type": "string"}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return map[string]any{"type": "integer", "format": "int32"}, nil
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}, nil
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer", "format": "int32", "minimum": 0}, nil
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0}, nil
	case reflect.Float32:
		return map[string]any{"type": "number", "format": "float"}, nil
	case reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(textMarshalerType()) {
			// encoding/json writes []byte as base64, and nil as null.
			return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}, nil
		}
		items, err := s.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": []any{"array", "null"}, "items": items}, nil
	case reflect.Array:
		items, err := s.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items, "minItems": t.Len(), "maxItems": t.Len()}, nil
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			if !t.Key().Implements(textMarshalerType()) {
				return nil, fmt.Errorf("map key type %s has no JSON form", t.Key())
			}
		}
		values, err := s.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": values}, nil
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		return s.named(t)
	}
	return nil, fmt.Errorf("type %s (%s) has no JSON form", t, t.Kind())
}

// named returns a reference to t's component, making the component first.
func (s *schemas) named(t reflect.Type) (map[string]any, error) {
	if name, ok := s.names[t]; ok {
		return map[string]any{"$ref": schemaRef + name}, nil
	}
	name := componentName(t)
	if _, taken := s.defs[name]; taken {
		return nil, fmt.Errorf("%w: schema %q is the name of two Go types (%s and another from a different package, or the shared error schema); rename one", ErrConflict, name, t)
	}
	s.names[t] = name
	s.defs[name] = map[string]any{} // a placeholder, so recursive types end
	obj, err := s.object(t)
	if err != nil {
		delete(s.names, t)
		delete(s.defs, name)
		return nil, err
	}
	s.defs[name] = obj
	return map[string]any{"$ref": schemaRef + name}, nil
}

// componentName names t's schema: its Go name, with the package paths of
// type arguments cut to their last element ("Page[catalog.Product]" becomes
// "Page_catalog.Product"), in the characters OpenAPI allows.
func componentName(t reflect.Type) string {
	name := t.Name()
	base, args, ok := strings.Cut(name, "[")
	if !ok {
		return name
	}
	args = strings.TrimSuffix(args, "]")
	var b strings.Builder
	b.WriteString(base)
	for a := range strings.SplitSeq(args, ",") {
		b.WriteByte('_')
		b.WriteString(path.Base(a))
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, b.String())
}

// field is one JSON member of a struct, found as encoding/json finds it.
type field struct {
	name     string
	index    int // position in the walk, to keep Go's order
	depth    int
	tagged   bool
	sf       reflect.StructField
	optional bool
}

// object returns the schema of struct type t: its JSON members as
// properties, those without omitempty or omitzero required.
func (s *schemas) object(t reflect.Type) (map[string]any, error) {
	fields := jsonFields(t)
	props := map[string]any{}
	var required []any
	for _, f := range fields {
		ps, err := s.fieldSchema(f.sf)
		if err != nil {
			return nil, fmt.Errorf("field %s.%s: %w", t, f.sf.Name, err)
		}
		props[f.name] = ps
		if !f.optional {
			required = append(required, f.name)
		}
	}
	obj := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		obj["required"] = required
	}
	return obj, nil
}

// fieldSchema is the schema of one struct field, with its `jsonschema`
// tag applied and encoding/json's ",string" option honoured.
func (s *schemas) fieldSchema(sf reflect.StructField) (map[string]any, error) {
	var ps map[string]any
	_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if hasOpt(opts, "string") && quotable(sf.Type) {
		ps = map[string]any{"type": "string"}
	} else {
		var err error
		if ps, err = s.of(sf.Type); err != nil {
			return nil, err
		}
	}
	tag, ok := sf.Tag.Lookup("jsonschema")
	if !ok {
		return ps, nil
	}
	if _, isRef := ps["$ref"]; isRef {
		// Keywords beside $ref apply too in 2020-12; copy so the
		// component itself is untouched.
		ps = map[string]any{"$ref": ps["$ref"]}
	}
	if err := applyTag(ps, tag); err != nil {
		return nil, fmt.Errorf("tag jsonschema:%q: %w", tag, err)
	}
	return ps, nil
}

func quotable(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

func hasOpt(opts, name string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// applyTag adds the keywords of a `jsonschema` tag to ps. The tag is a
// comma-separated list of key=value pairs; a comma inside a value is
// written "\,". Keys: description, title, format, pattern, example,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf,
// minLength, maxLength, minItems, maxItems, enum (values separated by "|"),
// deprecated.
func applyTag(ps map[string]any, tag string) error {
	for _, kv := range splitEscaped(tag) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "description", "title", "format", "pattern":
			ps[k] = v
		case "example":
			ps["examples"] = []any{typed(ps, v)}
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s=%q is not a number", k, v)
			}
			ps[k] = n
		case "minLength", "maxLength", "minItems", "maxItems":
			n, err := strconv.ParseUint(v, 10, 31)
			if err != nil {
				return fmt.Errorf("%s=%q is not a whole number", k, v)
			}
			ps[k] = n
		case "enum":
			var vals []any
			for e := range strings.SplitSeq(v, "|") {
				vals = append(vals, typed(ps, e))
			}
			ps[k] = vals
		case "deprecated":
			ps[k] = true
		default:
			return fmt.Errorf("unknown key %q; use description, title, format, pattern, example, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minLength, maxLength, minItems, maxItems, enum or deprecated", k)
		}
	}
	return nil
}

// typed reads v as a number when ps is numeric, and as a string otherwise.
func typed(ps map[string]any, v string) any {
	numeric := ps["type"] == "integer" || ps["type"] == "number"
	if ts, ok := ps["type"].([]any); ok {
		numeric = slices.Contains(ts, "integer") || slices.Contains(ts, "number")
	}
	if numeric {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	}
	return v
}

func splitEscaped(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// jsonFields lists t's JSON members by encoding/json's rules: exported
// fields, named by their json tag or Go name, embedded structs without a
// name flattened, and of several members with one name the shallowest (a
// tagged one winning a tie) kept, a tie between equals dropping all. The
// members of a struct embedded through a pointer are optional: a nil
// pointer leaves them all out.
func jsonFields(t reflect.Type) []field {
	var all []field
	var walk func(t reflect.Type, depth int, viaPointer bool, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, depth int, viaPointer bool, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous {
				pointer := ft.Kind() == reflect.Pointer
				if pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
				if name == "" && ft.Kind() == reflect.Struct {
					walk(ft, depth+1, viaPointer || pointer, seen)
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			if isParam(sf) {
				continue // a query or path parameter, documented as one
			}
			f := field{name: name, index: len(all), depth: depth, tagged: name != "", sf: sf,
				optional: viaPointer || hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero")}
			if f.name == "" {
				f.name = sf.Name
			}
			all = append(all, f)
		}
		delete(seen, t)
	}
	walk(t, 0, false, map[reflect.Type]bool{})

	byName := map[string][]field{}
	for _, f := range all {
		byName[f.name] = append(byName[f.name], f)
	}
	var out []field
	for _, f := range all {
		if winner, ok := dominant(byName[f.name]); ok && winner.index == f.index {
			out = append(out, f)
		}
	}
	return out
}

func isParam(sf reflect.StructField) bool {
	_, query := sf.Tag.Lookup("query")
	_, path := sf.Tag.Lookup("path")
	return query || path
}

// dominant picks the member that encoding/json keeps among fields of one
// name.
func dominant(fs []field) (field, bool) {
	best := fs[0]
	tie := false
	for _, f := range fs[1:] {
		switch {
		case f.depth < best.depth || f.depth == best.depth && f.tagged && !best.tagged:
			best, tie = f, false
		case f.depth == best.depth && f.tagged == best.tagged:
			tie = true
		}
	}
	return best, !tie
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		out := maps.Clone(s)
		out["type"] = []any{t, "null"}
		return out
	case []any:
		for _, e := range t {
			if e == "null" {
				return s
			}
		}
		out := maps.Clone(s)
		out["type"] = append(append([]any{}, t...), "null")
		return out
	case nil:
		if len(s) == 0 {
			return s // any value, null included
		}
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}
