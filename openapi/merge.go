package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Part is one document's share of a merged one ([Merge]). Its zero Prefix
// and nil Include take every operation as it is.
type Part struct {
	Doc *Document

	// Prefix is put before each path, as a gateway that serves the
	// service under "/catalog" would: "/catalog" + "/v1/products". It
	// starts with "/" and does not end with one.
	Prefix string

	// Include reports whether the operation at method ("GET") and path
	// (the source document's, without Prefix) belongs in the merged
	// document; nil includes all. A gateway leaves out internal routes
	// this way.
	Include func(method, path string) bool
}

// Merge returns a document titled title at version made of the included
// operations of parts, with the schemas those operations use and the
// parts' security schemes;
// opts configure the new document as they do in [New]. Schemas and
// security schemes of one name must be equal in every part that has them;
// two parts with an operation at one method and path, or with one
// operationId, are an error too. Such errors wrap [ErrConflict] and name
// both sides, so the result never depends on the order of parts. A part
// with a nil Doc, or a Prefix that does not start with "/" or ends with
// one, is an error.
func Merge(title, version string, parts []Part, opts ...Option) (*Document, error) {
	out := New(title, version, opts...)
	for i, p := range parts {
		if p.Doc == nil {
			return nil, fmt.Errorf("openapi: merge: part %d has no document; set Part.Doc", i)
		}
		if p.Prefix != "" && (!strings.HasPrefix(p.Prefix, "/") || strings.HasSuffix(p.Prefix, "/")) {
			return nil, fmt.Errorf("openapi: merge: part %d (%q) has prefix %q; write it as \"/name\", without a trailing slash", i, p.Doc.info.Title, p.Prefix)
		}
		if err := out.merge(p); err != nil {
			return nil, fmt.Errorf("openapi: merge: part %d (%q): %w", i, p.Doc.info.Title, err)
		}
	}
	return out, nil
}

func (d *Document) merge(p Part) error {
	src := p.Doc
	src.mu.RLock()
	defer src.mu.RUnlock()
	for name, s := range src.security {
		if have, ok := d.security[name]; ok && have != s {
			return fmt.Errorf("%w: security scheme %q differs from the one another part defines; give one a new name", ErrConflict, name)
		}
		d.security[name] = s
	}
	used := map[string]bool{ProblemSchema: true}
	for _, path := range slices.Sorted(maps.Keys(src.paths)) {
		for _, method := range slices.Sorted(maps.Keys(src.paths[path])) {
			if p.Include != nil && !p.Include(strings.ToUpper(method), path) {
				continue
			}
			op := src.paths[path][method].(map[string]any)
			full := p.Prefix + path
			if _, dup := d.paths[full][method]; dup {
				return fmt.Errorf("%w: another part has an operation at %s %s; give the parts different prefixes", ErrConflict, strings.ToUpper(method), full)
			}
			id := op["operationId"].(string)
			if other, dup := d.ids[id]; dup {
				return fmt.Errorf("%w: operationId %q of %s %s is taken by %s; set Op.ID in one service", ErrConflict, id, strings.ToUpper(method), full, other)
			}
			if d.paths[full] == nil {
				d.paths[full] = map[string]any{}
			}
			d.paths[full][method] = op
			d.ids[id] = strings.ToUpper(method) + " " + full
			refs(op, src.schemas.defs, used)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		s := src.schemas.defs[name]
		if have, ok := d.schemas.defs[name]; ok {
			same, err := equalJSON(have, s)
			if err != nil {
				return err
			}
			if !same {
				return fmt.Errorf("%w: schema %q differs from the one another part defines; rename the Go type in one service", ErrConflict, name)
			}
		}
		d.schemas.defs[name] = s
	}
	for t, name := range src.schemas.names {
		if used[name] {
			d.schemas.names[t] = name
		}
	}
	return nil
}

// refs marks in used the schemas that v refers to, and those they refer
// to in turn.
func refs(v any, defs map[string]any, used map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if ref, ok := e.(string); ok && k == "$ref" {
				name := strings.TrimPrefix(ref, schemaRef)
				if !used[name] {
					used[name] = true
					refs(defs[name], defs, used)
				}
				continue
			}
			refs(e, defs, used)
		}
	case []any:
		for _, e := range v {
			refs(e, defs, used)
		}
	}
}

func equalJSON(a, b any) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return string(ja) == string(jb), nil
}
