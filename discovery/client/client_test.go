package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// fleet answers calls for fake instances: each instance's endpoint returns
// its ID, or the error set for it, and counts its calls.
type fleet struct {
	mu    sync.Mutex
	errs  map[string]error
	calls map[string]int
	order []string
}

func newFleet() *fleet { return &fleet{errs: map[string]error{}, calls: map[string]int{}} }

func (f *fleet) factory(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
	return func(ctx context.Context, request any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls[inst.ID]++
		f.order = append(f.order, inst.ID)
		if err := f.errs[inst.ID]; err != nil {
			return nil, err
		}
		return inst.ID, nil
	}, nil, nil
}

func (f *fleet) fail(id string, err error) {
	f.mu.Lock()
	f.errs[id] = err
	f.mu.Unlock()
}

func (f *fleet) callsTo(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func (f *fleet) tried() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

func register(t *testing.T, reg *memory.Registry, service string, ids ...string) {
	t.Helper()
	for k, id := range ids {
		if err := reg.Register(context.Background(), discovery.Instance{ID: id, Service: service, Port: 9000 + k}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitInstances lets the bubble's goroutines settle (the memory
// registry delivers changes on goroutines of its own) and checks that the
// client's rotation holds n instances.
func waitInstances(t *testing.T, c *client.Client, n int) {
	t.Helper()
	synctest.Wait()
	if got := len(c.Instances()); got != n {
		t.Fatalf("got %d instances in rotation, want %d", got, n)
	}
}

// newClient makes a client of service with one route, made by factory.
func newClient(t *testing.T, r discovery.Resolver, service string, factory client.Factory, opts ...client.Option) (*client.Client, endpoint.Endpoint) {
	t.Helper()
	c, err := client.New(r, service, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, c.Endpoint(factory)
}

var errDown = fault.New(fault.Unavailable, "connection refused")

func TestClientRetriesOnAnotherInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a", "b", "c")
		f := newFleet()
		f.fail("a", errDown)
		f.fail("b", errDown)
		c, call := newClient(t, reg, "inventory", f.factory, client.WithBalancer(client.RoundRobin()))
		defer c.Close()
		waitInstances(t, c, 3)

		got, err := call(resilience.WithIdempotent(context.Background()), "req")
		if err != nil || got != "c" {
			t.Fatalf("got %v, %v; want c, nil", got, err)
		}
		if tried := f.tried(); len(tried) != 3 || len(slices.Compact(slices.Sorted(slices.Values(tried)))) != 3 {
			t.Errorf("attempts went to %v, want three different instances", tried)
		}
	})
}

func TestClientDoesNotRetryCallsNotMarkedIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "orders", "a", "b")
		f := newFleet()
		f.fail("a", errDown)
		f.fail("b", errDown)
		c, call := newClient(t, reg, "orders", f.factory)
		defer c.Close()
		waitInstances(t, c, 2)
		if _, err := call(context.Background(), "req"); !errors.Is(err, fault.Unavailable) {
			t.Fatalf("got %v, want the instance's unavailable error", err)
		}
		if n := len(f.tried()); n != 1 {
			t.Errorf("got %d attempts, want 1: the call was not marked idempotent", n)
		}
	})
}

func TestClientEjectsAFailingInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a", "b")
		f := newFleet()
		f.fail("a", errDown)
		c, call := newClient(t, reg, "inventory", f.factory,
			client.WithBalancer(client.RoundRobin()),
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: time.Second}))
		defer c.Close()
		waitInstances(t, c, 2)
		ctx := resilience.WithIdempotent(context.Background())
		for k := range 20 {
			if got, err := call(ctx, k); err != nil || got != "b" {
				t.Fatalf("call %d: got %v, %v; want b, nil (retried away from a)", k, got, err)
			}
		}
		if got := f.callsTo("a"); got != 3 {
			t.Errorf("a got %d calls, want 3: ejected after its third failure in a row", got)
		}

		// After the open timeout one probe goes to a; it still fails, so a
		// is ejected again at once.
		time.Sleep(time.Second)
		for k := range 10 {
			if _, err := call(ctx, k); err != nil {
				t.Fatalf("call %d after the open timeout: %v", k, err)
			}
		}
		if got := f.callsTo("a"); got != 4 {
			t.Errorf("a got %d calls, want 4: one probe after the open timeout", got)
		}

		// a recovers: the next probe closes its breaker and it serves again.
		f.fail("a", nil)
		time.Sleep(time.Second)
		for k := range 10 {
			if _, err := call(ctx, k); err != nil {
				t.Fatalf("call %d after recovery: %v", k, err)
			}
		}
		if got := f.callsTo("a"); got < 8 {
			t.Errorf("a got %d calls in all, want at least 8: back in rotation after its probe succeeded", got)
		}
	})
}

func TestClientErrorsSayWhyNoInstanceCouldServe(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, reg *memory.Registry, f *fleet)
		want  string
	}{
		{
			name:  "nothing registered",
			setup: func(*testing.T, *memory.Registry, *fleet) {},
			want:  `client: no instance of "inventory" is registered; is the service running, and registered under that name?`,
		},
		{
			name: "every instance failing its checks",
			setup: func(t *testing.T, reg *memory.Registry, f *fleet) {
				register(t, reg, "inventory", "a", "b", "c")
				for _, id := range []string{"a", "b", "c"} {
					if err := reg.SetFailing(id, true); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: `client: no healthy instance of "inventory" (3 registered, 3 failing checks); is the service running?`,
		},
		{
			name: "every healthy instance ejected",
			setup: func(t *testing.T, reg *memory.Registry, f *fleet) {
				register(t, reg, "inventory", "a", "b")
				f.fail("a", errDown)
				f.fail("b", errDown)
			},
			want: `client: no instance of "inventory" could take the call (2 healthy, 2 ejected by their circuit breakers after failing); the service is failing: check its instances' logs`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := memory.New()
				f := newFleet()
				tt.setup(t, reg, f)
				c, call := newClient(t, reg, "inventory", f.factory,
					client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}))
				defer c.Close()
				ctx := resilience.WithIdempotent(context.Background())
				var last error
				for range 3 {
					_, last = call(ctx, "req")
				}
				var nie *client.NoInstanceError
				if !errors.As(last, &nie) {
					t.Fatalf("got %v, want a NoInstanceError", last)
				}
				if got := nie.Error(); got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
				if !errors.Is(last, fault.Unavailable) {
					t.Errorf("got kind %v, want unavailable (retryable)", fault.KindOf(last))
				}
			})
		})
	}
}

// staleResolver serves one state whose registry has gone away.
type staleResolver struct{ st discovery.State }

func (r staleResolver) Resolve(string) (discovery.Instancer, error) { return staleWatch(r), nil }

type staleWatch struct{ st discovery.State }

func (w staleWatch) Register(ch chan<- sd.Event) { ch <- w.st.Event() }
func (w staleWatch) Deregister(chan<- sd.Event)  {}
func (w staleWatch) Stop()                       {}
func (w staleWatch) State() discovery.State      { return w.st }

func TestClientKeepsCallingLastKnownInstancesWhileTheRegistryIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := discovery.State{
			Service:    "inventory",
			Instances:  []discovery.Instance{{ID: "a", Service: "inventory", Address: "127.0.0.1", Port: 1}},
			Registered: 1,
			Updated:    time.Now().Add(-3 * time.Second),
			Err:        errors.New("dial tcp 127.0.0.1:8500: connection refused"),
			Failures:   4,
		}
		f := newFleet()
		c, call := newClient(t, staleResolver{st}, "inventory", f.factory)
		defer c.Close()
		if got, err := call(context.Background(), "req"); err != nil || got != "a" {
			t.Fatalf("got %v, %v; want a, nil: the last known instance", got, err)
		}

		f.fail("a", errDown)
		c2, call2 := newClient(t, staleResolver{st}, "inventory", f.factory,
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}))
		defer c2.Close()
		_, _ = call2(context.Background(), "req")
		_, err := call2(context.Background(), "req")
		want := `client: no instance of "inventory" could take the call (1 healthy, 1 ejected by their circuit breakers after failing); the service is failing: check its instances' logs; the registry cannot be reached (for 3s: dial tcp 127.0.0.1:8500: connection refused), so this is the last known list`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	})
}

func TestClientFollowsTheRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a")
		f := newFleet()
		c, call := newClient(t, reg, "inventory", f.factory)
		defer c.Close()
		waitInstances(t, c, 1)
		register(t, reg, "inventory", "a", "b")
		waitInstances(t, c, 2)
		if err := reg.SetFailing("a", true); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, c, 1)
		for k := range 5 {
			if got, err := call(context.Background(), k); err != nil || got != "b" {
				t.Fatalf("got %v, %v; want b, nil: a is failing its checks", got, err)
			}
		}
		if err := reg.Deregister(context.Background(), discovery.Instance{ID: "b"}); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, c, 0)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := call(context.Background(), "req"); !errors.Is(err, discovery.ErrStopped) {
			t.Errorf("after Close: got %v, want ErrStopped", err)
		}
	})
}

func TestNewRejectsBadArguments(t *testing.T) {
	reg := memory.New()
	for _, tt := range []struct {
		name    string
		r       discovery.Resolver
		service string
		want    string
	}{
		{"no service", reg, "", "client: New needs the name of the service to call"},
		{"no resolver", nil, "inventory", `client: New for "inventory" needs a discovery.Resolver; pass the registry (consul.New, memory.New, dns.New)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.New(tt.r, tt.service)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestNilOptionAndNilFactory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a")
		c, err := client.New(reg, "inventory", nil, client.WithBalancer(nil), client.WithTelemetry(nil))
		if err != nil {
			t.Fatalf("got %v, want nil options skipped", err)
		}
		defer c.Close()
		_, err = c.Endpoint(nil)(context.Background(), "req")
		want := `client: the endpoint of "inventory" was made with a nil Factory; pass client.HTTPFactory or client.GRPCFactory`
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
		c.Close()
		if _, err := c.Endpoint(newFleet().factory)(context.Background(), "req"); !errors.Is(err, discovery.ErrStopped) {
			t.Errorf("a route made after Close: got %v, want ErrStopped", err)
		}
	})
}

func TestNoInstanceErrorBeforeTheRegistryAnswers(t *testing.T) {
	err := &client.NoInstanceError{Service: "inventory", Err: errors.New("dial tcp 127.0.0.1:8500: connection refused")}
	want := `client: no instance of "inventory" is known; the registry has not answered yet (dial tcp 127.0.0.1:8500: connection refused): is it running, and is its address right?`
	if got := err.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func ExampleNoInstanceError() {
	err := &client.NoInstanceError{Service: "inventory", Registered: 3}
	fmt.Println(err)
	// Output: client: no healthy instance of "inventory" (3 registered, 3 failing checks); is the service running?
}

// BenchmarkClientCall measures the client's own work per call: policy,
// balancer, per-instance breaker and bookkeeping, around an endpoint that
// answers at once.
func BenchmarkClientCall(b *testing.B) {
	reg := memory.New()
	for k, id := range []string{"a", "b", "c"} {
		if err := reg.Register(context.Background(), discovery.Instance{ID: id, Service: "inventory", Port: 9000 + k}); err != nil {
			b.Fatal(err)
		}
	}
	factory := func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return inst.ID, nil }, nil, nil
	}
	c, err := client.New(reg, "inventory")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	call := c.Endpoint(factory)
	if _, err := call(context.Background(), nil); err != nil { // waits for the registry's first answer
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := call(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
