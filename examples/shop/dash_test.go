package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/users"
)

// adminCall sends a request to the admin listener at addr, with token
// unless it is empty.
func adminCall(t *testing.T, method, addr, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type dashBreaker struct {
	Name, State, Override string
}

// TestDashboardShowsThePaymentsBreaker: with the payments service failing,
// the orders' breaker for it shows open on the orders' admin listener, an
// operator forces it closed there, and the listener asks for the token.
func TestDashboardShowsThePaymentsBreaker(t *testing.T) {
	const token = "dash-token"
	s := startTestShop(t, sqliteFiles, func(c *config) { c.base.AdminToken, c.dashAddr = token, "127.0.0.1:0" })
	orders := s.adminAddr("orders")
	if orders == "" || s.adminAddr("gateway") == "" {
		t.Fatal("the orders or the gateway serve no admin listener")
	}
	if code, b := adminCall(t, "GET", orders, "/dash/api/breakers", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /dash/api/breakers without the token = %d %s, want 401", code, b)
	}
	if resp, _ := s.call(t, "GET", "/dash/api/breakers", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /dash/api/breakers through the gateway = %d, want 404", resp.StatusCode)
	}

	admin := s.login(t, users.AdminEmail, testAdminPassword)
	scarf := s.product(t, admin, "Scarf", 1990, 100)
	buyer := s.login(t, "erin@example.com", "correct horse battery")
	// An order placed is on the orders' messaging panel: its saga
	// completed, and the outbox that announces it.
	if resp, b := s.call(t, "POST", "/v1/orders", buyer, `{"items":[{"product_id":"`+scarf+`","quantity":1}]}`, "Idempotency-Key", "dash-ok"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("placing an order: %s %s, want 201", resp.Status, b)
	}
	var panel struct {
		Version  int
		Outboxes []struct{ Name string }
		Sagas    []struct {
			Name      string
			Completed int
		}
	}
	if code, b := adminCall(t, "GET", orders, "/dash/api/messaging", token, ""); code != http.StatusOK || json.Unmarshal(b, &panel) != nil ||
		panel.Version != 1 || len(panel.Sagas) != 1 || panel.Sagas[0].Name != "order" || panel.Sagas[0].Completed < 1 ||
		len(panel.Outboxes) != 1 || panel.Outboxes[0].Name != "orders" {
		t.Errorf("GET /dash/api/messaging = %d %s, want the order saga with one completed, and the orders' outbox", code, b)
	}
	s.expect(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":1}`, http.StatusOK, nil)

	breakers := func() map[string]dashBreaker {
		code, b := adminCall(t, "GET", orders, "/dash/api/breakers", token, "")
		var got struct {
			Version  int
			Breakers []dashBreaker
		}
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil || got.Version != 1 {
			t.Fatalf("GET /dash/api/breakers = %d %s, want 200 and version 1", code, b)
		}
		m := map[string]dashBreaker{}
		for _, br := range got.Breakers {
			m[br.Name] = br
		}
		return m
	}
	if br, ok := breakers()["payments"]; !ok || br.State != "closed" {
		t.Fatalf("the orders' payments breaker = %+v (listed: %v), want closed", br, ok)
	}
	// Each order's charge fails until the breaker opens; then orders are
	// refused at once.
	n := 0
	eventually(t, "the payments breaker opening", func() bool {
		n++
		s.call(t, "POST", "/v1/orders", buyer, `{"items":[{"product_id":"`+scarf+`","quantity":1}]}`, "Idempotency-Key", fmt.Sprintf("dash-%d", n))
		return breakers()["payments"].State == "open"
	})
	opened := breakers()
	if br := opened["payments"]; br.Override != "auto" {
		t.Errorf("the payments breaker = %+v, want open by its counts", br)
	}
	var perInstance bool
	for name := range opened {
		perInstance = perInstance || strings.HasPrefix(name, "payments/127.0.0.1:")
	}
	if !perInstance {
		t.Errorf("breakers %v; want the client's breaker of the payments instance listed too", opened)
	}

	// The failed orders are on the traces panel.
	code, b := adminCall(t, "GET", orders, "/dash/api/traces", token, "")
	var traces struct {
		Traces []struct {
			Root  string
			Error bool
		}
	}
	failed := false
	if code == http.StatusOK && json.Unmarshal(b, &traces) == nil {
		for _, tr := range traces.Traces {
			failed = failed || tr.Root == "POST /v1/orders" && tr.Error
		}
	}
	if !failed {
		t.Errorf("GET /dash/api/traces = %d %.500s, want a failed trace of POST /v1/orders", code, b)
	}

	// The shop's dashboard shows the same through its hub, which finds
	// the orders in the registry.
	dash := s.dash.ln.Addr().String()
	code, b = adminCall(t, "GET", dash, "/dash/api/targets", token, "")
	var targets struct {
		Targets []struct{ Service, Base string }
	}
	if code != http.StatusOK || json.Unmarshal(b, &targets) != nil {
		t.Fatalf("GET the dashboard's targets = %d %s", code, b)
	}
	var base string
	for _, tg := range targets.Targets {
		if tg.Service == "orders" {
			base = tg.Base
		}
	}
	code, b = adminCall(t, "GET", dash, "/dash/"+base+"/breakers", token, "")
	if base == "" || code != http.StatusOK || !strings.Contains(string(b), `{"name":"payments","state":"open"`) {
		t.Errorf("GET /dash/%s/breakers through the dashboard = %d %s, want the payments breaker open", base, code, b)
	}

	code, b = adminCall(t, "PUT", orders, "/dash/api/breakers/payments/override", token, `{"override":"force-closed"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"state":"closed"`) {
		t.Fatalf("PUT force-closed = %d %s, want 200 with the breaker closed", code, b)
	}
	if br := breakers()["payments"]; br.State != "closed" || br.Override != "force-closed" {
		t.Errorf("after the override the payments breaker = %+v, want closed by force", br)
	}
	if code, b := adminCall(t, "PUT", orders, "/dash/api/breakers/payments/override", "", `{"override":"auto"}`); code != http.StatusUnauthorized {
		t.Errorf("PUT without the token = %d %s, want 401", code, b)
	}

	// The orders placed are on the endpoints panel, the callees'
	// instances on the instances panel.
	code, b = adminCall(t, "GET", orders, "/dash/api/endpoints", token, "")
	if code != http.StatusOK || !strings.Contains(string(b), `"method":"POST","route":"/v1/orders"`) {
		t.Errorf("GET /dash/api/endpoints = %d %s, want the POSTs of orders listed under their route", code, b)
	}
	code, b = adminCall(t, "GET", orders, "/dash/api/instances", token, "")
	if code != http.StatusOK || !strings.Contains(string(b), `"service":"payments"`) || !strings.Contains(string(b), `"service":"inventory"`) {
		t.Errorf("GET /dash/api/instances = %d %s, want payments and inventory", code, b)
	}
	// The orders' calls to both are edges of the topology panel.
	code, b = adminCall(t, "GET", orders, "/dash/api/topology", token, "")
	if code != http.StatusOK || !strings.Contains(string(b), `"from":"orders","to":"payments"`) || !strings.Contains(string(b), `"from":"orders","to":"inventory"`) {
		t.Errorf("GET /dash/api/topology = %d %s, want edges orders → payments and orders → inventory", code, b)
	}
}
