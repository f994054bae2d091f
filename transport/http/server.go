package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
)

// DefaultMaxBodyBytes is the largest request body [DecodeJSON] reads when
// no [WithMaxBodyBytes] option is given: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// NewServer returns a go-kit HTTP server for e that encodes every error as
// problem+json ([EncodeError]). opts are go-kit's own server options,
// applied after tailor's, so they can replace the error encoder.
func NewServer(e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, enc kithttp.EncodeResponseFunc, opts ...kithttp.ServerOption) *kithttp.Server {
	all := make([]kithttp.ServerOption, 0, len(opts)+1)
	all = append(all, kithttp.ServerErrorEncoder(EncodeError))
	all = append(all, opts...)
	return kithttp.NewServer(e, dec, enc, all...)
}

// ServerErrorLogger is a go-kit server option that logs, through logger, every
// error that is the server's fault (5xx) with its request ID. Client errors
// (4xx) are the client's business and are not logged.
func ServerErrorLogger(logger *slog.Logger) kithttp.ServerOption {
	return kithttp.ServerErrorHandler(errorLogger{logger})
}

type errorLogger struct{ l *slog.Logger }

func (h errorLogger) Handle(ctx context.Context, err error) {
	if fault.As(err).HTTPStatus() < 500 {
		return
	}
	h.l.ErrorContext(ctx, "request failed", "error", err.Error(), "kind", fault.KindOf(err).String(), "request_id", requestid.FromContext(ctx))
}

// Binder is implemented by request types that take values from the URL:
// path wildcards (r.PathValue) and query parameters. Decoders call BindHTTP
// after reading the body. An error that is not a [*fault.Error] is reported
// to the client as a 400 with the error's text as the detail, so say what
// was wrong and what is expected.
type Binder interface {
	BindHTTP(r *http.Request) error
}

// Validator is implemented by request types that check themselves after
// decoding. An error that is not a [*fault.Error] is reported as 422
// Unprocessable Content with the error's text as the detail; return
// [fault.Invalid] to list field violations.
type Validator interface {
	Validate() error
}

// DecodeOption configures [DecodeJSON].
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	maxBytes      int64
	allowUnknown  bool
	strictContent bool
}

// WithMaxBodyBytes sets the largest body accepted; a larger one is answered
// with 413. The default is [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) DecodeOption {
	return func(c *decodeConfig) { c.maxBytes = n }
}

// WithUnknownFields accepts JSON objects with fields the request type does
// not have. By default such a field is a 400 that names it, so a client's
// typo never goes unnoticed.
func WithUnknownFields() DecodeOption {
	return func(c *decodeConfig) { c.allowUnknown = true }
}

// WithStrictContentType also rejects bodies sent as
// application/x-www-form-urlencoded (see [DecodeJSON]). Use it for
// endpoints that browsers reach with cookies, where a cross-site form post
// must never be read as JSON.
func WithStrictContentType() DecodeOption {
	return func(c *decodeConfig) { c.strictContent = true }
}

// DecodeJSON returns a go-kit decoder that reads the body as JSON into a
// new T, then calls T's [Binder] and [Validator] methods if it has them, and
// hands the endpoint a *T. [tailor.Endpoint] takes a *Req as well as a Req,
// so a typed endpoint sees its own request type; a pointer spares an
// allocation per request.
//
// Bad input is answered, as problem+json, by one rule that every tailor
// decoder follows (query parameters and gRPC messages too): input that
// cannot be decoded, or does not have the shape of the request type, is
// 400; input that decodes but breaks a rule of the API is 422. So:
//   - 415 when Content-Type names a media type other than application/json
//     or application/*+json (a missing Content-Type, and
//     application/x-www-form-urlencoded, which curl -d sends unless told
//     otherwise, are read as JSON unless [WithStrictContentType] is given), or
//     when Content-Encoding names any coding but identity;
//   - 413 when the body exceeds the limit ([WithMaxBodyBytes]);
//   - 400 for an empty body, a body that is not valid UTF-8 (encoding/json
//     would silently replace the bad bytes), malformed JSON, JSON null
//     where the request type is not a pointer, a value of the wrong type
//     (a fraction where an integer is wanted included), an unknown field
//     ([WithUnknownFields]), a key that matches a field only when case is
//     ignored ("NAME" for "name": encoding/json would accept it), a key
//     that appears twice in one object (encoding/json would keep the
//     last), or data after the JSON value, with a detail that names the
//     problem and where it is;
//   - 422 when validation ([Validator]) fails.
func DecodeJSON[T any](opts ...DecodeOption) kithttp.DecodeRequestFunc {
	cfg := decodeConfig{maxBytes: DefaultMaxBodyBytes}
	for _, o := range opts {
		o(&cfg)
	}
	hooks := hooksOf[T]()
	t := reflect.TypeFor[T]()
	shape := shapeOf(t, map[reflect.Type]*keyShape{})
	nullable := t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface
	readers := sync.Pool{New: func() any { return new(bodyReader) }}
	return func(_ context.Context, r *http.Request) (any, error) {
		if err := checkContentType(r.Header["Content-Type"], cfg.strictContent); err != nil {
			return nil, err
		}
		if err := checkContentEncoding(r.Header["Content-Encoding"]); err != nil {
			return nil, err
		}
		v := new(T)
		br := readers.Get().(*bodyReader)
		err := br.decode(r.Body, cfg, v, shape, nullable)
		br.release(&readers)
		if err != nil {
			return nil, err
		}
		if err := hooks.run(r, v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// hooks records, once per request type, whether *T has the Binder and
// Validator methods, so decoding skips the type checks when it does not.
type hooks struct{ bind, validate bool }

func hooksOf[T any]() hooks {
	_, bind := any((*T)(nil)).(Binder)
	_, validate := any((*T)(nil)).(Validator)
	return hooks{bind, validate}
}

func (h hooks) run(r *http.Request, v any) error {
	if !h.bind && !h.validate {
		return nil
	}
	return bindAndValidate(r, v)
}

// DecodeRequest returns a go-kit decoder for requests without a body (GET,
// DELETE): it makes a T, calls its [Binder] and [Validator] methods if it
// has them, and hands the endpoint a *T (see [DecodeJSON]).
func DecodeRequest[T any]() kithttp.DecodeRequestFunc {
	hooks := hooksOf[T]()
	return func(_ context.Context, r *http.Request) (any, error) {
		v := new(T)
		if err := hooks.run(r, v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func bindAndValidate(r *http.Request, v any) error {
	if b, ok := v.(Binder); ok {
		if err := b.BindHTTP(r); err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				return err
			}
			return &fault.Error{Kind: fault.InvalidArgument, Detail: err.Error(), Cause: err}
		}
	}
	if val, ok := v.(Validator); ok {
		if err := val.Validate(); err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				return err
			}
			return &fault.Error{Kind: fault.InvalidArgument, Status: http.StatusUnprocessableEntity, Detail: err.Error(), Cause: err}
		}
	}
	return nil
}

func checkContentType(values []string, strict bool) error {
	if len(values) == 0 || values[0] == "" || values[0] == "application/json" {
		return nil
	}
	ct := values[0]
	// The media type is what comes before any parameters; compared without
	// mime.ParseMediaType, which allocates for every request.
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	sub, isApp := cutPrefixFold(mt, "application/")
	switch {
	case !isApp:
	case strings.EqualFold(sub, "json"), len(sub) > 5 && strings.EqualFold(sub[len(sub)-5:], "+json") && validToken(sub[:len(sub)-5]):
		return nil
	case strings.EqualFold(sub, "x-www-form-urlencoded") && !strict:
		return nil
	}
	return &fault.Error{
		Kind:   fault.InvalidArgument,
		Status: http.StatusUnsupportedMediaType,
		Detail: fmt.Sprintf("the request body has content type %q; send JSON with Content-Type: application/json", ct),
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// validToken reports whether s is a non-empty RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// checkContentEncoding refuses a body in any coding but identity: the
// decoder reads bytes as they came, and compressed JSON is not JSON.
func checkContentEncoding(values []string) error {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return &fault.Error{
					Kind:   fault.InvalidArgument,
					Status: http.StatusUnsupportedMediaType,
					Detail: fmt.Sprintf("the request body has Content-Encoding %q, which this server does not decode; send it uncompressed, without Content-Encoding", v),
				}
			}
		}
	}
	return nil
}

// bodyReader holds what reading a request body needs, so that a decoder
// keeps them from one request to the next. The body's bytes never outlive
// the request: encoding/json decodes from its own copy, and what it keeps
// (strings, json.RawMessage, []byte) it copies again.
type bodyReader struct {
	buf bytes.Buffer
	lim limitedReader
	rd  bytes.Reader
}

// maxPooledBody is the largest body buffer kept for the next request;
// a larger one is left to the collector.
const maxPooledBody = 64 << 10

func (br *bodyReader) release(pool *sync.Pool) {
	if br.buf.Cap() > maxPooledBody {
		return
	}
	br.buf.Reset()
	br.lim = limitedReader{}
	br.rd.Reset(nil)
	pool.Put(br)
}

// decode reads one JSON value from body into v and classifies every
// failure for the client.
func (br *bodyReader) decode(body io.Reader, cfg decodeConfig, v any, shape *keyShape, nullable bool) error {
	br.lim = limitedReader{r: body, n: cfg.maxBytes}
	_, err := br.buf.ReadFrom(&br.lim)
	if br.lim.exceeded {
		return &fault.Error{
			Kind:   fault.InvalidArgument,
			Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the request body is larger than %d bytes; send a smaller one", cfg.maxBytes),
		}
	}
	if err != nil {
		return &fault.Error{Kind: fault.InvalidArgument, Detail: "the request body could not be read to its end; send it again", Cause: err}
	}
	data := br.buf.Bytes()
	if !utf8.Valid(data) {
		return fault.New(fault.InvalidArgument, fmt.Sprintf("the request body is not valid UTF-8 (at byte %d); send JSON as UTF-8 text", invalidUTF8At(data)))
	}
	br.rd.Reset(data)
	dec := json.NewDecoder(&br.rd)
	if !cfg.allowUnknown {
		dec.DisallowUnknownFields()
	}
	err = dec.Decode(v)
	if err == nil && len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		err = errTrailing // anything but white space after the value
	}
	if err != nil {
		return &fault.Error{Kind: fault.InvalidArgument, Detail: jsonErrorDetail(err, dec.InputOffset()), Cause: err}
	}
	if !nullable && bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return fault.New(fault.InvalidArgument, fmt.Sprintf("the request body is JSON null; send %s", jsonKindOf(reflect.TypeOf(v).Elem())))
	}
	if kerr := checkKeys(data, shape); kerr != nil {
		return fault.New(fault.InvalidArgument, kerr.detail())
	}
	return nil
}

// invalidUTF8At returns the offset of the first byte of data that is not
// part of valid UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(data)
}

var errTrailing = errors.New("data after the JSON value")

func jsonErrorDetail(err error, offset int64) string {
	var (
		syntax    *json.SyntaxError
		unmarshal *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return "the request body is empty; send a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body ends in the middle of a JSON value; send complete JSON"
	case errors.Is(err, errTrailing):
		return fmt.Sprintf("the request body has data after the JSON value (at byte %d); send exactly one JSON value", offset)
	case errors.As(err, &syntax):
		return fmt.Sprintf("the request body is not valid JSON: %s (at byte %d)", strings.TrimPrefix(syntax.Error(), "json: "), syntax.Offset)
	case errors.As(err, &unmarshal):
		got := "a JSON " + unmarshal.Value
		if n, ok := strings.CutPrefix(unmarshal.Value, "number "); ok {
			got = "the JSON number " + n
		}
		if unmarshal.Field == "" {
			return fmt.Sprintf("the request body is %s; send %s", got, jsonKindOf(unmarshal.Type))
		}
		return fmt.Sprintf("field %q is %s; it must be %s", unmarshal.Field, got, jsonKindOf(unmarshal.Type))
	}
	// encoding/json reports an unknown field only as text, with no error
	// type to match.
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return fmt.Sprintf("the request body has an unknown field %s; check its spelling against the API", f)
	}
	return "the request body is not valid JSON: " + msg
}

// jsonKindOf names, with its article, the JSON type that t decodes from.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "a JSON boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer (a JSON number without a fraction or exponent)"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer (a JSON number without a fraction, exponent or sign)"
	case reflect.Float32, reflect.Float64:
		return "a JSON number"
	}
	return "a JSON value of Go type " + t.String()
}

// limitedReader is io.LimitedReader that remembers whether the limit was
// crossed, so a too-large body is told apart from a malformed one.
type limitedReader struct {
	r        io.Reader
	n        int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.exceeded = true
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.exceeded = true
		return 0, io.ErrUnexpectedEOF
	}
	return n, err
}

// EncodeJSON returns a go-kit encoder that writes the response as JSON with
// the given status. A response that implements go-kit's
// [kithttp.StatusCoder] or [kithttp.Headerer] sets its own status or
// headers. A nil response, or status 204, sends no body.
func EncodeJSON(status int) kithttp.EncodeResponseFunc {
	return func(_ context.Context, w http.ResponseWriter, response any) error {
		h := w.Header()
		if hr, ok := response.(kithttp.Headerer); ok {
			for k, vs := range hr.Headers() {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
		}
		code := status
		if sc, ok := response.(kithttp.StatusCoder); ok {
			code = sc.StatusCode()
		}
		if response == nil || code == http.StatusNoContent {
			w.WriteHeader(code)
			return nil
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		return json.NewEncoder(w).Encode(response)
	}
}

// readBounded reads at most limit bytes of r and discards the rest (up to a
// bound), so the connection can be reused.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	drain(r)
	return b, err
}

// drain discards up to 256 KiB left in r: enough to reuse a keep-alive
// connection after the usual short trailing data, without reading an
// endless stream.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 256<<10))
}
