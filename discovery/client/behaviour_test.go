package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/endpoint"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// preferA is a balancer that picks "a" whenever it may, then the others
// in order, so a test knows where each call goes.
type preferA struct{}

func (preferA) Pick(nodes []*client.Node, skip func(*client.Node) bool) *client.Node {
	var first *client.Node
	for _, n := range nodes {
		if skip(n) {
			continue
		}
		if n.Instance().ID == "a" {
			return n
		}
		if first == nil {
			first = n
		}
	}
	return first
}

// An instance whose breaker refuses a call (open, or half-open with its
// probe in flight) costs the call nothing: it goes on to another instance
// at once, never waiting out the breaker's Retry-After.
func TestRefusingBreakerSendsTheCallElsewhereAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a", "b", "c")
		f := newFleet()
		f.fail("a", errDown)
		release := make(chan struct{})
		var probing sync.WaitGroup
		factory := func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
			e, closer, err := f.factory(inst)
			if inst.ID != "a" {
				return e, closer, err
			}
			return func(ctx context.Context, request any) (any, error) {
				if request == "probe" {
					<-release // the probe hangs until the test lets it go
				}
				return e(ctx, request)
			}, closer, err
		}
		c, call := newClient(t, reg, "inventory", factory,
			client.WithBalancer(preferA{}),
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Second}))
		defer c.Close()
		waitInstances(t, c, 3)

		// a fails once: its breaker opens.
		if _, err := call(context.Background(), "first"); !errors.Is(err, fault.Unavailable) {
			t.Fatalf("got %v, want a's failure", err)
		}
		ctx := resilience.WithIdempotent(context.Background())
		start := time.Now()
		for k := range 100 {
			if got, err := call(ctx, k); err != nil || got == "a" {
				t.Fatalf("call %d while a's breaker is open: got %v, %v; want another instance", k, got, err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("100 calls with a's breaker open took %v of the bubble's time, want 0: nothing may wait", d)
		}

		// The open time ends; one probe takes a and hangs there, so a's
		// half-open breaker refuses every other call.
		time.Sleep(time.Second + time.Millisecond)
		probing.Add(1)
		go func() {
			defer probing.Done()
			_, _ = call(context.Background(), "probe")
		}()
		synctest.Wait()
		start = time.Now()
		for k := range 100 {
			if got, err := call(ctx, k); err != nil || got == "a" {
				t.Fatalf("call %d while a's probe is in flight: got %v, %v; want another instance", k, got, err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("100 calls during a's probe took %v of the bubble's time, want 0: nothing may wait", d)
		}
		if got := f.callsTo("a"); got != 1 {
			t.Errorf("a was called %d times before its probe ended, want 1 (the first failure)", got)
		}
		if got := len(f.tried()); got != 201 {
			t.Errorf("got %d attempts in all, want 201: one per call, no retries", got)
		}
		close(release)
		probing.Wait()
		if got := f.callsTo("a"); got != 2 {
			t.Errorf("a was called %d times, want 2: the first failure and the probe", got)
		}
	})
}

// Finding no instance is not the callee failing: it must not open the
// policy's breaker, which would refuse calls once instances come.
func TestNoInstanceDoesNotOpenThePolicyBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		f := newFleet()
		c, call := newClient(t, reg, "inventory", f.factory, client.WithPolicy(resilience.PolicyConfig{
			Breaker: &resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
		}))
		defer c.Close()
		for range 5 {
			var nie *client.NoInstanceError
			if _, err := call(context.Background(), "req"); !errors.As(err, &nie) {
				t.Fatalf("got %v, want a NoInstanceError", err)
			}
		}
		register(t, reg, "inventory", "a")
		waitInstances(t, c, 1)
		if got, err := call(context.Background(), "req"); err != nil || got != "a" {
			t.Errorf("got %v, %v; want a, nil: the policy's breaker must still be closed", got, err)
		}
	})
}

// The service's logger already holds "service"; the client names its
// callee under "peer.service", so no record holds the key twice.
func TestLogsNameTheCalleeAsPeerService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil)).With("service", "quotes")
		tel, err := observability.New(observability.Config{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		reg := memory.New()
		register(t, reg, "pricing", "a")
		c, _ := newClient(t, reg, "pricing", newFleet().factory, client.WithTelemetry(tel))
		defer c.Close()
		waitInstances(t, c, 1)
		mu.Lock()
		defer mu.Unlock()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatal("got no log record, want one for the instance joining")
		}
		for _, line := range lines {
			if n := strings.Count(line, `"service":`); n != 1 {
				t.Errorf("got %d \"service\" keys in %s, want 1", n, line)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec["service"] != "quotes" || rec["peer.service"] != "pricing" {
				t.Errorf("got service %v, peer.service %v; want quotes, pricing in %s", rec["service"], rec["peer.service"], line)
			}
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Each layer adds what it knows once: the refused connection appears once
// in the error of a call to an instance that is down.
func TestErrorNamesItsCauseOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	reg := memory.New()
	if err := reg.Register(context.Background(), discovery.Instance{ID: "a", Service: "inventory", Address: "127.0.0.1", Port: port}); err != nil {
		t.Fatal(err)
	}
	c, call := newClient(t, reg, "inventory", workFactory())
	defer c.Close()
	_, err = call(context.Background(), nil)
	if !errors.Is(err, fault.Unavailable) {
		t.Fatalf("got %v, want an unavailable error", err)
	}
	if n := strings.Count(err.Error(), "connection refused"); n != 1 {
		t.Errorf("got %q, which names the refused connection %d times; want once", err, n)
	}
}

// The breaker-state metric of a discovery client reaches the meter with no
// wiring beyond WithTelemetry: an instance that fails opens its breaker,
// and tailor.breaker.state{state="open"} turns 1 for it.
func TestTelemetryReportsBreakersRetriesAndInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		tel, err := observability.New(observability.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
		if err != nil {
			t.Fatal(err)
		}
		reg := memory.New()
		register(t, reg, "inventory", "a", "b")
		f := newFleet()
		f.fail("a", errDown)
		c, call := newClient(t, reg, "inventory", f.factory,
			client.WithBalancer(preferA{}),
			client.WithPolicy(resilience.PolicyConfig{Retry: &resilience.RetryConfig{}, Breaker: &resilience.BreakerConfig{}}),
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}),
			client.WithTelemetry(tel))
		defer c.Close()
		waitInstances(t, c, 2)
		if got, err := call(resilience.WithIdempotent(context.Background()), "req"); err != nil || got != "b" {
			t.Fatalf("got %v, %v; want b after a failed", got, err)
		}

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		a := discovery.Instance{Address: "127.0.0.1", Port: 9000}.HostPort()
		if got := gaugeValue(t, rm, "tailor.breaker.state", map[string]string{"breaker": "inventory/" + a, "state": "open"}); got != 1 {
			t.Errorf("tailor.breaker.state{breaker=inventory/%s,state=open}: got %d, want 1", a, got)
		}
		if got := sumValue(t, rm, "tailor.retry.attempts", map[string]string{"name": "inventory"}); got != 1 {
			t.Errorf("tailor.retry.attempts{name=inventory}: got %d, want 1", got)
		}
		if got := gaugeValue(t, rm, "tailor.discovery.instances", map[string]string{"service": "inventory"}); got != 2 {
			t.Errorf("tailor.discovery.instances{service=inventory}: got %d, want 2", got)
		}
	})
}

// point finds the data point of the instrument name whose attributes
// include want.
func point[N int64 | float64](t *testing.T, rm metricdata.ResourceMetrics, name string, want map[string]string) (metricdata.DataPoint[N], bool) {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var points []metricdata.DataPoint[N]
			switch d := m.Data.(type) {
			case metricdata.Gauge[N]:
				points = d.DataPoints
			case metricdata.Sum[N]:
				points = d.DataPoints
			}
		next:
			for _, p := range points {
				for k, v := range want {
					if got, ok := p.Attributes.Value(attributeKey(k)); !ok || got.AsString() != v {
						continue next
					}
				}
				return p, true
			}
		}
	}
	return metricdata.DataPoint[N]{}, false
}

func gaugeValue(t *testing.T, rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	t.Helper()
	p, ok := point[int64](t, rm, name, want)
	if !ok {
		t.Fatalf("no %s point with %v", name, want)
	}
	return p.Value
}

func sumValue(t *testing.T, rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	t.Helper()
	return gaugeValue(t, rm, name, want)
}

// One client calls several routes of its service; they share its
// instances' breakers, so an instance that fails on one route is out of
// rotation for all of them.
func TestRoutesShareTheClient(t *testing.T) {
	srv := http.NewServeMux()
	srv.HandleFunc("GET /v1/stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode("stock of " + r.PathValue("sku"))
	})
	srv.HandleFunc("GET /files/{path...}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode("file " + r.PathValue("path"))
	})
	srv.HandleFunc("POST /v1/reservations", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode("reserved")
	})
	in := newInstanceServerWith(t, "inventory", "a", srv)
	reg := memory.New()
	if err := reg.Register(context.Background(), in.inst); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(reg, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stock := c.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}",
		func(_ context.Context, r *http.Request, request any) error {
			r.SetPathValue("sku", request.(string))
			return nil
		}, thttp.DecodeJSONResponse[string]()))
	reserve := c.Endpoint(client.HTTPFactory(http.MethodPost, "/v1/reservations", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[string]()))
	if got, err := stock(context.Background(), "blue mug/2"); err != nil || deref(got) != "stock of blue mug/2" {
		t.Errorf("stock: got %v, %v; want %q", deref(got), err, "stock of blue mug/2")
	}
	file := c.Endpoint(client.HTTPFactory(http.MethodGet, "/files/{path...}",
		func(_ context.Context, r *http.Request, request any) error {
			r.SetPathValue("path", request.(string))
			return nil
		}, thttp.DecodeJSONResponse[string]()))
	if got, err := file(context.Background(), "a b/c%d.txt"); err != nil || deref(got) != "file a b/c%d.txt" {
		t.Errorf("file: got %v, %v; want %q", deref(got), err, "file a b/c%d.txt")
	}
	if got, err := reserve(context.Background(), map[string]int{"count": 1}); err != nil || deref(got) != "reserved" {
		t.Errorf("reserve: got %v, %v; want reserved", deref(got), err)
	}
	_, err = c.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}",
		func(context.Context, *http.Request, any) error { return nil }, thttp.DecodeJSONResponse[string]()))(context.Background(), nil)
	if want := `client: the request encoder left {sku} of "/v1/stock/{sku}" empty; set it with r.SetPathValue("sku", value)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want it to say %s", err, want)
	}
}

func TestRoutesShareEachInstanceBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := memory.New()
		register(t, reg, "inventory", "a", "b")
		f := newFleet()
		f.fail("a", errDown)
		c, err := client.New(reg, "inventory",
			client.WithBalancer(preferA{}),
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		one, two := c.Endpoint(f.factory), c.Endpoint(f.factory)
		waitInstances(t, c, 2)
		if _, err := one(context.Background(), "req"); err == nil {
			t.Fatal("route one on a: got nil error, want a's failure")
		}
		if got, err := two(context.Background(), "req"); err != nil || got != "b" {
			t.Errorf("route two: got %v, %v; want b: a's breaker opened on route one", got, err)
		}
		if got := f.callsTo("a"); got != 1 {
			t.Errorf("a got %d calls, want 1", got)
		}
	})
}

func attributeKey(k string) attribute.Key { return attribute.Key(k) }

// A client made WithTelemetry lists its breakers and instances with it,
// for the dashboard, and stops when an instance leaves or it is closed.
func TestTelemetryListsBreakersAndInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel, err := observability.New(observability.Config{})
		if err != nil {
			t.Fatal(err)
		}
		reg := memory.New()
		register(t, reg, "inventory", "a", "b")
		f := newFleet()
		f.fail("a", errDown)
		c, call := newClient(t, reg, "inventory", f.factory,
			client.WithBalancer(preferA{}),
			client.WithPolicy(resilience.PolicyConfig{Retry: &resilience.RetryConfig{}, Breaker: &resilience.BreakerConfig{}}),
			client.WithInstanceBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}),
			client.WithTelemetry(tel))
		defer c.Close()
		waitInstances(t, c, 2)
		if _, err := call(resilience.WithIdempotent(context.Background()), "req"); err != nil {
			t.Fatal(err)
		}
		a := discovery.Instance{Address: "127.0.0.1", Port: 9000}.HostPort()
		b := discovery.Instance{Address: "127.0.0.1", Port: 9001}.HostPort()
		states := map[string]resilience.State{}
		for _, br := range tel.Breakers() {
			states[br.Name()] = br.State()
		}
		want := map[string]resilience.State{"inventory": resilience.StateClosed, "inventory/" + a: resilience.StateOpen, "inventory/" + b: resilience.StateClosed}
		if !maps.Equal(states, want) {
			t.Fatalf("tracked breakers = %v, want %v", states, want)
		}
		got := tel.Instances()
		if len(got) != 1 || got[0].Service != "inventory" || len(got[0].Instances) != 2 {
			t.Fatalf("Instances() = %+v, want inventory's two", got)
		}
		if ia, ib := got[0].Instances[0], got[0].Instances[1]; ia.Addr != a || ia.ID != "a" || !ia.Ejected || ib.Addr != b || ib.Ejected {
			t.Errorf("instances = %+v, want a ejected and b in rotation", got[0].Instances)
		}

		if err := reg.Deregister(context.Background(), discovery.Instance{ID: "a", Service: "inventory"}); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, c, 1)
		if n := len(tel.Breakers()); n != 2 {
			t.Errorf("after a left, %d breakers tracked, want 2 (the policy's and b's)", n)
		}
		c.Close()
		if n, m := len(tel.Breakers()), len(tel.Instances()); n != 0 || m != 0 {
			t.Errorf("after Close, %d breakers and %d services tracked, want none", n, m)
		}
	})
}
