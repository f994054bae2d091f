package discovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	kitlog "github.com/go-kit/log"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/discovery/internal/consultest"
	"github.com/tailorkit/tailor/discovery/internal/discoverytest"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// backend is one registry under the contract tests.
type backend struct {
	name string
	// open returns the registry and a way to make an instance fail or
	// pass its health check.
	open func(t *testing.T) (registry, func(t *testing.T, in *instanceServer, failing bool))
	// wait bounds how long a change may take to reach a watch.
	wait time.Duration
}

type registry interface {
	discovery.Registrar
	discovery.Resolver
}

func backends() []backend {
	return []backend{
		{
			name: "memory",
			open: func(t *testing.T) (registry, func(*testing.T, *instanceServer, bool)) {
				reg := memory.New()
				return reg, func(t *testing.T, in *instanceServer, failing bool) {
					t.Helper()
					in.ready.Store(!failing)
					if err := reg.SetFailing(in.inst.ID, failing); err != nil {
						t.Fatal(err)
					}
				}
			},
			wait: 5 * time.Second,
		},
		{
			name: "consul",
			open: func(t *testing.T) (registry, func(*testing.T, *instanceServer, bool)) {
				reg, err := consul.New(consul.Config{
					Address: consultest.Addr(t),
					Check:   consul.Check{Interval: time.Second, Timeout: time.Second},
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { reg.Close() })
				return reg, func(t *testing.T, in *instanceServer, failing bool) { in.ready.Store(!failing) }
			},
			// Consul runs checks at most once a second.
			wait: 15 * time.Second,
		},
	}
}

// instanceServer is one instance of a test service on loopback: /readyz
// answers 200 or 503 as told, /work answers the instance's ID.
type instanceServer struct {
	srv   *httptest.Server
	ready atomic.Bool
	inst  discovery.Instance
	calls atomic.Int64
}

func newInstanceServer(t *testing.T, service, id string) *instanceServer {
	t.Helper()
	in := &instanceServer{}
	in.ready.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !in.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		in.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(id)
	})
	in.srv = httptest.NewServer(mux)
	t.Cleanup(in.srv.Close)
	_, port, _ := net.SplitHostPort(in.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	in.inst = discovery.Instance{ID: id, Service: service, Address: "127.0.0.1", Port: p}
	return in
}

var testSeq atomic.Int64

// uniqueService names a service no other test uses, as tests share one
// Consul agent.
func uniqueService(t *testing.T) string {
	return fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e9, testSeq.Add(1))
}

func healthy(n int) func(discovery.State) bool {
	return func(st discovery.State) bool { return len(st.Instances) == n && !st.Updated.IsZero() }
}

func workFactory() client.Factory {
	return client.HTTPFactory(http.MethodGet, "/work",
		func(context.Context, *http.Request, any) error { return nil },
		thttp.DecodeJSONResponse[string]())
}

func TestContract(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("register, watch, deregister", func(t *testing.T) {
				reg, _ := b.open(t)
				service := uniqueService(t)
				in := newInstanceServer(t, service, service+"-1")
				in.inst.Tags = []string{"primary", "eu"}
				in.inst.Version = "1.4.2"
				in.inst.Zone = "eu-1a"
				in.inst.Meta = map[string]string{"team": "stock"}
				w, err := reg.Resolve(service)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Stop()
				if err := reg.Register(context.Background(), in.inst); err != nil {
					t.Fatal(err)
				}
				st := discoverytest.Wait(t, w, b.wait, "the instance appearing", healthy(1))
				want := in.inst
				want.Protocol = discovery.ProtocolHTTP
				if got := st.Instances[0]; fmt.Sprint(got) != fmt.Sprint(want) || st.Registered != 1 {
					t.Errorf("got %+v (%d registered), want %+v (1 registered)", got, st.Registered, want)
				}
				if ev := st.Event(); fmt.Sprint(ev.Instances) != fmt.Sprintf("[%s]", in.inst.HostPort()) {
					t.Errorf("go-kit event: got %v, want [%s]", ev.Instances, in.inst.HostPort())
				}
				if err := reg.Deregister(context.Background(), in.inst); err != nil {
					t.Fatal(err)
				}
				st = discoverytest.Wait(t, w, b.wait, "the instance leaving", func(st discovery.State) bool { return st.Registered == 0 })
				if len(st.Instances) != 0 {
					t.Errorf("got %d instances after deregistering, want 0", len(st.Instances))
				}
				if err := reg.Deregister(context.Background(), in.inst); err != nil {
					t.Errorf("deregistering twice: got %v, want nil", err)
				}
			})

			t.Run("failing instances leave the watch and come back", func(t *testing.T) {
				reg, setFailing := b.open(t)
				service := uniqueService(t)
				a, c := newInstanceServer(t, service, service+"-a"), newInstanceServer(t, service, service+"-b")
				w, err := reg.Resolve(service)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Stop()
				for _, in := range []*instanceServer{a, c} {
					if err := reg.Register(context.Background(), in.inst); err != nil {
						t.Fatal(err)
					}
					defer reg.Deregister(context.Background(), in.inst)
				}
				discoverytest.Wait(t, w, b.wait, "two healthy instances", healthy(2))
				setFailing(t, a, true)
				st := discoverytest.Wait(t, w, b.wait, "the failing instance leaving", healthy(1))
				if st.Instances[0].ID != c.inst.ID || st.Registered != 2 {
					t.Errorf("got %s healthy of %d registered, want %s of 2", st.Instances[0].ID, st.Registered, c.inst.ID)
				}
				setFailing(t, a, false)
				discoverytest.Wait(t, w, b.wait, "the instance coming back", healthy(2))
			})

			t.Run("go-kit's Endpointer and lb work on the watch", func(t *testing.T) {
				reg, _ := b.open(t)
				service := uniqueService(t)
				in := newInstanceServer(t, service, service+"-1")
				if err := reg.Register(context.Background(), in.inst); err != nil {
					t.Fatal(err)
				}
				defer reg.Deregister(context.Background(), in.inst)
				w, err := reg.Resolve(service)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Stop()
				discoverytest.Wait(t, w, b.wait, "the instance appearing", healthy(1))
				factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
					e, err := thttp.NewClient(http.MethodGet, "http://"+instance+"/work",
						func(context.Context, *http.Request, any) error { return nil }, thttp.DecodeJSONResponse[string]())
					return e, nil, err
				}
				endpointer := sd.NewEndpointer(w, factory, kitlog.NewNopLogger())
				defer endpointer.Close()
				// go-kit's Endpointer takes the watch's state on a goroutine
				// of its own, so its first endpoints arrive a moment later.
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
					if eps, _ := endpointer.Endpoints(); len(eps) > 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("go-kit's Endpointer has no endpoints 5s after the instance appeared in the watch")
					}
				}
				call := lb.Retry(3, 5*time.Second, lb.NewRoundRobin(endpointer))
				got, err := call(context.Background(), nil)
				if err != nil || deref(got) != in.inst.ID {
					t.Errorf("got %v, %v; want %s, nil", got, err, in.inst.ID)
				}
			})

			t.Run("a service registers once ready and deregisters on shutdown", func(t *testing.T) {
				reg, _ := b.open(t)
				name := uniqueService(t)
				svc, err := service.New(service.Config{Name: name, HTTPAddr: "127.0.0.1:0"},
					service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
				if err != nil {
					t.Fatal(err)
				}
				svc.Router().HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
					_ = json.NewEncoder(w).Encode("served by " + name)
				})
				svc.Add(discovery.NewRegistration(reg, func() discovery.Instance {
					return discovery.Instance{Service: name, Address: "127.0.0.1", Port: svc.HTTPAddr().Port}
				}))
				w, err := reg.Resolve(name)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Stop()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- svc.Run(ctx) }()
				st := discoverytest.Wait(t, w, b.wait, "the service registering", healthy(1))
				if got, want := st.Instances[0].ID, discovery.DefaultID(st.Instances[0]); got != want {
					t.Errorf("got ID %q, want the default %q", got, want)
				}

				c, err := client.New(reg, name)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if got, err := c.Endpoint(workFactory())(context.Background(), nil); err != nil || deref(got) != "served by "+name {
					t.Errorf("calling by name: got %v, %v; want %q", got, err, "served by "+name)
				}

				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
				discoverytest.Wait(t, w, b.wait, "the service deregistering", func(st discovery.State) bool { return st.Registered == 0 })
			})
		})
	}
}

// deref reads a response through the pointer that tailor's JSON response
// decoder returns.
func deref(v any) any {
	if p, ok := v.(*string); ok && p != nil {
		return *p
	}
	return v
}
