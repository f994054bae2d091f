package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/requestid"
)

// Every route goes to its service with its method, path, query, body and
// headers, and the service's answer comes back as it was: status, body
// and the headers the gateway passes on, and no others.
func TestRoutesReachTheirService(t *testing.T) {
	h := newHarness(t)
	upstreams := map[string]*upstream{}
	for _, name := range []string{UsersService, CatalogService, InventoryService, OrdersService, PaymentsService, StatsService, ReviewsService} {
		upstreams[name] = startUpstream(t, h.reg, name, name+"-1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.shop+json")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Internal", "secret")
			w.Header().Set("Location", "/v1/things/1")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"from":"` + name + `"}`))
		})
	}
	h.start(t, unlimited)
	tok := h.token(t, "u1", "admin")

	tests := []struct {
		method, path, query, body, service string
	}{
		{"POST", "/v1/users", "", `{"email":"ada@example.com"}`, UsersService},
		{"POST", "/v1/sessions", "", `{"email":"ada@example.com","password":"x"}`, UsersService},
		{"GET", "/v1/users/me", "", "", UsersService},
		{"GET", "/v1/products", "limit=2&cursor=abc%2Fdef", "", CatalogService},
		{"POST", "/v1/products", "", `{"name":"Mug"}`, CatalogService},
		{"PUT", "/v1/admin/stock/p%2F1", "", `{"available":3}`, InventoryService},
		{"GET", "/v1/stats", "", "", StatsService},
		{"GET", "/v1/products/p%2F1/reviews", "limit=1&cursor=abc", "", ReviewsService},
		{"POST", "/v1/products/p%2F1/reviews", "", `{"rating":5,"title":"Good","body":"Very."}`, ReviewsService},
		{"POST", "/v1/orders", "", `{"items":[{"product_id":"p1","quantity":1}]}`, OrdersService},
		{"GET", "/v1/orders", "limit=5", "", OrdersService},
		{"GET", "/v1/orders/o%2F1", "", "", OrdersService},
		{"GET", "/v1/admin/payments", "order_id=o1", "", PaymentsService},
		{"PUT", "/v1/admin/payments/faults", "", `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`, PaymentsService},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			u := upstreams[tt.service]
			before := u.calls()
			target := tt.path
			if tt.query != "" {
				target += "?" + tt.query
			}
			resp, body := h.do(t, tt.method, target, tt.body,
				"Content-Type", "application/json", "Accept", "application/json",
				"Authorization", "Bearer "+tok, requestid.Header, "req-123", "Cookie", "session=1", "Idempotency-Key", "k-1")
			if resp.StatusCode != http.StatusAccepted || string(body) != `{"from":"`+tt.service+`"}` {
				t.Fatalf("got %d %s, want 202 from %s", resp.StatusCode, body, tt.service)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.shop+json" {
				t.Errorf("Content-Type = %q, want the service's", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want the service's", cc)
			}
			if loc := resp.Header.Get("Location"); loc != "/v1/things/1" {
				t.Errorf("Location = %q, want the service's", loc)
			}
			if v := resp.Header.Get("X-Internal"); v != "" {
				t.Errorf("X-Internal = %q came back; want only the listed headers passed on", v)
			}
			if id := resp.Header.Get(requestid.Header); id != "req-123" {
				t.Errorf("request id = %q, want the client's", id)
			}
			got := u.requests()
			if len(got) != before+1 {
				t.Fatalf("%s got %d requests, want 1", tt.service, len(got)-before)
			}
			r := got[len(got)-1]
			if r.Method != tt.method || r.Path != tt.path || r.RawQuery != tt.query || r.Body != tt.body {
				t.Errorf("%s got %s %s ? %s body %q; want %s %s ? %s body %q", tt.service, r.Method, r.Path, r.RawQuery, r.Body, tt.method, tt.path, tt.query, tt.body)
			}
			for k, want := range map[string]string{
				"Content-Type": "application/json", "Accept": "application/json",
				"Authorization": "Bearer " + tok, requestid.Header: "req-123", "Cookie": "", "Idempotency-Key": "k-1",
			} {
				if v := r.Header.Get(k); v != want {
					t.Errorf("%s got %s %q, want %q", tt.service, k, v, want)
				}
			}
		})
	}
}

// A service's error answers come back unchanged: a 401 with its
// challenge, a 403, a 5xx body, a 429 with its Retry-After.
func TestServiceErrorsPassThrough(t *testing.T) {
	h := newHarness(t)
	startUpstream(t, h.reg, UsersService, "users-1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"title":"Unauthorized","status":401,"kind":"unauthenticated"}`))
	})
	startUpstream(t, h.reg, CatalogService, "catalog-1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		if r.Method == http.MethodPost {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"status":403,"kind":"permission_denied"}`))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"status":500,"kind":"internal","request_id":"x"}`))
	})
	startUpstream(t, h.reg, StatsService, "stats-1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	h.start(t, unlimited)

	tests := []struct {
		name, method, path  string
		status              int
		header, value, body string
	}{
		{"401 with its challenge", "GET", "/v1/users/me", 401, "WWW-Authenticate", "Bearer", `"kind":"unauthenticated"`},
		{"403 with its challenge", "POST", "/v1/products", 403, "WWW-Authenticate", `Bearer error="insufficient_scope"`, `"kind":"permission_denied"`},
		{"500 with its body", "GET", "/v1/products", 500, "Content-Type", "application/problem+json", `"request_id":"x"`},
		{"429 with its Retry-After", "GET", "/v1/stats", 429, "Retry-After", "7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(t, tt.method, tt.path, "{}", "Authorization", "Bearer "+h.token(t, "u1", "customer"))
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Fatalf("got %d %s, want %d with %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if v := resp.Header.Get(tt.header); v != tt.value {
				t.Errorf("%s = %q, want %q", tt.header, v, tt.value)
			}
		})
	}
}

// A body beyond MaxBodyBytes is refused with 413 before the service is
// called; one at the limit goes through.
func TestBodyIsBounded(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusCreated, `{}`))
	h.start(t, unlimited, func(c *Config) { c.MaxBodyBytes = 16 })

	resp, body := h.do(t, "POST", "/v1/products", strings.Repeat("x", 17))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", resp.StatusCode, body)
	}
	if p := problem(t, resp, body); !strings.Contains(p.Detail, "16 bytes") {
		t.Errorf("detail %q does not say the limit", p.Detail)
	}
	if n := u.calls(); n != 0 {
		t.Fatalf("the catalog got %d calls, want none", n)
	}
	if resp, body := h.do(t, "POST", "/v1/products", strings.Repeat("x", 16)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a body at the limit: got %d %s, want 201", resp.StatusCode, body)
	}
}

// Paths the gateway does not serve are the Router's 404, and no service
// hears of them.
func TestUnknownRoutesAreNotFound(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, UsersService, "users-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, unlimited)
	for _, path := range []string{"/.well-known/jwks.json", "/internal/v1/reservations", "/v1/stock/p1", "/metrics"} {
		resp, body := h.do(t, "GET", path, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: got %d %s, want 404", path, resp.StatusCode, body)
			continue
		}
		problem(t, resp, body)
	}
	if n := u.calls(); n != 0 {
		t.Errorf("users got %d calls, want none", n)
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	h := newHarness(t)
	for name, cfg := range map[string]Config{
		"no resolver":      {},
		"no verifier":      {Resolver: h.reg},
		"negative timeout": {Resolver: h.reg, Verifier: h.verifier(t), Timeout: -1},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Config.") {
			t.Errorf("%s: New returned %v, want an error naming the field", name, err)
		}
	}
}
