package servicetest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

func TestStartServesAndStops(t *testing.T) {
	svc := servicetest.New(t, service.Config{Name: "hello", HTTPAddr: ":8080"})
	svc.Router().HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	s := servicetest.Start(t, svc)
	if got := svc.HTTPAddr().IP.String(); got != "127.0.0.1" {
		t.Errorf("got address %s, want loopback", got)
	}
	resp, err := s.Client().Get(s.URL() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("got %q, want hello", b)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop = %v, want nil", err)
	}
	if _, err := http.Get(s.URL() + "/hello"); err == nil {
		t.Fatal("the service still answers after Stop")
	}
}

// Start returns only once the readiness checks pass and the service is
// registered.
func TestStartWaitsUntilReadyAndRegistered(t *testing.T) {
	reg := memory.New()
	svc := servicetest.New(t, service.Config{Name: "inventory", CheckInterval: 5 * time.Millisecond})
	var checks atomic.Int32
	svc.AddCheck("warm-up", func(context.Context) error {
		if checks.Add(1) < 3 {
			return errors.New("still warming up")
		}
		return nil
	})
	svc.Add(discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{Service: "inventory", Address: "127.0.0.1", Port: svc.HTTPAddr().Port}
	}))
	servicetest.Start(t, svc)
	w, err := reg.Resolve("inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if st := w.State(); st.Registered != 1 {
		t.Fatalf("after Start: got %d registered, want 1", st.Registered)
	}
	if n := checks.Load(); n < 3 {
		t.Fatalf("after Start: the check ran %d times, want it passed (3 runs)", n)
	}
}

type failingStop struct{}

func (failingStop) Start(context.Context) error { return nil }
func (failingStop) Stop(context.Context) error  { return errors.New("flush failed") }

func TestStopReturnsRunsError(t *testing.T) {
	svc := servicetest.New(t, service.Config{})
	svc.Add(failingStop{})
	s := servicetest.Start(t, svc)
	if err := s.Stop(); err == nil {
		t.Fatal("Stop = nil, want the component's stop error")
	}
	// A second Stop (the test's cleanup makes one) returns the same
	// without running the shutdown again.
	if err := s.Stop(); err == nil {
		t.Fatal("second Stop = nil, want the same error")
	}
}
