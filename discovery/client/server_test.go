package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// instanceServer is one instance of a test service on loopback: /readyz
// answers 200, /work answers the instance's ID.
type instanceServer struct {
	srv  *httptest.Server
	inst discovery.Instance
}

func newInstanceServer(t *testing.T, service, id string) *instanceServer {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(id)
	})
	return newInstanceServerWith(t, service, id, mux)
}

// newInstanceServerWith serves h as an instance of service.
func newInstanceServerWith(t *testing.T, service, id string, h http.Handler) *instanceServer {
	t.Helper()
	in := &instanceServer{srv: httptest.NewServer(h)}
	t.Cleanup(in.srv.Close)
	_, port, _ := net.SplitHostPort(in.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	in.inst = discovery.Instance{ID: id, Service: service, Address: "127.0.0.1", Port: p}
	return in
}

var testSeq atomic.Int64

// uniqueService names a service no other test uses, as tests share one
// Consul agent.
func uniqueService(*testing.T) string {
	return fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e9, testSeq.Add(1))
}

func workFactory() client.Factory {
	return client.HTTPFactory(http.MethodGet, "/work",
		func(context.Context, *http.Request, any) error { return nil },
		thttp.DecodeJSONResponse[string]())
}

// deref reads a response through the pointer that tailor's JSON response
// decoder returns.
func deref(v any) any {
	if p, ok := v.(*string); ok && p != nil {
		return *p
	}
	return v
}
