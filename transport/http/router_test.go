package http_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
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

// rawRequest sends req verbatim over a new connection to srv and returns
// the response, so requests that http.Client would never send (CONNECT to
// an origin, unclean paths) reach the server as written.
func rawRequest(t *testing.T, srv *httptest.Server, method, req string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestRouterAnswersEveryErrorAsProblem pins that what http.ServeMux would
// answer in text/plain or with an HTML redirect is a problem+json answer.
func TestRouterAnswersEveryErrorAsProblem(t *testing.T) {
	srv := newEchoIDServer(t)
	tests := []struct {
		name, method, req string
		status            int
		detail            string
	}{
		{"CONNECT", "CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405, "not a proxy"},
		{"double slash", "GET", "GET //id HTTP/1.1\r\nHost: x\r\n\r\n", 400, `send "/id"`},
		{"dot dot", "GET", "GET /items/../id HTTP/1.1\r\nHost: x\r\n\r\n", 400, `send "/id"`},
		{"dot", "GET", "GET /./id?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, `send "/id"`},
		{"long target", "GET", "GET /id?q=" + strings.Repeat("a", thttp.DefaultMaxHeaderBytes) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "shorter URL"},
		{"large headers", "GET", "GET /id HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("b", 1000)+"\r\n", 80) + "\r\n", 431, "smaller headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, srv, tt.method, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
				t.Fatalf("Content-Type = %q, want %q; body %s", ct, thttp.ProblemContentType, body)
			}
			var p thttp.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if p.Status != tt.status || !strings.Contains(p.Detail, tt.detail) || p.RequestID == "" || p.RequestID != resp.Header.Get(requestid.Header) {
				t.Fatalf("problem = %+v, want status %d, a detail with %q and the request id of header %q", p, tt.status, tt.detail, resp.Header.Get(requestid.Header))
			}
			if tt.status == 405 {
				if allow, ok := resp.Header["Allow"]; !ok || len(allow) != 1 || allow[0] != "" {
					t.Fatalf("Allow = %q, want one empty value", allow)
				}
			}
		})
	}
}

// TestRouterWithMaxHeaderBytes pins that the limit is the option's.
func TestRouterWithMaxHeaderBytes(t *testing.T) {
	r := thttp.NewRouter(thttp.WithMaxHeaderBytes(512))
	r.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("X-Pad", strings.Repeat("c", 600))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Content-Type") != thttp.ProblemContentType {
		t.Fatalf("got %d %q, want 431 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req.Header.Del("X-Pad")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("small request: got %d, want 200", resp.StatusCode)
	}
}
