package http

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// encoding/json matches object keys to struct fields without regard to
// case and lets a later duplicate key overwrite an earlier one, so
// {"NAME": "x"} fills Name and {"name": "a", "name": "b"} is read as "b".
// A client that sends either has a bug the server should name, not hide.
// keyShape describes, for one Go type, which JSON object keys it takes, and
// checkKeys walks a body that encoding/json has already found well-formed.

// keyShape is what checkKeys needs to know of a type: for a struct its
// field names, for a map or a slice the shape of its elements. A nil
// *keyShape takes any keys (an interface, a json.RawMessage, a type with
// its own UnmarshalJSON), but duplicates are still refused.
type keyShape struct {
	fields map[string]*keyShape // struct: JSON field name -> its shape
	elem   *keyShape            // map value or slice element
	isMap  bool
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf builds the shape of t; seen breaks cycles of recursive types.
func shapeOf(t reflect.Type, seen map[reflect.Type]*keyShape) *keyShape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &keyShape{fields: map[string]*keyShape{}}
		seen[t] = s
		addFields(s, t, seen)
		return s
	case reflect.Map:
		s := &keyShape{isMap: true}
		seen[t] = s
		s.elem = shapeOf(t.Elem(), seen)
		return s
	case reflect.Slice, reflect.Array:
		s := &keyShape{}
		seen[t] = s
		s.elem = shapeOf(t.Elem(), seen)
		return s
	}
	return nil
}

// addFields adds t's JSON fields to s, those of embedded structs included,
// named as encoding/json names them.
func addFields(s *keyShape, t reflect.Type, seen map[reflect.Type]*keyShape) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(s, ft, seen)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = shapeOf(f.Type, seen)
	}
}

// keyError is a JSON key that checkKeys refuses, with the path of keys
// that leads to it.
type keyError struct {
	path      []string // outermost first
	key       string
	want      string // the field's name, when key only differs in case
	duplicate bool
}

func (e *keyError) detail() string {
	at := ""
	if len(e.path) > 0 {
		at = " in " + strings.Join(e.path, ".")
	}
	if e.duplicate {
		return "the request body has the key \"" + e.key + "\" twice" + at + "; send each key once"
	}
	return "the request body has the key \"" + e.key + "\"" + at + ", but the field is \"" + e.want + "\"; JSON keys are case-sensitive, so spell it exactly"
}

// checkKeys refuses duplicate keys in any object of data, and keys that
// match a struct field of shape only when case is ignored. data must be
// one well-formed JSON value.
func checkKeys(data []byte, shape *keyShape) *keyError {
	sc := keyScanner{data: data}
	return sc.value(shape)
}

type keyScanner struct {
	data []byte
	i    int
}

func (sc *keyScanner) skipSpace() {
	for sc.i < len(sc.data) {
		switch sc.data[sc.i] {
		case ' ', '\t', '\r', '\n':
			sc.i++
		default:
			return
		}
	}
}

func (sc *keyScanner) value(shape *keyShape) *keyError {
	sc.skipSpace()
	if sc.i >= len(sc.data) {
		return nil
	}
	switch sc.data[sc.i] {
	case '{':
		return sc.object(shape)
	case '[':
		sc.i++
		var elem *keyShape
		if shape != nil {
			elem = shape.elem
		}
		for {
			sc.skipSpace()
			if sc.i >= len(sc.data) || sc.data[sc.i] == ']' {
				sc.i++
				return nil
			}
			if err := sc.value(elem); err != nil {
				return err
			}
			sc.skipSpace()
			if sc.i < len(sc.data) && sc.data[sc.i] == ',' {
				sc.i++
			}
		}
	case '"':
		sc.str()
	default:
		for sc.i < len(sc.data) && strings.IndexByte(",]} \t\r\n", sc.data[sc.i]) < 0 {
			sc.i++
		}
	}
	return nil
}

// str skips a string and returns its raw contents, without the quotes.
func (sc *keyScanner) str() (raw []byte, escaped bool) {
	sc.i++ // the opening quote
	start := sc.i
	for sc.i < len(sc.data) {
		switch sc.data[sc.i] {
		case '\\':
			escaped = true
			sc.i += 2
			continue
		case '"':
			raw = sc.data[start:sc.i]
			sc.i++
			return raw, escaped
		}
		sc.i++
	}
	return sc.data[start:], escaped
}

func (sc *keyScanner) object(shape *keyShape) *keyError {
	sc.i++ // {
	var (
		buf  [16][]byte
		seen = buf[:0]
		many map[string]bool // past 16 keys, so a huge object costs linear time
	)
	for {
		sc.skipSpace()
		if sc.i >= len(sc.data) || sc.data[sc.i] == '}' {
			sc.i++
			return nil
		}
		// Keys are compared as bytes: most have no escapes, and those
		// are checked without a copy.
		key, escaped := sc.str()
		if escaped {
			// Rare: let encoding/json undo the escapes.
			var s string
			_ = json.Unmarshal(sc.data[sc.i-len(key)-2:sc.i], &s)
			key = []byte(s)
		}
		if many != nil {
			if many[string(key)] {
				return &keyError{key: string(key), duplicate: true}
			}
			many[string(key)] = true
		} else {
			for _, k := range seen {
				if bytes.Equal(k, key) {
					return &keyError{key: string(key), duplicate: true}
				}
			}
			seen = append(seen, key)
			if len(seen) == cap(buf) {
				many = make(map[string]bool, 2*len(seen))
				for _, k := range seen {
					many[string(k)] = true
				}
			}
		}
		var child *keyShape
		if shape != nil {
			switch {
			case shape.isMap:
				child = shape.elem
			case shape.fields != nil:
				f, ok := shape.fields[string(key)]
				if !ok {
					for name := range shape.fields {
						if strings.EqualFold(name, string(key)) {
							return &keyError{key: string(key), want: name}
						}
					}
				}
				child = f
			}
		}
		sc.skipSpace()
		sc.i++ // the colon
		if err := sc.value(child); err != nil {
			err.path = append([]string{string(key)}, err.path...)
			return err
		}
		sc.skipSpace()
		if sc.i < len(sc.data) && sc.data[sc.i] == ',' {
			sc.i++
		}
	}
}
