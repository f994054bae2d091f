package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Version is the OpenAPI version of every document: 3.1.0.
const Version = "3.1.0"

// ProblemSchema is the name of the shared schema of every error body, under
// components/schemas.
const ProblemSchema = "Problem"

// ErrConflict is wrapped by the errors and panics that report two
// definitions of one thing: one operation, schema name or security scheme
// defined twice, differently.
var ErrConflict = errors.New("openapi: conflicting definitions")

// Document is an OpenAPI 3.1 document that operations are added to as
// routes are registered ([Route], [Handle]), so the document says what the
// service serves. Its JSON form ([Document.MarshalJSON]) is deterministic:
// the same routes give the same bytes.
//
// The zero value is not usable; call [New]. A Document is safe for
// concurrent use.
type Document struct {
	mu       sync.RWMutex
	info     info
	servers  []server
	paths    map[string]map[string]any // path -> lower-case method -> operation
	ids      map[string]string         // operationId -> "METHOD path"
	schemas  *schemas
	security map[string]SecurityScheme
}

type info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

type server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// Option configures a [Document].
type Option func(*Document)

// WithDescription sets the document's description (info.description),
// Markdown allowed.
func WithDescription(text string) Option {
	return func(d *Document) { d.info.Description = text }
}

// WithServer adds a server the API is reached at, such as
// "https://api.example.com". Without one, clients resolve paths against
// the document's own URL.
func WithServer(url, description string) Option {
	return func(d *Document) { d.servers = append(d.servers, server{url, description}) }
}

// WithSecurityScheme defines a security scheme that operations name in
// [Op.Security]; [BearerJWT] is the one tailor's auth package verifies.
func WithSecurityScheme(name string, s SecurityScheme) Option {
	return func(d *Document) { d.security[name] = s }
}

// DefineSecurityScheme defines a security scheme as [WithSecurityScheme]
// does, for code that records its routes in a document it did not make,
// such as a service's DescribeHTTP. Defining a name again with an equal
// scheme does nothing; with another scheme it is an error wrapping
// [ErrConflict].
func (d *Document) DefineSecurityScheme(name string, s SecurityScheme) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.security[name]; ok && old != s {
		return fmt.Errorf("openapi: %w: security scheme %q is defined already as %+v, not %+v; use another name", ErrConflict, name, old, s)
	}
	d.security[name] = s
	return nil
}

// SecurityScheme is an OpenAPI security scheme object.
type SecurityScheme struct {
	Type         string `json:"type"`                   // "http", "apiKey", "oauth2", "openIdConnect" or "mutualTLS"
	Description  string `json:"description,omitempty"`  // Markdown allowed
	Scheme       string `json:"scheme,omitempty"`       // for "http": "bearer" or "basic"
	BearerFormat string `json:"bearerFormat,omitempty"` // for "bearer": a hint, such as "JWT"
	Name         string `json:"name,omitempty"`         // for "apiKey": the header, query or cookie name
	In           string `json:"in,omitempty"`           // for "apiKey": "header", "query" or "cookie"
}

// BearerJWT is the scheme of a JWT sent as "Authorization: Bearer <token>".
func BearerJWT() SecurityScheme {
	return SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT"}
}

// New returns an empty document for the API called title at version (the
// API's version, not OpenAPI's).
func New(title, version string, opts ...Option) *Document {
	d := &Document{
		info:     info{Title: title, Version: version},
		paths:    map[string]map[string]any{},
		ids:      map[string]string{},
		schemas:  newSchemas(),
		security: map[string]SecurityScheme{},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Op describes one operation. Its zero value documents a 200 answer and
// the errors that every route can give.
type Op struct {
	// ID is the operationId, unique in the document. Empty derives one
	// from the method and path: "GET /v1/products/{id}" is
	// "getV1ProductsId".
	ID string

	Summary     string   // one line
	Description string   // Markdown allowed
	Tags        []string // groups the operation with others in documentation tools
	Deprecated  bool     // marks the operation as going away

	// Status is the status of a successful answer; 0 means 200. With 204
	// the answer has no body.
	Status int

	// Security names the security schemes ([WithSecurityScheme]) the
	// operation requires, all of them; empty means none. An operation with
	// security also documents 401 and 403.
	Security []string

	// Query lists query parameters beyond those the request type declares
	// with `query` struct tags; see [Query].
	Query []Param

	// Headers lists request header parameters, such as a required
	// Idempotency-Key; see [Header].
	Headers []Param

	// Errors lists the error statuses the operation gives beyond those
	// documented for every operation: 500 always; 400 when it has path or
	// query parameters or a body; 413, 415 and 422 with a body; 401 and
	// 403 with security.
	Errors []int
}

// Param is a query parameter. Make one with [Query]; its zero value has
// no type and is refused by [Route].
type Param struct {
	Name        string // as it appears in the query string or the header
	Description string // Markdown allowed
	Required    bool   // false, the default, lets the client leave it out
	typ         reflect.Type
}

// Query returns the query parameter name, whose value is read as a T (a
// string, number or boolean).
func Query[T any](name, description string) Param {
	return Param{Name: name, Description: description, typ: reflect.TypeFor[T]()}
}

// Header returns a request header parameter of type T (usually string)
// for [Op.Headers]; set Required on it when the route refuses a request
// without the header.
func Header[T any](name, description string) Param {
	return Param{Name: name, Description: description, typ: reflect.TypeFor[T]()}
}

// Route records the operation pattern serves: pattern is the route's
// [net/http.ServeMux] pattern, with a method ("GET /v1/products/{id}"),
// Req is the request type the endpoint decodes and Resp the response type
// it encodes. Prefer [Handle], which also registers the route, so the
// document cannot drift from the routes.
//
// Req's path wildcards ({id}, {rest...}) become path parameters, strings
// unless a field of Req tagged `path:"id"` gives another type; fields of
// Req tagged `query:"name"` become query parameters; both are left out of
// the body's schema (tag them `json:"-"` too, so a body cannot set them,
// and read them in a BindHTTP method); for POST,
// PUT and PATCH the rest of Req is the JSON request body. See the package
// doc for how Go types map to JSON Schema.
//
// Like [net/http.ServeMux.Handle], Route panics on a pattern without a
// method, a pattern with a host, an operation or operationId already
// recorded, an undefined security scheme, a success status in Op.Errors or
// an error status in Op.Status, and a type with no JSON form: all are
// programming errors found at start-up.
func Route[Req, Resp any](d *Document, pattern string, op Op) {
	if err := d.add(pattern, reflect.TypeFor[Req](), reflect.TypeFor[Resp](), op); err != nil {
		panic(err)
	}
}

func (d *Document) add(pattern string, req, resp reflect.Type, op Op) error {
	method, path, err := splitPattern(pattern)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fail := func(err error) error { return fmt.Errorf("openapi: route %q: %w", pattern, err) }
	if _, dup := d.paths[path][strings.ToLower(method)]; dup {
		return fail(fmt.Errorf("%w: the operation is recorded already; record each route once", ErrConflict))
	}
	if op.ID == "" {
		op.ID = operationID(method, path)
	}
	if other, dup := d.ids[op.ID]; dup {
		return fail(fmt.Errorf("%w: operationId %q is taken by %q; set Op.ID", ErrConflict, op.ID, other))
	}
	for _, name := range op.Security {
		if _, ok := d.security[name]; !ok {
			return fail(fmt.Errorf("security scheme %q is not defined; add it with WithSecurityScheme", name))
		}
	}
	// Build in a scratch copy of the schemas, so a failed route leaves none
	// of its schemas behind.
	sc := &schemas{defs: maps.Clone(d.schemas.defs), names: maps.Clone(d.schemas.names)}
	o, err := buildOperation(sc, method, path, req, resp, op)
	if err != nil {
		return fail(err)
	}
	d.schemas = sc
	if d.paths[path] == nil {
		d.paths[path] = map[string]any{}
	}
	d.paths[path][strings.ToLower(method)] = o
	d.ids[op.ID] = method + " " + path
	return nil
}

// splitPattern cuts a ServeMux pattern into its method and its OpenAPI path.
func splitPattern(pattern string) (method, path string, err error) {
	method, rest, ok := strings.Cut(pattern, " ")
	rest = strings.TrimLeft(rest, " \t")
	switch {
	case !ok || method == "":
		return "", "", fmt.Errorf("openapi: route %q has no method; write it as \"GET /path\"", pattern)
	case !strings.HasPrefix(rest, "/"):
		return "", "", fmt.Errorf("openapi: route %q names a host or no path; a document's paths start with \"/\"", pattern)
	}
	path = strings.TrimSuffix(rest, "{$}")
	path = strings.ReplaceAll(path, "...}", "}")
	return method, path, nil
}

func pathParams(path string) []string {
	var names []string
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for seg := range strings.SplitSeq(path, "/") {
		seg = strings.Trim(seg, "{}")
		for part := range strings.FieldsFuncSeq(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]))
			b.WriteString(part[1:])
		}
	}
	return b.String()
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

func buildOperation(sc *schemas, method, path string, req, resp reflect.Type, op Op) (map[string]any, error) {
	o := map[string]any{"operationId": op.ID}
	if op.Summary != "" {
		o["summary"] = op.Summary
	}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if len(op.Tags) > 0 {
		o["tags"] = op.Tags
	}
	if op.Deprecated {
		o["deprecated"] = true
	}

	params, err := pathParamList(sc, path, req)
	if err != nil {
		return nil, err
	}
	query, err := queryParams(sc, req, op.Query)
	if err != nil {
		return nil, err
	}
	params = append(params, query...)
	for _, h := range op.Headers {
		if h.typ == nil {
			return nil, fmt.Errorf("header parameter %q has no type; make it with openapi.Header", h.Name)
		}
		schema, err := sc.of(h.typ)
		if err != nil {
			return nil, fmt.Errorf("header parameter %q: %w", h.Name, err)
		}
		p := map[string]any{"name": h.Name, "in": "header", "schema": schema}
		if h.Description != "" {
			p["description"] = h.Description
		}
		if h.Required {
			p["required"] = true
		}
		params = append(params, p)
	}
	if len(params) > 0 {
		o["parameters"] = params
	}

	errs := []int{http.StatusInternalServerError}
	body := hasBody(method)
	if body {
		rs, err := sc.of(req)
		if err != nil {
			return nil, fmt.Errorf("request type: %w", err)
		}
		o["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": rs}},
		}
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	} else if len(params) > 0 {
		errs = append(errs, http.StatusBadRequest)
	}
	if len(op.Security) > 0 {
		o["security"] = []any{securityRequirement(op.Security)}
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
	}
	errs = append(errs, op.Errors...)

	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 399 {
		return nil, fmt.Errorf("Op.Status is %d, which is not a success status; give the 1xx to 3xx status of a successful answer, and list errors in Op.Errors", status)
	}
	responses := map[string]any{}
	ok := map[string]any{"description": description(status)}
	if status != http.StatusNoContent {
		rs, err := sc.of(resp)
		if err != nil {
			return nil, fmt.Errorf("response type: %w", err)
		}
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": rs}}
	}
	responses[strconv.Itoa(status)] = ok
	slices.Sort(errs)
	for _, code := range slices.Compact(errs) {
		if code < 400 || code > 599 {
			return nil, fmt.Errorf("Op.Errors has %d, which is not an error status; list 4xx and 5xx statuses", code)
		}
		responses[strconv.Itoa(code)] = map[string]any{
			"description": description(code),
			"content":     map[string]any{thttp.ProblemContentType: map[string]any{"schema": map[string]any{"$ref": schemaRef + ProblemSchema}}},
		}
	}
	o["responses"] = responses
	return o, nil
}

func description(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(status)
}

func securityRequirement(names []string) map[string]any {
	req := map[string]any{}
	for _, n := range names {
		req[n] = []any{}
	}
	return req
}

// pathParamList lists the path parameters of path: strings, unless a
// field of req tagged `path:"name"` gives the type (and a `jsonschema` tag
// more).
func pathParamList(sc *schemas, path string, req reflect.Type) ([]any, error) {
	tagged := map[string]reflect.StructField{}
	for req.Kind() == reflect.Pointer {
		req = req.Elem()
	}
	if req.Kind() == reflect.Struct {
		for i := range req.NumField() {
			if f := req.Field(i); f.IsExported() {
				if name, ok := f.Tag.Lookup("path"); ok {
					tagged[name] = f
				}
			}
		}
	}
	var params []any
	for _, name := range pathParams(path) {
		s := map[string]any{"type": "string"}
		if f, ok := tagged[name]; ok {
			delete(tagged, name)
			var err error
			if s, err = sc.fieldSchema(f); err != nil {
				return nil, fmt.Errorf("path parameter %q: %w", name, err)
			}
		}
		p := map[string]any{"name": name, "in": "path", "required": true, "schema": s}
		if d, ok := s["description"].(string); ok {
			s = maps.Clone(s)
			delete(s, "description")
			p["schema"], p["description"] = s, d
		}
		params = append(params, p)
	}
	if len(tagged) > 0 {
		name := slices.Sorted(maps.Keys(tagged))[0]
		return nil, fmt.Errorf("field %s is tagged path:%q, but the pattern has no wildcard {%s}; fix the tag or the pattern", tagged[name].Name, name, name)
	}
	return params, nil
}

// queryParams lists the query parameters: req's fields tagged `query`,
// then extra.
func queryParams(sc *schemas, req reflect.Type, extra []Param) ([]any, error) {
	var out []any
	seen := map[string]bool{}
	addParam := func(name, desc string, required bool, t reflect.Type, tag string) error {
		if seen[name] {
			return fmt.Errorf("%w: query parameter %q is declared twice", ErrConflict, name)
		}
		seen[name] = true
		s, err := sc.of(t)
		if err != nil {
			return fmt.Errorf("query parameter %q: %w", name, err)
		}
		if tag != "" {
			s = maps.Clone(s)
			if err := applyTag(s, tag); err != nil {
				return fmt.Errorf("query parameter %q: tag jsonschema:%q: %w", name, tag, err)
			}
		}
		p := map[string]any{"name": name, "in": "query", "schema": s}
		if d, ok := s["description"].(string); ok && desc == "" {
			desc = d
			delete(s, "description")
		}
		if desc != "" {
			p["description"] = desc
		}
		if required {
			p["required"] = true
		}
		out = append(out, p)
		return nil
	}
	for req.Kind() == reflect.Pointer {
		req = req.Elem()
	}
	if req.Kind() == reflect.Struct {
		for i := range req.NumField() {
			f := req.Field(i)
			name, ok := f.Tag.Lookup("query")
			if !ok || !f.IsExported() {
				continue
			}
			if err := addParam(name, "", false, f.Type, f.Tag.Get("jsonschema")); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range extra {
		if p.typ == nil {
			return nil, fmt.Errorf("query parameter %q has no type; make it with openapi.Query", p.Name)
		}
		if err := addParam(p.Name, p.Description, p.Required, p.typ, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// problemSchema is the schema of transport/http's Problem.
func problemSchema() map[string]any {
	var kinds []any
	for k := fault.Kind(0); ; k++ {
		if got, ok := fault.ParseKind(k.String()); !ok || got != k {
			break
		}
		kinds = append(kinds, k.String())
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	return map[string]any{
		"type":        "object",
		"description": "An RFC 9457 problem details object, with tailor's extension members kind, request_id and violations.",
		"required":    []any{"title", "status", "kind"},
		"properties": map[string]any{
			"type":       map[string]any{"type": "string", "format": "uri-reference", "description": "A URI that identifies the problem type; absent means about:blank."},
			"title":      str("The HTTP status text."),
			"status":     map[string]any{"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status code."},
			"detail":     str("What went wrong and what to do, for a person to read."),
			"instance":   map[string]any{"type": "string", "format": "uri-reference", "description": "A URI that identifies this occurrence."},
			"kind":       map[string]any{"type": "string", "enum": kinds, "description": "The error's kind, which a client classifies by; it agrees with the status."},
			"request_id": str("The request's ID, to quote when asking about it."),
			"violations": map[string]any{
				"type":        "array",
				"description": "Each rule the request broke, for 422 answers.",
				"items": map[string]any{
					"type":     "object",
					"required": []any{"field", "description"},
					"properties": map[string]any{
						"field":       str("The JSON path of the field, such as price.amount."),
						"description": str("What is wrong with it."),
					},
				},
			},
		},
	}
}

// Operations lists the document's operations, sorted, each as its method
// and OpenAPI path: "GET /v1/products/{id}" (the path of the route pattern
// "GET /{$}" is "/", that of "{name...}" "{name}"). A test compares them
// with the routes a router serves.
func (d *Document) Operations() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var ops []string
	for path, methods := range d.paths {
		for method := range methods {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// MarshalJSON returns the document as JSON: objects with their keys
// sorted, so equal documents give equal bytes.
func (d *Document) MarshalJSON() ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	components := map[string]any{"schemas": d.schemas.defs}
	if len(d.security) > 0 {
		components["securitySchemes"] = d.security
	}
	return json.Marshal(struct {
		OpenAPI    string                    `json:"openapi"`
		Info       info                      `json:"info"`
		Servers    []server                  `json:"servers,omitempty"`
		Paths      map[string]map[string]any `json:"paths"`
		Components map[string]any            `json:"components"`
	}{Version, d.info, d.servers, d.paths, components})
}

// Handler serves the document as application/json; register it for
// "GET /openapi.json". Each request sees the routes recorded so far.
func (d *Document) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := d.MarshalJSON()
		if err != nil {
			thttp.WriteError(w, r, fault.Wrap(err, fault.Internal, "the OpenAPI document could not be written"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b) // the status is sent; a write error means the client left
	})
}
