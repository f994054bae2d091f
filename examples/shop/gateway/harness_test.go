package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/users"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// seen is one request an upstream received.
type seen struct {
	Method, Path, RawQuery, Body string
	Header                       http.Header
}

// upstream is one instance of a service: a real HTTP server on loopback,
// registered in the registry, that records the requests it gets.
type upstream struct {
	t    testing.TB
	reg  *memory.Registry
	inst discovery.Instance
	srv  *httptest.Server

	mu  sync.Mutex
	got []seen
}

// startUpstream serves h as instance id of service, recording what it
// gets, and registers it.
func startUpstream(t testing.TB, reg *memory.Registry, service, id string, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{t: t, reg: reg}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Body: string(b), Header: r.Header.Clone()})
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		h(w, r)
	}))
	t.Cleanup(u.srv.Close)
	u.inst = instanceOf(u.srv, service, id)
	u.register()
	return u
}

// serveInstance serves h as instance id of service and registers it,
// recording nothing, and returns its URL.
func serveInstance(t testing.TB, reg *memory.Registry, service, id string, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if err := reg.Register(context.Background(), instanceOf(srv, service, id)); err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

func instanceOf(srv *httptest.Server, service, id string) discovery.Instance {
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return discovery.Instance{ID: id, Service: service, Address: host, Port: p}
}

func (u *upstream) register() {
	u.t.Helper()
	if err := u.reg.Register(context.Background(), u.inst); err != nil {
		u.t.Fatal(err)
	}
}

func (u *upstream) deregister() {
	u.t.Helper()
	if err := u.reg.Deregister(context.Background(), u.inst); err != nil {
		u.t.Fatal(err)
	}
}

// requests returns what the upstream received so far.
func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.got...)
}

func (u *upstream) calls() int { return len(u.requests()) }

// answer returns a handler that answers status with body as JSON.
func answerJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// harness is a gateway served on loopback over a fresh registry, with a
// signer whose tokens it accepts.
type harness struct {
	reg    *memory.Registry
	key    ed25519.PrivateKey
	signer *auth.Signer
	gw     *Gateway
	url    string
}

// unlimited turns the rate limits off, for tests of everything else.
func unlimited(cfg *Config) {
	cfg.PerIP.Rate = -1
	cfg.PerUser.Rate = -1
}

// newHarness makes the registry and the signer; start makes the gateway,
// so that upstreams registered in between are known from its first call.
func newHarness(t testing.TB) *harness {
	t.Helper()
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(users.Issuer, users.Audience, auth.WithSigningKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{reg: memory.New(), key: key, signer: signer}
}

// start builds the gateway with the harness's registry and verifier,
// changed by each of mods, and serves it on loopback.
func (h *harness) start(t testing.TB, mods ...func(*Config)) *harness {
	t.Helper()
	cfg := Config{Resolver: h.reg, Verifier: h.verifier(t)}
	for _, m := range mods {
		m(&cfg)
	}
	var err error
	h.gw, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.gw.Close() })
	r := thttp.NewRouter()
	h.gw.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// verifier accepts the harness signer's tokens, as the gateway's
// verifier accepts the users service's.
func (h *harness) verifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(h.signer, users.Issuer, users.Audience)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token signs a token for subject with roles.
func (h *harness) token(t testing.TB, subject string, roles ...string) string {
	t.Helper()
	tok, err := h.signer.Sign(auth.Claims{Subject: subject, Roles: roles}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends method path with body and headers (name, value pairs) to the
// gateway and returns the answer with its body read.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// waitInstances waits until the gateway's client of service has n
// instances in rotation. The registry tells clients of a change on
// goroutines of its own, after Register or Deregister has returned, and
// no event marks the moment the client has taken it in, so this is a
// bounded wait.
func (h *harness) waitInstances(t *testing.T, service string, n int) {
	t.Helper()
	c := h.gw.clients[service]
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Instances()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway's client of %s has %d instances, want %d", service, len(c.Instances()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// problem decodes a problem+json answer, checking its content type.
func problem(t *testing.T, resp *http.Response, body []byte) thttp.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %s; body %s", ct, thttp.ProblemContentType, body)
	}
	var p thttp.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	return p
}
