package gateway

import (
	"net/http"
	"testing"
)

// A read that fails on one instance (a 503, or a refused connection) is
// retried on another and succeeds. The balancer prefers an instance with
// no answer yet over one that answered, so the failing instance is tried
// within the first two reads.
func TestReadsAreRetriedOnAnotherInstance(t *testing.T) {
	for name, breakInstance := range map[string]func(u *upstream){
		"after a 503":                func(*upstream) {},
		"after a refused connection": func(u *upstream) { u.srv.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			bad := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
			good := startUpstream(t, h.reg, CatalogService, "catalog-2", answerJSON(http.StatusOK, `{"items":[]}`))
			breakInstance(bad)
			h.start(t, unlimited)
			for range 3 {
				if resp, body := h.do(t, "GET", "/v1/products", ""); resp.StatusCode != http.StatusOK {
					t.Fatalf("got %d %s, want 200 from the healthy instance", resp.StatusCode, body)
				}
			}
			if n := good.calls(); n != 3 {
				t.Errorf("the healthy instance got %d calls, want 3", n)
			}
			if name == "after a 503" && bad.calls() == 0 {
				t.Error("the failing instance was never tried")
			}
		})
	}
}

// A read that every instance fails is tried on each, up to three
// attempts, and the last service answer is passed on.
func TestReadsTryEveryInstance(t *testing.T) {
	h := newHarness(t)
	a := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
	b := startUpstream(t, h.reg, CatalogService, "catalog-2", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
	h.start(t, unlimited)
	resp, body := h.do(t, "GET", "/v1/products", "")
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != `{"status":503}` {
		t.Fatalf("got %d %s, want the service's 503", resp.StatusCode, body)
	}
	if a.calls() == 0 || b.calls() == 0 || a.calls()+b.calls() != 3 {
		t.Errorf("the instances got %d and %d calls, want 3 over both", a.calls(), b.calls())
	}
}

// Writes are sent once: a POST or PUT that fails is not retried, and the
// service's answer is passed on.
func TestWritesAreNotRetried(t *testing.T) {
	h := newHarness(t)
	a := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
	b := startUpstream(t, h.reg, CatalogService, "catalog-2", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
	inv := startUpstream(t, h.reg, InventoryService, "inventory-1", answerJSON(http.StatusBadGateway, `{"status":502}`))
	h.start(t, unlimited)
	if resp, body := h.do(t, "POST", "/v1/products", `{"name":"Mug"}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST: got %d %s, want the service's 503", resp.StatusCode, body)
	}
	if n := a.calls() + b.calls(); n != 1 {
		t.Errorf("POST reached the catalog %d times, want once", n)
	}
	if resp, body := h.do(t, "PUT", "/v1/admin/stock/p1", `{"available":1}`); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("PUT: got %d %s, want the service's 502", resp.StatusCode, body)
	}
	if n := inv.calls(); n != 1 {
		t.Errorf("PUT reached the inventory %d times, want once", n)
	}
}

// A 4xx is the service answering: it is neither retried nor counted
// against the instance, however many there are.
func TestClientErrorsDoNotEjectAnInstance(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusNotFound, `{"status":404}`))
	h.start(t, unlimited)
	for range 10 {
		if resp, body := h.do(t, "GET", "/v1/products", ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("got %d %s, want the service's 404", resp.StatusCode, body)
		}
	}
	if n := u.calls(); n != 10 {
		t.Errorf("the instance got %d calls, want 10: one each, none refused by its breaker", n)
	}
}

// An order carrying an Idempotency-Key is retried like a read, as the
// orders service de-duplicates by the key; one without a key, and a POST
// to a service that does not de-duplicate, are sent once.
func TestKeyedOrdersAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name, path, service string
		headers             []string
		want                int
	}{
		{"order with a key", "/v1/orders", OrdersService, []string{"Idempotency-Key", "order-1"}, 3},
		{"order without a key", "/v1/orders", OrdersService, nil, 1},
		{"product with a key", "/v1/products", CatalogService, []string{"Idempotency-Key", "product-1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := startUpstream(t, h.reg, tc.service, tc.service+"-1", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
			b := startUpstream(t, h.reg, tc.service, tc.service+"-2", answerJSON(http.StatusServiceUnavailable, `{"status":503}`))
			h.start(t, unlimited)
			if resp, body := h.do(t, "POST", tc.path, `{"items":[]}`, tc.headers...); resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("got %d %s, want the service's 503", resp.StatusCode, body)
			}
			if n := a.calls() + b.calls(); n != tc.want {
				t.Errorf("the POST reached %s %d times, want %d", tc.service, n, tc.want)
			}
		})
	}
}

// A write whose instance cannot be reached (its process died: the
// connection is refused) was never sent, so it goes to another instance
// and succeeds, key or none.
func TestWritesGoToAnotherInstanceWhenOneIsUnreachable(t *testing.T) {
	h := newHarness(t)
	dead := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusCreated, `{"id":"p1"}`))
	live := startUpstream(t, h.reg, CatalogService, "catalog-2", answerJSON(http.StatusCreated, `{"id":"p1"}`))
	dead.srv.Close()
	h.start(t, unlimited)
	for range 3 {
		if resp, body := h.do(t, "POST", "/v1/products", `{"name":"Mug"}`); resp.StatusCode != http.StatusCreated {
			t.Fatalf("got %d %s, want 201 from the instance that can be reached", resp.StatusCode, body)
		}
	}
	if n := live.calls(); n != 3 {
		t.Errorf("the live instance got %d calls, want 3", n)
	}
}
