package gateway

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tailorkit/tailor/resilience"
)

// checkUnavailable checks a 503 problem naming service with a
// Retry-After of at least a second.
func checkUnavailable(t *testing.T, resp *http.Response, body []byte, service string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", resp.StatusCode, body)
	}
	p := problem(t, resp, body)
	if want := service + " is unavailable; try again shortly"; p.Detail != want || p.Kind != "unavailable" {
		t.Errorf("problem %+v, want detail %q and kind unavailable", p, want)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After = %q, want whole seconds, at least 1", resp.Header.Get("Retry-After"))
	}
}

// A service that leaves the registry is a 503 naming it, at once; once an
// instance registers again the route works, with the same gateway.
func TestDeregisteredServiceIsUnavailableThenRecovers(t *testing.T) {
	h := newHarness(t)
	first := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusOK, `{"items":[]}`))
	h.start(t, unlimited, func(c *Config) { c.Timeout = time.Minute })

	if resp, body := h.do(t, "GET", "/v1/products", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: got %d %s, want 200", resp.StatusCode, body)
	}
	first.deregister()
	h.waitInstances(t, CatalogService, 0)
	for _, route := range []struct{ method, path string }{{"GET", "/v1/products"}, {"POST", "/v1/products"}} {
		start := time.Now()
		resp, body := h.do(t, route.method, route.path, "{}")
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s %s took %v; with no instance the answer must not wait for the timeout", route.method, route.path, took)
		}
		checkUnavailable(t, resp, body, CatalogService)
	}

	startUpstream(t, h.reg, CatalogService, "catalog-2", answerJSON(http.StatusOK, `{"items":[]}`))
	h.waitInstances(t, CatalogService, 1)
	if resp, body := h.do(t, "GET", "/v1/products", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("after an instance registered again: got %d %s, want 200", resp.StatusCode, body)
	}
}

// An instance that stopped but is still registered refuses connections:
// the answer is a 503 naming the service.
func TestStoppedServiceIsUnavailable(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, StatsService, "stats-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, unlimited)
	u.srv.Close()
	for range 3 {
		resp, body := h.do(t, "GET", "/v1/stats", "")
		checkUnavailable(t, resp, body, StatsService)
	}
}

// An instance that hangs costs each call the timeout until its breaker
// opens; from then on the answer is a 503 at once and the instance is
// not called. A healthy instance that registers is used at once.
func TestHangingServiceIsEjected(t *testing.T) {
	h := newHarness(t)
	stuck := startUpstream(t, h.reg, InventoryService, "inventory-1", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	const timeout = 200 * time.Millisecond
	h.start(t, unlimited, func(c *Config) {
		c.Timeout = timeout
		c.InstanceBreaker = resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Hour}
	})
	for range 2 {
		resp, body := h.do(t, "PUT", "/v1/admin/stock/p1", `{"available":1}`)
		checkUnavailable(t, resp, body, InventoryService)
	}
	if n := stuck.calls(); n != 2 {
		t.Fatalf("the stuck instance got %d calls, want 2", n)
	}
	start := time.Now()
	resp, body := h.do(t, "PUT", "/v1/admin/stock/p1", `{"available":1}`)
	took := time.Since(start)
	checkUnavailable(t, resp, body, InventoryService)
	if n := stuck.calls(); n != 2 {
		t.Errorf("the stuck instance got %d calls after its breaker opened, want none", n-2)
	}
	if took >= timeout {
		t.Errorf("the answer took %v, want less than the %v timeout once the breaker is open", took, timeout)
	}

	startUpstream(t, h.reg, InventoryService, "inventory-2", answerJSON(http.StatusOK, `{"available":1}`))
	h.waitInstances(t, InventoryService, 2)
	if resp, body := h.do(t, "PUT", "/v1/admin/stock/p1", `{"available":1}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("with a healthy instance: got %d %s, want 200", resp.StatusCode, body)
	}
}

// After Close every route is a 503.
func TestClosedGatewayIsUnavailable(t *testing.T) {
	h := newHarness(t)
	startUpstream(t, h.reg, StatsService, "stats-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, unlimited)
	if err := h.gw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do(t, "GET", "/v1/stats", "")
	checkUnavailable(t, resp, body, StatsService)
}
