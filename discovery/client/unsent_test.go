package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// deadInstance is an instance of service on a loopback port where
// nothing listens, as after its process was killed: connecting to it is
// refused.
func deadInstance(t *testing.T, service, id string) discovery.Instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return discovery.Instance{ID: id, Service: service, Address: "127.0.0.1", Port: port}
}

// hangUpInstance is an instance of service that reads each request and
// closes the connection without answering, as a process killed while
// serving it: the request was sent, and may have taken effect.
func hangUpInstance(t *testing.T, service, id string) discovery.Instance {
	t.Helper()
	return newInstanceServerWith(t, service, id, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})).inst
}

// postFactory makes POST /orders calls, which are not idempotent, and
// records which instance each attempt went to.
func postFactory(tried *[]string, mu *sync.Mutex) client.Factory {
	base := client.HTTPFactory(http.MethodPost, "/orders", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[string]())
	return func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		e, closer, err := base(inst)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, request any) (any, error) {
			mu.Lock()
			*tried = append(*tried, inst.ID)
			mu.Unlock()
			return e(ctx, request)
		}, closer, nil
	}
}

// A call that cannot reach an instance (its connection refused) was never
// sent, so it goes on to another instance even when it is not marked
// idempotent; one that reached an instance which then failed to answer
// is not sent again; and when no instance can be reached the call fails
// with the connection's error, of kind Unavailable.
func TestUnreachableInstanceIsSkippedForAnyCall(t *testing.T) {
	live := newInstanceServerWith(t, "orders", "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `"b"`)
	})).inst
	for _, tc := range []struct {
		name      string
		first     discovery.Instance // what preferA picks first
		others    []discovery.Instance
		wantTried []string
		wantOK    bool
	}{
		{"refused, then a live one", deadInstance(t, "orders", "a"), []discovery.Instance{live}, []string{"a", "b"}, true},
		{"sent, and no answer", hangUpInstance(t, "orders", "a"), []discovery.Instance{live}, []string{"a"}, false},
		{"every one refused", deadInstance(t, "orders", "a"), []discovery.Instance{deadInstance(t, "orders", "c")}, []string{"a", "c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := memory.New()
			for _, inst := range append([]discovery.Instance{tc.first}, tc.others...) {
				if err := reg.Register(context.Background(), inst); err != nil {
					t.Fatal(err)
				}
			}
			var (
				mu    sync.Mutex
				tried []string
			)
			c, call := newClient(t, reg, "orders", postFactory(&tried, &mu), client.WithBalancer(preferA{}))
			defer c.Close()
			waitClient(t, c, 1+len(tc.others))

			got, err := call(context.Background(), "order") // not marked idempotent
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(tried, tc.wantTried) {
				t.Errorf("attempts went to %v, want %v", tried, tc.wantTried)
			}
			if tc.wantOK {
				if err != nil || deref(got) != "b" {
					t.Fatalf("got %v, %v; want b, nil", deref(got), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", deref(got))
			}
			if !errors.Is(err, fault.Unavailable) {
				t.Errorf("got %v, want an error of kind Unavailable", err)
			}
			var nie *client.NoInstanceError
			if errors.As(err, &nie) {
				t.Errorf("got %v, want the instance's own error, not that no instance was found", err)
			}
		})
	}
}

// refused is the error of a call whose connection was refused, as the
// HTTP factories return it.
var refused = fault.Wrap(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, fault.Unavailable, "the call got no answer")

// An instance that could not be reached is out of rotation at once, for
// UnreachableFor, and then tried again; while every instance is out for
// that reason, calls still try them, so an instance back on its address
// is called at once.
func TestUnreachableInstanceLeavesRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "orders", "a", "b")
		f := newFleet()
		f.fail("a", refused)
		c, call := newClient(t, reg, "orders", f.factory, client.WithBalancer(preferA{}))
		defer c.Close()
		waitInstances(t, c, 2)
		for range 10 {
			if got, err := call(context.Background(), "order"); err != nil || got != "b" {
				t.Fatalf("got %v, %v; want b, nil", got, err)
			}
		}
		if n := f.callsTo("a"); n != 1 {
			t.Errorf("the unreachable instance was tried %d times, want once: it is out of rotation after the first", n)
		}
		time.Sleep(client.UnreachableFor)
		if got, err := call(context.Background(), "order"); err != nil || got != "b" {
			t.Fatalf("got %v, %v; want b, nil", got, err)
		}
		if n := f.callsTo("a"); n != 2 {
			t.Errorf("after UnreachableFor the instance was tried %d times in all, want 2: it is back in rotation", n)
		}
	})
}

func TestEveryInstanceUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "orders", "a", "b")
		f := newFleet()
		f.fail("a", refused)
		f.fail("b", refused)
		c, call := newClient(t, reg, "orders", f.factory, client.WithBalancer(preferA{}))
		defer c.Close()
		waitInstances(t, c, 2)
		for range 2 {
			_, err := call(context.Background(), "order")
			var op *net.OpError
			if !errors.As(err, &op) || !errors.Is(err, fault.Unavailable) {
				t.Fatalf("got %v, want the refused connection's error, of kind Unavailable", err)
			}
		}
		if tried := f.tried(); !slices.Equal(tried, []string{"a", "b", "a", "b"}) {
			t.Errorf("attempts went to %v, want a and b on each call: with every instance out for being unreachable, each is tried", tried)
		}
		f.fail("a", nil) // back on its address
		if got, err := call(context.Background(), "order"); err != nil || got != "a" {
			t.Fatalf("got %v, %v; want a, nil: the instance is called as soon as it is back", got, err)
		}
	})
}
