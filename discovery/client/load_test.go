package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/discovery/internal/consultest"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
)

// TestLoadCrashAndJoin is the measured scenario of the discovery design:
// three instances of a service registered in a real Consul agent, a caller
// under steady load over real HTTP on loopback; one instance crashes (its
// listener and every open connection close, and it never deregisters),
// then a new instance registers. It reports the failed calls, how long the
// dead instance kept getting traffic, and how long a new instance waits for
// its first call. It runs only with TAILOR_LOAD=1 and takes about 30 s, once with P2C
// and once with round robin:
//
//	TAILOR_LOAD=1 TAILOR_TEST_CONSUL=127.0.0.1:18500 go test ./discovery/client -run TestLoadCrashAndJoin -v
func TestLoadCrashAndJoin(t *testing.T) {
	if os.Getenv("TAILOR_LOAD") == "" {
		t.Skip("set TAILOR_LOAD=1 to run the load scenario (about 30 s)")
	}
	// P2C is the default; under round robin the dead instance keeps being
	// picked in turn, so its breaker is what takes it out.
	t.Run("p2c", func(t *testing.T) { crashAndJoin(t, client.P2C()) })
	t.Run("roundrobin", func(t *testing.T) { crashAndJoin(t, client.RoundRobin()) })
}

func crashAndJoin(t *testing.T, balancer client.Balancer) {
	const (
		workers   = 4
		perWorker = 250 // calls a second each: 1000 a second in all
		crashAt   = 3 * time.Second
		joinAt    = 5 * time.Second
		runFor    = 15 * time.Second // the default 10 s check interval must pass after the crash
	)
	reg, err := consul.New(consul.Config{Address: consultest.Addr(t)}) // the default 10 s HTTP check
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	name := uniqueService(t)

	var instances []*loadInstance
	for k := range 3 {
		in := startLoadInstance(t, name, k)
		instances = append(instances, in)
		if err := reg.Register(context.Background(), in.inst); err != nil {
			t.Fatal(err)
		}
		defer reg.Deregister(context.Background(), in.inst)
	}

	rec := &attempts{byPort: map[int][]time.Time{}}
	ejections := &ejectionLog{}
	base := client.HTTPFactory(http.MethodGet, "/work",
		func(context.Context, *http.Request, any) error { return nil },
		func(_ context.Context, r *http.Response) (any, error) {
			_, err := io.Copy(io.Discard, r.Body)
			return nil, err
		})
	tel, err := observability.New(observability.Config{Logger: slog.New(ejections)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(reg, name,
		client.WithPolicy(resilience.PolicyConfig{
			Timeout: 2 * time.Second,
			Retry:   &resilience.RetryConfig{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, AllIdempotent: true},
		}),
		client.WithBalancer(balancer),
		client.WithTelemetry(tel))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	call := c.Endpoint(func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		e, closer, err := base(inst)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, request any) (any, error) {
			rec.add(inst.Port)
			return e(ctx, request)
		}, closer, nil
	})
	waitClient(t, c, 3)

	var calls, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / perWorker)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				calls.Add(1)
				if _, err := call(context.Background(), nil); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}

	// Crash instance 0, then register instance 3.
	time.Sleep(crashAt)
	dead := instances[0]
	crashed := time.Now()
	dead.crash()
	time.Sleep(joinAt - crashAt)
	fresh := startLoadInstance(t, name, 3)
	if err := reg.Register(context.Background(), fresh.inst); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	defer reg.Deregister(context.Background(), fresh.inst)

	// Watch for Consul dropping the dead instance from the client.
	var consulDropped time.Duration
	for time.Since(start) < runFor {
		if consulDropped == 0 && !slices.ContainsFunc(c.Instances(), func(i discovery.Instance) bool { return i.Port == dead.inst.Port }) {
			consulDropped = time.Since(crashed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// The dead instance's traffic: a burst right after the crash, until
	// the balancer and the breaker take it out, then at most occasional
	// probes. The burst ends at the first gap of a second or more.
	deadAttempts := rec.after(dead.inst.Port, crashed)
	var burst, probes int
	var stoppedAfter time.Duration
	for k, at := range deadAttempts {
		if k > 0 && at.Sub(deadAttempts[k-1]) >= time.Second {
			probes = len(deadAttempts) - k
			break
		}
		burst++
		stoppedAfter = at.Sub(crashed)
	}
	ejectedAt, ejected := ejections.first(dead.inst.HostPort())
	joinAttempts := rec.after(fresh.inst.Port, registered)

	t.Logf("calls: %d in %s (%d a second), failed: %d (target 0)", calls.Load(), runFor, calls.Load()/int64(runFor/time.Second), failed.Load())
	if e := firstErr.Load(); e != nil {
		t.Logf("first failure: %s", e)
	}
	t.Logf("dead instance: %d attempts in %s after the crash, then no traffic (target ≤ 1s); %d later probes", burst, stoppedAfter.Round(time.Microsecond), probes)
	if ejected {
		t.Logf("it was ejected %s after the crash", ejectedAt.Sub(crashed).Round(time.Microsecond))
	} else {
		t.Logf("it was never ejected: the balancer stopped picking it first (P2C counts a failure as a slow answer)")
	}
	if consulDropped > 0 {
		t.Logf("Consul's health check dropped it from the watch %s after the crash (check interval 10 s)", consulDropped.Round(time.Millisecond))
	} else {
		t.Logf("Consul's health check had not dropped it %s after the crash", runFor-crashAt)
	}
	if len(joinAttempts) > 0 {
		t.Logf("new instance: first call %s after its registration returned", joinAttempts[0].Sub(registered).Round(time.Microsecond))
	}
	served := make([]int64, 0, 4)
	for _, in := range append(instances, fresh) {
		served = append(served, in.served.Load())
	}
	t.Logf("calls served per instance (0 crashed, 3 joined): %v", served)

	if failed.Load() != 0 {
		t.Errorf("got %d failed calls, want 0 with retries on", failed.Load())
	}
	if stoppedAfter > time.Second {
		t.Errorf("the dead instance got traffic for %s after the crash, want at most 1s", stoppedAfter)
	}
	if len(joinAttempts) == 0 {
		t.Errorf("the new instance got no calls")
	}
}

type loadInstance struct {
	inst   discovery.Instance
	srv    *http.Server
	served atomic.Int64
}

func startLoadInstance(t *testing.T, service string, k int) *loadInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := &loadInstance{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		in.served.Add(1)
		_ = json.NewEncoder(w).Encode(k)
	})
	in.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = in.srv.Serve(ln) }()
	t.Cleanup(func() { in.srv.Close() })
	in.inst = discovery.Instance{ID: fmt.Sprintf("%s-%d", service, k), Service: service, Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	return in
}

// crash closes the listener and every open connection at once, as a
// killed process would; nothing is deregistered.
func (in *loadInstance) crash() { _ = in.srv.Close() }

func waitClient(t *testing.T, c *client.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.Instances()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d instances in rotation, want %d", len(c.Instances()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// attempts records when each instance was sent a call.
type attempts struct {
	mu     sync.Mutex
	byPort map[int][]time.Time
}

func (a *attempts) add(port int) {
	now := time.Now()
	a.mu.Lock()
	a.byPort[port] = append(a.byPort[port], now)
	a.mu.Unlock()
}

func (a *attempts) after(port int, t time.Time) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Time
	for _, at := range a.byPort[port] {
		if !at.Before(t) {
			out = append(out, at)
		}
	}
	return out
}

// ejectionLog is a slog.Handler that keeps when each instance was ejected:
// by its breaker, or at its first refused connection.
type ejectionLog struct {
	mu    sync.Mutex
	times map[string][]time.Time
}

func (h *ejectionLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *ejectionLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *ejectionLog) WithGroup(string) slog.Handler            { return h }
func (h *ejectionLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "client: instance ejected" && r.Message != "client: instance unreachable; out of rotation" {
		return nil
	}
	var addr string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "addr" {
			addr = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.times == nil {
		h.times = map[string][]time.Time{}
	}
	h.times[addr] = append(h.times[addr], time.Now())
	return nil
}

func (h *ejectionLog) first(addr string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.times[addr]) == 0 {
		return time.Time{}, false
	}
	return h.times[addr][0], true
}
