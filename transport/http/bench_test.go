package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tailorkit/tailor"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The benchmarks compare tailor's server and client paths with raw net/http
// code doing the same JSON work; run them side by side:
//
//	go test ./transport/http -run '^$' -bench . -benchmem -count 6 | benchstat -col /path -

type echoRequest struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

type echoResponse struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func echo(_ context.Context, req echoRequest) (echoResponse, error) {
	return echoResponse(req), nil
}

// rawEcho is the same decode and encode written by hand the way a careful
// handler would: the body limited to 1 MiB and unknown fields refused, as
// tailor's decoder does by default.
func rawEcho(w http.ResponseWriter, r *http.Request) {
	var req echoRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, thttp.DefaultMaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := echoResponse(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// rawMinimalEcho decodes and encodes with no limit or checks at all.
func rawMinimalEcho(w http.ResponseWriter, r *http.Request) {
	var req echoRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := echoResponse(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func tailorEcho() http.Handler {
	r := thttp.NewRouter()
	r.Handle("POST /echo", thttp.NewServer(tailor.Endpoint(echo), thttp.DecodeJSON[echoRequest](), thttp.EncodeJSON(http.StatusOK)))
	return r
}

func rawMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", rawEcho)
	return mux
}

// discardWriter is a reusable ResponseWriter, so the harness itself
// allocates nothing per request.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

func benchServer(b *testing.B, h http.Handler) {
	payload := []byte(`{"name":"a reasonably sized product name","n":42}`)
	body := &reusableBody{}
	req := httptest.NewRequest("POST", "/echo", nil)
	req.Header.Set("Content-Type", "application/json")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		req.Body = body
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

func BenchmarkServer(b *testing.B) {
	b.Run("path=raw-minimal", func(b *testing.B) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /echo", rawMinimalEcho)
		benchServer(b, mux)
	})
	b.Run("path=raw", func(b *testing.B) { benchServer(b, rawMux()) })
	b.Run("path=tailor", func(b *testing.B) { benchServer(b, tailorEcho()) })
}

// BenchmarkClient measures a full round trip over loopback, each client
// against the same server.
func BenchmarkClient(b *testing.B) {
	srv := httptest.NewServer(rawMux())
	defer srv.Close()
	payload := echoRequest{Name: "a reasonably sized product name", N: 42}

	raw := func(b *testing.B, ctx context.Context) {
		client := &http.Client{Transport: thttp.NewTransport()}
		b.ReportAllocs()
		for b.Loop() {
			body, _ := json.Marshal(payload)
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/echo", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out echoResponse
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("path=raw", func(b *testing.B) { raw(b, context.Background()) })
	// A caller's context usually has a deadline; net/http then watches it,
	// as it watches the cancellable context go-kit's client makes per call.
	b.Run("path=raw-deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		raw(b, ctx)
	})
	b.Run("path=tailor", func(b *testing.B) {
		e, err := thttp.NewClient("POST", srv.URL+"/echo", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[echoResponse]())
		if err != nil {
			b.Fatal(err)
		}
		call := tailor.Call[echoRequest, echoResponse](e)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(context.Background(), payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServerLoopback is the server comparison over real HTTP: one
// client, the same for both, posts to a raw handler and to tailor's server
// on loopback. The client's cost is in both columns, so the difference is
// the server's.
func BenchmarkServerLoopback(b *testing.B) {
	payload := []byte(`{"name":"a reasonably sized product name","n":42}`)
	run := func(b *testing.B, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := &http.Client{Transport: thttp.NewTransport()}
		url := srv.URL + "/echo"
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(payload))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("path=raw", func(b *testing.B) { run(b, rawMux()) })
	b.Run("path=tailor", func(b *testing.B) { run(b, tailorEcho()) })
}
