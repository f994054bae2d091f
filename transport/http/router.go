package http

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/pattern"
	"github.com/tailorkit/tailor/requestid"
)

// Router routes requests with the standard library's method-and-path
// patterns ("GET /v1/products/{id}", see [http.ServeMux]) and gives every
// request what a service needs before its handler runs:
//
//   - a request ID: the client's X-Request-Id when [requestid.Valid],
//     otherwise a new one; in the context ([requestid.FromContext]) and
//     echoed in the response;
//   - panic recovery: a panicking handler answers 500 problem+json (or, if
//     it had already started the response, the connection is aborted) and
//     the server keeps serving;
//   - problem+json answers for unknown paths (404) and unsupported methods
//     (405, with an Allow header);
//   - problem+json answers, where [http.ServeMux] would answer in text or
//     HTML, for CONNECT requests when no route takes CONNECT (405 with an
//     empty Allow header: this server is not a proxy), for paths that are
//     not in canonical form, such as "//v1/products" or "/v1/../admin"
//     (400 naming the canonical path, where ServeMux would redirect), and
//     for a request line or headers larger than the limit set by
//     [WithMaxHeaderBytes] (414 for a long request target, 431 for large
//     headers).
//
// Some bad requests never reach a handler: net/http's server answers them
// itself, in text/plain, and closes the connection. These are a request
// line and headers beyond [net/http.Server.MaxHeaderBytes] (431; 1 MiB
// when unset, which is why the Router's own limit is lower), a malformed
// request line or header (400), an unsupported Transfer-Encoding (501) and
// an unsupported HTTP version (505). Keep MaxHeaderBytes above the
// Router's limit so that every size the Router could refuse is refused by
// the Router, as problem+json.
//
// Router owns the pattern "/"; serve a root page with "GET /{$}". The zero
// value is not usable; call [NewRouter]. A Router is safe for concurrent
// use; register every route before serving.
type Router struct {
	mux            *http.ServeMux
	handler        http.Handler // dispatch, wrapped by WithMiddleware
	logger         *slog.Logger
	wrap           []func(http.Handler) http.Handler
	maxHeaderBytes int

	mu      sync.RWMutex
	paths   *http.ServeMux      // path-only patterns, to tell 405 from 404
	methods map[string][]string // path pattern -> methods registered for it
	connect bool                // a route takes CONNECT
}

// DefaultMaxHeaderBytes is the Router's limit on the request target and on
// the request line and headers together, when no [WithMaxHeaderBytes]
// option is given: 64 KiB.
const DefaultMaxHeaderBytes = 64 << 10

// RouterOption configures a [Router].
type RouterOption func(*Router)

// WithLogger makes the Router log recovered panics, with their stack, to
// logger. Without it, panics are answered but not logged.
func WithLogger(logger *slog.Logger) RouterOption {
	return func(rt *Router) { rt.logger = logger }
}

// WithMiddleware runs mw around routing, inside the request ID and panic
// recovery: mw sees the request ID in the context, and once its next
// handler returns, the request's Pattern holds the route that matched
// ("GET /v1/products/{id}", or "/" for requests no route took), which is
// what tracing and metrics need to name a route without its raw path.
// (When a middleware inside passes on a copy of the request, the Router
// gives the pattern to tailor's telemetry middleware through the response
// writer instead.)
// Middlewares given in several options run in the order given, the first
// outermost.
func WithMiddleware(mw func(http.Handler) http.Handler) RouterOption {
	return func(rt *Router) { rt.wrap = append(rt.wrap, mw) }
}

// WithMaxHeaderBytes sets the largest request the Router accepts, counting
// the request target and the header fields (names, values and their
// framing): a longer target is answered with 414 and larger headers with
// 431, as problem+json. The default is [DefaultMaxHeaderBytes]; n <= 0
// keeps it. Keep n below the [net/http.Server]'s MaxHeaderBytes (1 MiB by
// default), beyond which net/http answers by itself, in text/plain.
func WithMaxHeaderBytes(n int) RouterOption {
	return func(rt *Router) {
		if n > 0 {
			rt.maxHeaderBytes = n
		}
	}
}

// NewRouter returns an empty Router.
func NewRouter(opts ...RouterOption) *Router {
	rt := &Router{mux: http.NewServeMux(), paths: http.NewServeMux(), methods: map[string][]string{}, maxHeaderBytes: DefaultMaxHeaderBytes}
	for _, o := range opts {
		o(rt)
	}
	rt.mux.HandleFunc("/", rt.unmatched)
	rt.handler = http.HandlerFunc(rt.dispatch)
	for i := len(rt.wrap) - 1; i >= 0; i-- {
		rt.handler = rt.wrap[i](rt.handler)
	}
	return rt
}

// Handle registers h for pattern. Like [http.ServeMux.Handle], it panics on
// an invalid pattern or one that conflicts with an earlier one: both are
// programming errors found at start-up.
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return // a pattern without a method serves every method
	}
	path = strings.TrimLeft(path, " \t")
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, seen := rt.methods[path]; !seen {
		rt.paths.Handle(path, http.NotFoundHandler())
	}
	if method == http.MethodConnect {
		rt.connect = true
	}
	if method == http.MethodGet {
		rt.methods[path] = append(rt.methods[path], http.MethodHead)
	}
	rt.methods[path] = append(rt.methods[path], method)
}

// HandleFunc registers f for pattern; see [Router.Handle].
func (rt *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(f))
}

// dispatch refuses, as problem+json, what ServeMux would answer in text or
// with a redirect, and routes the rest.
func (rt *Router) dispatch(w http.ResponseWriter, r *http.Request) {
	// Middlewares that passed on a copy of the request see the pattern
	// only this way; deferred, so that it is there after a panic too.
	defer func() { pattern.Record(w, r.Pattern) }()
	if err := rt.check(r); err != nil {
		r.Pattern = "/"
		if err.Status == http.StatusMethodNotAllowed {
			// An empty Allow says no method is allowed: RFC 9110, 10.2.1.
			w.Header()["Allow"] = []string{""}
		}
		WriteError(w, r, err)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// check returns the error for a request the Router refuses before routing.
func (rt *Router) check(r *http.Request) *fault.Error {
	if n := len(r.RequestURI); n > rt.maxHeaderBytes {
		return &fault.Error{
			Kind:   fault.InvalidArgument,
			Status: http.StatusRequestURITooLong,
			Detail: fmt.Sprintf("the request target is %d bytes, more than the %d this server accepts; send a shorter URL (large inputs go in the body)", n, rt.maxHeaderBytes),
		}
	}
	if n := headerBytes(r); n > rt.maxHeaderBytes {
		return &fault.Error{
			Kind:   fault.InvalidArgument,
			Status: http.StatusRequestHeaderFieldsTooLarge,
			Detail: fmt.Sprintf("the request line and headers are %d bytes, more than the %d this server accepts; send fewer or smaller headers", n, rt.maxHeaderBytes),
		}
	}
	if r.Method == http.MethodConnect {
		rt.mu.RLock()
		connect := rt.connect
		rt.mu.RUnlock()
		if connect {
			return nil
		}
		return &fault.Error{
			Kind:   fault.InvalidArgument,
			Status: http.StatusMethodNotAllowed,
			Detail: "method CONNECT is not supported: this server is not a proxy; send requests for its API directly",
		}
	}
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
		return fault.New(fault.InvalidArgument, fmt.Sprintf("the path %q is not in canonical form (it has an empty, \".\" or \"..\" segment); send %q", p, cleanPath(p)))
	}
	return nil
}

// headerBytes is the size of r's request line and header fields, counted
// as they travel in HTTP/1.1.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// cleanPath is the canonical form of p, as [http.ServeMux] computes it:
// rooted, with no empty, "." or ".." segments, and a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// unmatched answers requests no pattern took: 405 when the path is known
// under other methods, 404 otherwise.
func (rt *Router) unmatched(w http.ResponseWriter, r *http.Request) {
	rt.mu.RLock()
	_, pattern := rt.paths.Handler(r)
	allowed := rt.methods[pattern]
	rt.mu.RUnlock()
	if pattern != "" && len(allowed) > 0 {
		allow := slices.Clone(allowed)
		slices.Sort(allow)
		allow = slices.Compact(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		WriteError(w, r, &fault.Error{
			Kind:   fault.InvalidArgument,
			Status: http.StatusMethodNotAllowed,
			Detail: "method " + r.Method + " is not supported on " + r.URL.Path + "; use " + strings.Join(allow, " or "),
		})
		return
	}
	WriteError(w, r, fault.New(fault.NotFound, "no route for "+r.Method+" "+r.URL.Path+"; check the path against the API"))
}

// ServeHTTP gives the request its ID and recovery, then routes it.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := ""
	if v := r.Header[requestid.Header]; len(v) > 0 { // the constant is in canonical form
		id = v[0]
	}
	if !requestid.Valid(id) {
		id = requestid.New()
	}
	w.Header().Set(requestid.Header, id)
	r = r.WithContext(requestid.NewContext(r.Context(), id))
	rw := &responseWriter{ResponseWriter: w, logger: rt.logger}
	defer rw.recover(r)
	rt.handler.ServeHTTP(rw, r)
}

// responseWriter notes whether the response has started, so a panic is
// answered with a problem only while nothing was sent.
type responseWriter struct {
	http.ResponseWriter
	logger  *slog.Logger
	started bool
}

func (s *responseWriter) recover(r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	if s.started {
		// Part of a response is out: the only honest thing left is to
		// cut the connection, which net/http does for ErrAbortHandler.
		panic(http.ErrAbortHandler)
	}
	err := &fault.Error{Kind: fault.Internal, Detail: "panic while handling the request", Cause: panicError{v}}
	if s.logger != nil {
		s.logger.ErrorContext(r.Context(), "handler panicked", "error", err.Error(), "method", r.Method, "path", r.URL.Path,
			"request_id", requestid.FromContext(r.Context()), "stack", string(debug.Stack()))
	}
	// Headers the handler set for the body it never sent would
	// misdescribe the problem body.
	h := s.ResponseWriter.Header()
	for _, k := range [...]string{"Content-Length", "Content-Encoding", "Content-Range", "Etag", "Last-Modified"} {
		delete(h, k)
	}
	WriteError(s.ResponseWriter, r, err)
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic: ", p.v) }

func (s *responseWriter) WriteHeader(code int) {
	if code >= 200 {
		s.started = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *responseWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.ResponseWriter.Write(p)
}

// Flush sends buffered data to the client, when the underlying writer can.
func (s *responseWriter) Flush() {
	s.started = true
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack lets a handler take over the connection, when the underlying
// writer can.
func (s *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.started = true
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Unwrap gives [http.ResponseController] the underlying writer.
func (s *responseWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
