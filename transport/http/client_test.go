package http_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func newGreetClient(t *testing.T, url string) tailor.Func[greetRequest, greetResponse] {
	t.Helper()
	e, err := thttp.NewClient("POST", url+"/greet", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[greetResponse]())
	if err != nil {
		t.Fatal(err)
	}
	return tailor.Call[greetRequest, greetResponse](e)
}

func TestClientRoundTrip(t *testing.T) {
	var chunked, gotID atomic.Value
	r := thttp.NewRouter()
	inner := thttp.NewServer(tailor.Endpoint(greet), thttp.DecodeJSON[greetRequest](), thttp.EncodeJSON(200))
	r.Handle("POST /greet", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		chunked.Store(len(req.TransferEncoding) > 0 || req.ContentLength <= 0)
		gotID.Store(requestid.FromContext(req.Context()))
		inner.ServeHTTP(w, req)
	}))
	srv := httptest.NewServer(r)
	defer srv.Close()
	call := newGreetClient(t, srv.URL)

	ctx := requestid.NewContext(context.Background(), "trace-me-1")
	resp, err := call(ctx, greetRequest{Name: "ann"})
	if err != nil || resp.Greeting != "hello ann! " {
		t.Fatalf("call = %+v, %v; want greeting %q", resp, err, "hello ann! ")
	}
	if chunked.Load().(bool) {
		t.Error("request body was sent chunked or without Content-Length; want a Content-Length")
	}
	if gotID.Load().(string) != "trace-me-1" {
		t.Errorf("server saw request id %q, want trace-me-1", gotID.Load())
	}

	tests := []struct {
		name       string
		req        greetRequest
		wantKind   fault.Kind
		wantStatus int
		wantDetail string
	}{
		{"not found", greetRequest{Name: "missing"}, fault.NotFound, 0, `no one is called "missing"`},
		{"validation", greetRequest{Name: "ann", Times: -1}, fault.InvalidArgument, 422, "times: must be zero or more"},
		{"internal", greetRequest{Name: "broken"}, fault.Internal, 0, "request id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(ctx, tt.req)
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
			}
			fe := fault.As(err)
			if fe.Status != tt.wantStatus || !strings.Contains(fe.Detail, tt.wantDetail) {
				t.Errorf("status override %d, detail %q; want %d and a detail containing %q", fe.Status, fe.Detail, tt.wantStatus, tt.wantDetail)
			}
			var se *thttp.StatusError
			if !errors.As(err, &se) || se.RequestID != "trace-me-1" {
				t.Errorf("cause = %v, want a StatusError quoting request id trace-me-1", fe.Cause)
			}
		})
	}
	t.Run("violations survive the trip", func(t *testing.T) {
		_, err := call(ctx, greetRequest{Name: "ann", Times: -1})
		v := fault.As(err).Violations
		if len(v) != 1 || v[0].Field != "times" {
			t.Fatalf("violations = %+v, want one for field times", v)
		}
	})
}

func TestClientTransportErrors(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	call := newGreetClient(t, "http://"+addr)
	_, err = call(context.Background(), greetRequest{Name: "ann"})
	if !errors.Is(err, fault.Unavailable) || !fault.IsRetryable(err) {
		t.Fatalf("connection refused: err = %v, want a retryable Unavailable", err)
	}
	if !strings.Contains(err.Error(), "could not connect, so nothing was sent") {
		t.Errorf("connection refused: err = %v, want it to say the call could not connect", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	call = newGreetClient(t, slow.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = call(ctx, greetRequest{Name: "ann"})
	if fault.KindOf(err) != fault.DeadlineExceeded {
		t.Fatalf("deadline: err = %v (kind %v), want DeadlineExceeded", err, fault.KindOf(err))
	}
}

func TestClientNonProblemErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := newGreetClient(t, srv.URL)(context.Background(), greetRequest{Name: "ann"})
	if !errors.Is(err, fault.Unavailable) || fault.RetryAfter(err) != 3*time.Second {
		t.Fatalf("err = %v, RetryAfter %v; want Unavailable with 3s", err, fault.RetryAfter(err))
	}
}

func TestNewClientRejectsBadTarget(t *testing.T) {
	for _, target := range []string{"", "localhost:8080", "ftp://x/y", "http://"} {
		if _, err := thttp.NewClient("GET", target, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[greetResponse]()); err == nil {
			t.Errorf("NewClient(%q): no error, want one", target)
		}
	}
}
