package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type tryAnswer struct {
	Version    int               `json:"version"`
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Truncated  bool              `json:"truncated"`
	DurationMS float64           `json:"duration_ms"`
}

func try(t *testing.T, admin string, req map[string]any) (int, tryAnswer, string) {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var a tryAnswer
	code, body := call(t, "POST", admin+"/dash/api/try", string(b), &a)
	return code, a, body
}

// A try reaches the route it names, through the router's middleware, and
// answers its status, headers and body; a redirect is answered, not
// followed; a long answer is cut.
func TestTry(t *testing.T) {
	s := newTraced(t)
	s.router.HandleFunc("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		b := new(strings.Builder)
		_, _ = b.WriteString(r.Method + " " + r.URL.Query().Get("q") + " " + r.Header.Get("X-Who") + " ")
		buf := make([]byte, 64)
		n, _ := r.Body.Read(buf)
		_, _ = w.Write([]byte(b.String() + string(buf[:n])))
	})
	s.router.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusFound) })
	s.router.HandleFunc("GET /big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, dashboard.MaxTryBody+10))
	})

	code, a, body := try(t, s.admin, map[string]any{"method": "POST", "path": "/v1/echo?q=mugs", "headers": map[string]string{"X-Who": "ops"}, "body": "hello"})
	if code != http.StatusOK || a.Version != 1 || a.Status != http.StatusCreated || a.Body != "POST mugs ops hello" || a.Headers["Content-Type"] != "text/plain" || a.Headers["X-Request-Id"] == "" {
		t.Errorf("try POST /v1/echo = %d %s, want 201 with the echo, its headers and a request ID from the router's middleware", code, body)
	}
	if code, a, body := try(t, s.admin, map[string]any{"method": "GET", "path": "/old"}); code != http.StatusOK || a.Status != http.StatusFound || a.Headers["Location"] != "/new" {
		t.Errorf("try GET /old = %d %s, want the 302 itself", code, body)
	}
	if code, a, _ := try(t, s.admin, map[string]any{"method": "GET", "path": "/big"}); code != http.StatusOK || a.Status != http.StatusOK || len(a.Body) != dashboard.MaxTryBody || !a.Truncated {
		t.Errorf("try GET /big = %d, status %d, %d bytes, truncated %v; want 200 cut at %d", code, a.Status, len(a.Body), a.Truncated, dashboard.MaxTryBody)
	}
	if code, a, body := try(t, s.admin, map[string]any{"method": "GET", "path": "/nowhere"}); code != http.StatusOK || a.Status != http.StatusNotFound {
		t.Errorf("try GET /nowhere = %d %s, want the route's 404 answered", code, body)
	}
	// The try went through the router's tracing like any request.
	var list traceList
	call(t, "GET", s.admin+"/dash/api/traces", "", &list)
	if len(list.Traces) != 4 {
		t.Errorf("traces after 4 tries = %d, want 4", len(list.Traces))
	}
}

func TestTryRefusesBadBodies(t *testing.T) {
	s := newTraced(t)
	for _, tc := range []struct {
		name, body string
		want       int
		detail     string
	}{
		{"not JSON", `{"method":`, http.StatusBadRequest, ""},
		{"unknown field", `{"method":"GET","path":"/","url":"http://example.com/"}`, http.StatusBadRequest, "url"},
		{"no method", `{"path":"/"}`, http.StatusUnprocessableEntity, "method"},
		{"bad method", `{"method":"GE T","path":"/"}`, http.StatusUnprocessableEntity, "method"},
		{"absolute URL", `{"method":"GET","path":"http://example.com/"}`, http.StatusUnprocessableEntity, "path"},
		{"no path", `{"method":"GET"}`, http.StatusUnprocessableEntity, "path"},
		{"bad header", `{"method":"GET","path":"/","headers":{"X-A":"1\r\nX-B: 2"}}`, http.StatusUnprocessableEntity, "headers"},
		{"body too long", `{"method":"POST","path":"/","body":"` + strings.Repeat("a", dashboard.MaxTryBody+1) + `"}`, http.StatusUnprocessableEntity, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, "POST", s.admin+"/dash/api/try", tc.body, nil)
			if code != tc.want || !strings.Contains(body, tc.detail) {
				t.Errorf("POST /dash/api/try %s = %d %.300s, want %d naming %q", tc.name, code, body, tc.want, tc.detail)
			}
		})
	}
}

func TestOpenAPI(t *testing.T) {
	s := newTraced(t)
	if code, body := call(t, "GET", s.admin+"/dash/api/openapi", "", nil); code != http.StatusNotFound || !strings.Contains(body, "/openapi.json") {
		t.Errorf("GET /dash/api/openapi without a document = %d %s, want 404 saying where to serve one", code, body)
	}
	doc := openapi.New("catalog", "1.0.0")
	openapi.Route[struct{}, struct{}](doc, "GET /v1/products", openapi.Op{Summary: "List products"})
	s.router.Handle("GET /openapi.json", doc.Handler())
	var got struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if code, body := call(t, "GET", s.admin+"/dash/api/openapi", "", &got); code != http.StatusOK || got.OpenAPI == "" || got.Paths["/v1/products"] == nil {
		t.Errorf("GET /dash/api/openapi = %d %.300s, want the document", code, body)
	}
	f := newFixture(t)
	if code, _ := call(t, "POST", f.url+"/dash/api/try", `{"method":"GET","path":"/"}`, nil); code != http.StatusNotFound {
		t.Errorf("POST /dash/api/try without WithAPI = %d, want 404", code)
	}
}

// A route that does not answer within TryTimeout is a 504, in fake time.
func TestTryTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inst, err := observability.New(observability.Config{})
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		defer close(release)
		public := thttp.NewRouter()
		public.HandleFunc("GET /slow", func(http.ResponseWriter, *http.Request) { <-release })
		admin := thttp.NewRouter()
		dashboard.Mount(admin, inst, dashboard.WithAPI(public))
		req := httptest.NewRequest("POST", "/dash/api/try", strings.NewReader(`{"method":"GET","path":"/slow"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		admin.ServeHTTP(w, req)
		if w.Code != http.StatusGatewayTimeout || time.Since(start) != dashboard.TryTimeout {
			t.Errorf("try GET /slow = %d after %s: %s; want 504 after %s", w.Code, time.Since(start), w.Body, dashboard.TryTimeout)
		}
	})
}
