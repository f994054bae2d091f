package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Limits of POST /dash/api/try.
const (
	// MaxTryBody is the largest request body a try sends and the most of
	// the answer's body it returns: 1 MiB.
	MaxTryBody = 1 << 20
	// TryTimeout bounds one try: 10 s.
	TryTimeout = 10 * time.Second
)

// maxDocument bounds the OpenAPI document GET /dash/api/openapi serves.
const maxDocument = 16 << 20

// WithAPI serves the API explorer (see the package doc) for the
// service's public HTTP handler h: GET /dash/api/openapi answers the
// document h serves at GET /openapi.json, and POST /dash/api/try sends a
// request to h and answers what it replied. A service passes its public
// router itself. Without it, both answer 404.
//
// A try is served in this process, by h itself, with the middleware h
// has (tracing, metrics, authentication), rather than over the network
// to the service's address: it reaches exactly the service's own routes
// whatever address the public listener is bound to, it cannot be turned
// into a request to another host, and nothing follows a redirect.
func WithAPI(h http.Handler) Option {
	return func(db *dashboard) { db.api = h }
}

// tryRequest is the body of POST /dash/api/try.
type tryRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Validate refuses what cannot be sent as a request to the service.
func (t *tryRequest) Validate() error {
	var vs []fault.Violation
	if t.Method == "" || strings.IndexFunc(t.Method, notToken) >= 0 {
		vs = append(vs, fault.Violation{Field: "method", Description: fmt.Sprintf("%q is not an HTTP method; use one such as GET or POST", t.Method)})
	}
	if u, err := url.ParseRequestURI(t.Path); err != nil || !strings.HasPrefix(t.Path, "/") || u.Host != "" {
		vs = append(vs, fault.Violation{Field: "path", Description: fmt.Sprintf("%q is not a path; give one that starts with / and may end with a query, such as /v1/products?limit=2", t.Path)})
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		if k == "" || strings.IndexFunc(k, notToken) >= 0 || strings.ContainsAny(t.Headers[k], "\r\n\x00") {
			vs = append(vs, fault.Violation{Field: "headers", Description: fmt.Sprintf("%q: %q is not a header; use a name of letters, digits and dashes and a value on one line", k, t.Headers[k])})
		}
	}
	if len(t.Body) > MaxTryBody {
		vs = append(vs, fault.Violation{Field: "body", Description: fmt.Sprintf("%d bytes is more than the %d a try sends; send a smaller body", len(t.Body), MaxTryBody)})
	}
	if len(vs) > 0 {
		return fault.Invalid(vs...)
	}
	return nil
}

// notToken reports whether r may not appear in an HTTP token (RFC 9110),
// the form of methods and header names.
func notToken(r rune) bool {
	return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

type tryAnswer struct {
	Version    int               `json:"version"`
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Truncated  bool              `json:"truncated"`
	DurationMS float64           `json:"duration_ms"`
}

type tryCall struct {
	req *tryRequest
	r   *http.Request
}

func (db *dashboard) tryHandler() http.Handler {
	decode := thttp.DecodeJSON[tryRequest](thttp.WithMaxBodyBytes(3*MaxTryBody), thttp.WithStrictContentType())
	return thttp.NewServer(db.try, func(ctx context.Context, r *http.Request) (any, error) {
		req, err := decode(ctx, r)
		if err != nil {
			return nil, err
		}
		return tryCall{req.(*tryRequest), r}, nil
	}, encodeJSON)
}

func (db *dashboard) try(ctx context.Context, request any) (any, error) {
	if db.api == nil {
		return nil, errNoAPI
	}
	call := request.(tryCall)
	ctx, cancel := context.WithTimeout(ctx, TryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, call.req.Method, call.req.Path, strings.NewReader(call.req.Body))
	if err != nil {
		return nil, fault.Errorf(fault.InvalidArgument, "cannot make the request: %v", err)
	}
	req.RequestURI, req.RemoteAddr, req.Host = call.req.Path, call.r.RemoteAddr, call.r.Host
	for k, v := range call.req.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	w := &capture{header: http.Header{}, limit: MaxTryBody}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				// The router under test did not recover it: answer as
				// net/http's server would not, but keep the process.
				db.tel.Logger().ErrorContext(ctx, "dashboard: a tried route panicked", "method", req.Method, "path", call.req.Path, "panic", fmt.Sprint(p))
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		db.api.ServeHTTP(w, req)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fault.Errorf(fault.DeadlineExceeded, "%s %s did not answer within %s; try a route that answers sooner", call.req.Method, call.req.Path, TryTimeout)
	}
	return w.answer(time.Since(start)), nil
}

var errNoAPI = fault.New(fault.NotFound, "this service gave its dashboard no HTTP handler to try requests on")

// capture is the response writer of a try: it keeps the status, the
// header and up to limit bytes of the body. It is safe for the
// concurrent use of a handler that outlives its try.
type capture struct {
	mu        sync.Mutex
	header    http.Header
	limit     int
	status    int
	body      bytes.Buffer
	truncated bool
}

// errBodyFull is what a write past a capture's limit returns.
var errBodyFull = errors.New("dashboard: the answer is longer than the dashboard keeps; it is cut")

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == 0 {
		c.status = http.StatusOK
	}
	room := c.limit - c.body.Len()
	if len(p) > room {
		c.body.Write(p[:room])
		c.truncated = true
		return room, errBodyFull
	}
	return c.body.Write(p)
}

func (c *capture) answer(d time.Duration) tryAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := tryAnswer{Version: Version, Status: c.status, Headers: map[string]string{}, Body: c.body.String(), Truncated: c.truncated, DurationMS: ms(d)}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	for k, vs := range c.header {
		out.Headers[k] = strings.Join(vs, ", ")
	}
	return out
}

func (db *dashboard) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if db.api == nil {
		thttp.WriteError(w, r, errNoAPI)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), TryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/openapi.json", nil)
	if err != nil {
		thttp.WriteError(w, r, err)
		return
	}
	req.RequestURI, req.RemoteAddr, req.Host = "/openapi.json", r.RemoteAddr, r.Host
	c := &capture{header: http.Header{}, limit: maxDocument}
	db.api.ServeHTTP(c, req)
	a := c.answer(0)
	if a.Status != http.StatusOK {
		thttp.WriteError(w, r, fault.Errorf(fault.NotFound,
			"the service has no OpenAPI document: GET /openapi.json on its public port answered %d; serve one there with openapi.Document.Handler", a.Status))
		return
	}
	if a.Truncated {
		thttp.WriteError(w, r, fault.Errorf(fault.Internal, "the service's OpenAPI document is larger than the %d bytes the dashboard serves", maxDocument))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, a.Body) // a write error means the client left
}
