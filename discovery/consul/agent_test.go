package consul_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/discovery/internal/consultest"
	"github.com/tailorkit/tailor/discovery/internal/discoverytest"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// These tests run against a real Consul agent; see package consultest for
// how they find one.

type server struct {
	inst  discovery.Instance
	ready atomic.Bool
}

func newServer(t *testing.T, service, id string) *server {
	t.Helper()
	s := &server{}
	s.ready.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(id)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	s.inst = discovery.Instance{ID: id, Service: service, Address: "127.0.0.1", Port: p}
	return s
}

func healthy(n int) func(discovery.State) bool {
	return func(st discovery.State) bool { return len(st.Instances) == n && st.Err == nil && !st.Updated.IsZero() }
}

func TestAgentTTLCheck(t *testing.T) {
	addr := consultest.Addr(t)
	service := fmt.Sprintf("ttl-%d", time.Now().UnixNano())
	s := newServer(t, service, service+"-1")
	heartbeating, err := consul.New(consul.Config{Address: addr, Check: consul.Check{TTL: 1500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	watching, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer watching.Close()
	w, err := watching.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	if err := heartbeating.Register(context.Background(), s.inst); err != nil {
		t.Fatal(err)
	}
	defer watching.Deregister(context.Background(), s.inst)
	discoverytest.Wait(t, w, 5*time.Second, "the TTL instance appearing", healthy(1))

	// Well past the TTL, heartbeats keep it passing.
	time.Sleep(2 * time.Second)
	if st := w.State(); len(st.Instances) != 1 {
		t.Fatalf("after 2s of heartbeats: got %d healthy, want 1", len(st.Instances))
	}

	// The process dies without deregistering: heartbeats stop, the TTL
	// runs out and the instance leaves the watch, still registered.
	start := time.Now()
	heartbeating.Close()
	st := discoverytest.Wait(t, w, 10*time.Second, "the instance turning critical", healthy(0))
	if st.Registered != 1 {
		t.Errorf("got %d registered, want 1: it is critical, not deregistered", st.Registered)
	}
	t.Logf("left the watch %s after its heartbeats stopped (TTL 1.5s)", time.Since(start).Round(10*time.Millisecond))
}

func TestAgentHTTPCheckAndGracefulDeregistration(t *testing.T) {
	addr := consultest.Addr(t)
	service := fmt.Sprintf("http-%d", time.Now().UnixNano())
	s := newServer(t, service, service+"-1")
	reg, err := consul.New(consul.Config{Address: addr, Check: consul.Check{Interval: time.Second, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	w, err := reg.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(context.Background(), s.inst); err != nil {
		t.Fatal(err)
	}
	discoverytest.Wait(t, w, 5*time.Second, "the instance appearing as passing", healthy(1))
	s.ready.Store(false)
	start := time.Now()
	discoverytest.Wait(t, w, 10*time.Second, "the instance leaving once /readyz fails", healthy(0))
	t.Logf("left the watch %s after /readyz began failing (check interval 1s)", time.Since(start).Round(10*time.Millisecond))
	s.ready.Store(true)
	discoverytest.Wait(t, w, 10*time.Second, "the instance coming back once /readyz passes", healthy(1))
	if err := reg.Deregister(context.Background(), s.inst); err != nil {
		t.Fatal(err)
	}
	discoverytest.Wait(t, w, 5*time.Second, "the instance deregistering", func(st discovery.State) bool { return st.Registered == 0 })
}

// countingTransport counts the health queries a watch sends.
type countingTransport struct {
	queries atomic.Int64
	base    http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/v1/health/service/") {
		c.queries.Add(1)
	}
	return c.base.RoundTrip(r)
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAgentOutage stops the Consul agent under a watching client: calls
// keep going to the last known instances, the watch backs off instead of
// spinning, and once the agent is back the watch resumes.
func TestAgentOutage(t *testing.T) {
	agent := consultest.StartAgent(t)
	counter := &countingTransport{base: thttp.NewTransport()}
	logs := &syncBuffer{}
	reg, err := consul.New(consul.Config{
		Address:    agent.Addr(),
		HTTPClient: &http.Client{Transport: counter},
		Check:      consul.Check{Interval: time.Second},
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: time.Second,
	}, consul.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	service := "outage"
	servers := []*server{newServer(t, service, "outage-a"), newServer(t, service, "outage-b")}
	for _, s := range servers {
		if err := reg.Register(context.Background(), s.inst); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(reg, service)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	work := c.Endpoint(client.HTTPFactory(http.MethodGet, "/work",
		func(context.Context, *http.Request, any) error { return nil }, thttp.DecodeJSONResponse[string]()))
	w, err := reg.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	discoverytest.Wait(t, w, 5*time.Second, "both instances appearing", healthy(2))
	call := func(when string) {
		t.Helper()
		if _, err := work(context.Background(), nil); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	call("before the outage")

	agent.Stop()
	discoverytest.Wait(t, w, 5*time.Second, "the watch noticing the outage", func(st discovery.State) bool { return st.Err != nil })
	before := counter.queries.Load()
	const outage = 3 * time.Second
	for end := time.Now().Add(outage); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		call("during the outage")
	}
	during := counter.queries.Load() - before
	st := w.State()
	t.Logf("during a %s outage: %d queries by two watches (backoff 100ms doubling to 1s), %d failures in a row, %d last known instances kept",
		outage, during, st.Failures, len(st.Instances))
	// Two watches (the client's and the test's), each at most one query
	// per backoff: 100ms, 200ms, 400ms, 800ms, then 1s; jitter can halve
	// each wait. A hot loop would make thousands.
	if during > 2*12 {
		t.Errorf("got %d queries in %s with Consul down, want at most 24: the watch must back off", during, outage)
	}
	if len(st.Instances) != 2 || len(c.Instances()) != 2 {
		t.Errorf("got %d instances in the watch and %d in the client, want the 2 last known", len(st.Instances), len(c.Instances()))
	}

	agent.Start()
	// A dev agent forgets its registrations when it stops; a real one
	// keeps them in its data dir.
	for _, s := range servers {
		if err := reg.Register(context.Background(), s.inst); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	discoverytest.Wait(t, w, 10*time.Second, "the watch resuming", healthy(2))
	t.Logf("the watch resumed %s after the agent came back", time.Since(start).Round(10*time.Millisecond))
	// The client's own watch may have seen the restarted agent before the
	// registrations came back, and resumes on its own backoff schedule.
	for deadline := time.Now().Add(10 * time.Second); len(c.Instances()) != 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the client's watch has %d instances 10s after the agent came back, want 2", len(c.Instances()))
		}
	}
	call("after the outage")

	text := logs.String()
	if n := strings.Count(text, "watch failed"); n != 2 {
		t.Errorf("got %d outage warnings, want 2 (one per watch, not one per failed query); logs:\n%s", n, text)
	}
	if !strings.Contains(text, "watch resumed") {
		t.Errorf("no log of the watch resuming; logs:\n%s", text)
	}
}

func TestAgentGRPCCheck(t *testing.T) {
	addr := consultest.Addr(t)
	service := fmt.Sprintf("grpc-%d", time.Now().UnixNano())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tgrpc.NewServer()
	health := tgrpc.NewHealth(srv)
	health.SetServing(true)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	inst := discovery.Instance{ID: service + "-1", Service: service, Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: discovery.ProtocolGRPC}

	reg, err := consul.New(consul.Config{Address: addr, Check: consul.Check{Interval: time.Second, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	w, err := reg.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	defer reg.Deregister(context.Background(), inst)
	st := discoverytest.Wait(t, w, 5*time.Second, "the gRPC instance appearing", healthy(1))
	if st.Instances[0].Protocol != discovery.ProtocolGRPC {
		t.Errorf("got protocol %q, want grpc", st.Instances[0].Protocol)
	}
	health.SetServing(false)
	discoverytest.Wait(t, w, 10*time.Second, "the instance leaving once gRPC health says NOT_SERVING", healthy(0))
}

// TestAgentFromEnvironment checks that the zero Config finds the agent and
// token through the standard CONSUL_* variables.
func TestAgentFromEnvironment(t *testing.T) {
	addr := consultest.Addr(t)
	t.Setenv("CONSUL_HTTP_ADDR", addr)
	t.Setenv("CONSUL_HTTP_TOKEN", "") // the dev agent has no ACLs
	reg, err := consul.New(consul.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	service := fmt.Sprintf("env-%d", time.Now().UnixNano())
	s := newServer(t, service, service+"-1")
	if err := reg.Register(context.Background(), s.inst); err != nil {
		t.Fatalf("registering through CONSUL_HTTP_ADDR=%s: %v", addr, err)
	}
	defer reg.Deregister(context.Background(), s.inst)
	w, err := reg.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	discoverytest.Wait(t, w, 5*time.Second, "the instance appearing", healthy(1))

	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:1") // nothing listens there
	down, err := consul.New(consul.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	err = down.Register(context.Background(), s.inst)
	if err == nil || !strings.Contains(err.Error(), "is the agent running (CONSUL_HTTP_ADDR)?") {
		t.Errorf("registering with no agent: got %v, want an error that names CONSUL_HTTP_ADDR", err)
	}
}
