package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/internal/discoverytest"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/service"
)

// observingRegistrar records, at each registration and deregistration,
// what the service's HTTP listener answers at that moment.
type observingRegistrar struct {
	*memory.Registry
	base func() string // the service's base URL

	mu     sync.Mutex
	events []string
}

func (o *observingRegistrar) note(what string) {
	base := o.base()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, fmt.Sprintf("%s: readyz %s, work %s", what, get(base+"/readyz"), get(base+"/work")))
}

func (o *observingRegistrar) Register(ctx context.Context, inst discovery.Instance) error {
	o.note("register")
	return o.Registry.Register(ctx, inst)
}

func (o *observingRegistrar) Deregister(ctx context.Context, inst discovery.Instance) error {
	o.note("deregister")
	return o.Registry.Deregister(ctx, inst)
}

// get returns the status of GET url, or "refused" when nothing answers.
func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "refused"
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}

// TestRegistrationOrder runs a real service.Service and checks the order
// the package documents: register only once /readyz answers 200;
// deregister at the start of shutdown, when /readyz already answers 503
// but the listener still serves, so callers drop the instance before it
// stops answering; requests in flight at that moment still finish.
func TestRegistrationOrder(t *testing.T) {
	var svc *service.Service
	reg := &observingRegistrar{Registry: memory.New(), base: func() string { return "http://" + svc.HTTPAddr().String() }}
	svc, err := service.New(service.Config{Name: "inventory", HTTPAddr: "127.0.0.1:0", ShutdownDelay: 50 * time.Millisecond},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	slow, started := make(chan struct{}), make(chan struct{})
	svc.Router().HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {})
	svc.Router().HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-slow
		_, _ = io.WriteString(w, "finished")
	})
	registration := discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{Service: "inventory", Address: "127.0.0.1", Port: svc.HTTPAddr().Port}
	})
	svc.Add(registration)
	w, err := reg.Resolve("inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	discoverytest.Wait(t, w, 5*time.Second, "the service registering", healthy(1))
	// The watch can see the instance before Announce has returned and
	// recorded it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := registration.Registered(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Registered: got false 5s after the registry listed the instance, want true")
		}
	}

	// A request in flight when shutdown starts.
	inFlight := make(chan string, 1)
	go func() {
		resp, err := http.Get(reg.base() + "/slow")
		if err != nil {
			inFlight <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inFlight <- string(b)
	}()
	<-started

	cancel()
	discoverytest.Wait(t, w, 5*time.Second, "the service deregistering", func(st discovery.State) bool { return st.Registered == 0 })
	close(slow)
	if got := <-inFlight; got != "finished" {
		t.Errorf("the request in flight at shutdown: got %q, want %q", got, "finished")
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	want := []string{
		"register: readyz 200, work 200",
		"deregister: readyz 503, work 200",
	}
	reg.mu.Lock()
	got := slices.Clone(reg.events)
	reg.mu.Unlock()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := registration.Registered(); ok {
		t.Error("Registered: got true after shutdown, want false")
	}
	if got := get(reg.base() + "/work"); got != "refused" {
		t.Errorf("after Run returned: got %s, want refused", got)
	}
}

func TestRegistrationStopDeregistersWhenDrainDidNot(t *testing.T) {
	reg := memory.New()
	g := discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{Service: "inventory", Port: 8080}
	})
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	inst, _ := g.Registered()
	if inst.ID != "inventory-local-8080" {
		t.Errorf("got ID %q, want inventory-local-8080", inst.ID)
	}
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	w, _ := reg.Resolve("inventory")
	defer w.Stop()
	if st := w.State(); st.Registered != 0 {
		t.Errorf("after Stop: got %d registered, want 0", st.Registered)
	}
	if err := g.Drain(ctx); err != nil {
		t.Errorf("Drain after Stop: got %v, want nil", err)
	}
}

func TestRegistrationRejectsAnInvalidInstance(t *testing.T) {
	g := discovery.NewRegistration(memory.New(), func() discovery.Instance { return discovery.Instance{Service: "inventory"} })
	err := g.Announce(context.Background())
	want := `discovery: instance "inventory-local-0" of "inventory" has port 0, want 1-65535; set Instance.Port to the port it serves on`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if errors.Is(err, discovery.ErrStopped) {
		t.Error("got ErrStopped, want a validation error")
	}
}

// TestRegistrationFollowsReadiness runs a real service.Service whose
// readiness check fails at first: it must not register while /readyz
// answers 503, register once the check passes, deregister when the check
// keeps failing, and register again when it recovers.
func TestRegistrationFollowsReadiness(t *testing.T) {
	reg := memory.New()
	svc, err := service.New(service.Config{Name: "inventory", HTTPAddr: "127.0.0.1:0", CheckInterval: 5 * time.Millisecond, FailuresToWithdraw: 2},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	failed := make(chan struct{}, 1000)
	svc.AddCheck("database", func(context.Context) error {
		if up.Load() {
			return nil
		}
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("database unreachable")
	})
	registration := discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{Service: "inventory", Address: "127.0.0.1", Port: svc.HTTPAddr().Port}
	})
	svc.Add(registration)
	w, err := reg.Resolve("inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Started()
	for range 3 { // three rounds of checks, all failing
		select {
		case <-failed:
		case <-time.After(5 * time.Second):
			t.Fatal("the readiness check did not run within 5s")
		}
	}
	if got := get("http://" + svc.HTTPAddr().String() + "/readyz"); got != "503" {
		t.Fatalf("/readyz with a failing check: got %s, want 503", got)
	}
	if st := w.State(); st.Registered != 0 {
		t.Fatalf("with a failing readiness check: got %d registered, want 0", st.Registered)
	}

	up.Store(true)
	discoverytest.Wait(t, w, 5*time.Second, "the service registering once ready", healthy(1))
	up.Store(false)
	discoverytest.Wait(t, w, 5*time.Second, "the service deregistering as its check keeps failing", func(st discovery.State) bool { return st.Registered == 0 })
	up.Store(true)
	discoverytest.Wait(t, w, 5*time.Second, "the service registering again once its check passes", healthy(1))

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := w.State(); st.Registered != 0 {
		t.Errorf("after Run: got %d registered, want 0", st.Registered)
	}
}
