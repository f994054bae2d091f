package http_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func newEchoIDServer(t *testing.T) *httptest.Server {
	t.Helper()
	r := thttp.NewRouter()
	r.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(requestid.FromContext(r.Context())))
	})
	r.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	r.HandleFunc("DELETE /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	r.HandleFunc("GET /panic-after-headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Cache-Control", "no-store")
		panic("before the body")
	})
	r.HandleFunc("GET /late-panic", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic("after the response started")
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func TestRouterRequestID(t *testing.T) {
	srv := newEchoIDServer(t)
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"client id kept", "abc-123", true},
		{"none sent", "", false},
		{"too long replaced", strings.Repeat("a", requestid.MaxLen+1), false},
		{"spaces replaced", "a b", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/id", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			got, inCtx := resp.Header.Get("X-Request-Id"), body.String()
			if got != inCtx {
				t.Fatalf("header id %q, context id %q: want equal", got, inCtx)
			}
			if tt.keep && got != tt.sent {
				t.Fatalf("id = %q, want the client's %q", got, tt.sent)
			}
			if !tt.keep && (got == tt.sent || len(got) != 20 || !requestid.Valid(got)) {
				t.Fatalf("id = %q, want a new valid id of %d characters", got, 20)
			}
			if seen[got] {
				t.Fatalf("id %q given twice", got)
			}
			seen[got] = true
		})
	}
}

func TestRouterUnmatched(t *testing.T) {
	srv := newEchoIDServer(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
	}{
		{"GET", "/nowhere", 404, ""},
		{"GET", "/items/7", 405, "DELETE, POST"},
		{"PUT", "/id", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Allow") != tt.wantAllow {
				t.Fatalf("status %d Allow %q; want %d and %q", resp.StatusCode, resp.Header.Get("Allow"), tt.wantStatus, tt.wantAllow)
			}
			p := readProblem(t, resp)
			if !strings.Contains(p.Detail, tt.path) {
				t.Errorf("detail %q does not name the path %q", p.Detail, tt.path)
			}
		})
	}
}

func TestRouterPanicDropsHeadersOfTheUnsentBody(t *testing.T) {
	srv := newEchoIDServer(t)
	resp, err := http.Get(srv.URL + "/panic-after-headers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("status %d, Content-Encoding %q; want 500 and none", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if p := readProblem(t, resp); p.Kind != "internal" {
		t.Fatalf("problem kind %q, want internal", p.Kind)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q: headers that do not describe the body should stay", resp.Header.Get("Cache-Control"))
	}
}

func TestRouterPanicAfterResponseStartedAbortsConnection(t *testing.T) {
	srv := newEchoIDServer(t)
	resp, err := http.Get(srv.URL + "/late-panic")
	if err == nil {
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("want the connection cut after a panic mid-response, got a clean response")
	}
	// And the server still serves.
	resp, err = http.Get(srv.URL + "/id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
}
