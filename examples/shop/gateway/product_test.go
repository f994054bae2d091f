package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const (
	productID   = "0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70"
	productJSON = `{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z"}`
)

// catalogHandler answers the product, and 404 for any other id.
func catalogHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/products/"+productID {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"no product has that id","kind":"not_found"}`))
		return
	}
	answerJSON(http.StatusOK, productJSON)(w, r)
}

// inventoryHandler answers 3 available for the product, and 404 for
// others.
func inventoryHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/stock/"+productID {
		answerJSON(http.StatusNotFound, `{"status":404,"kind":"not_found"}`)(w, r)
		return
	}
	answerJSON(http.StatusOK, `{"product_id":"`+productID+`","available":3}`)(w, r)
}

func TestProductPage(t *testing.T) {
	failing := answerJSON(http.StatusServiceUnavailable, `{"status":503}`)
	tests := []struct {
		name               string
		catalog, inventory http.HandlerFunc // nil: no instance registered
		path               string
		status             int
		want               string // the JSON answer
	}{
		{"both up", catalogHandler, inventoryHandler, productID, 200,
			`{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":{"available":3}}`},
		{"inventory not registered", catalogHandler, nil, productID, 200,
			`{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":null,"unavailable":["inventory"]}`},
		{"inventory failing", catalogHandler, failing, productID, 200,
			`{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":null,"unavailable":["inventory"]}`},
		{"inventory answers garbage", catalogHandler, answerJSON(200, `{"count":3}`), productID, 200,
			`{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":null,"unavailable":["inventory"]}`},
		{"catalog not registered", nil, inventoryHandler, productID, 200,
			`{"id":"` + productID + `","stock":{"available":3},"unavailable":["catalog"]}`},
		{"catalog failing", failing, inventoryHandler, productID, 200,
			`{"id":"` + productID + `","stock":{"available":3},"unavailable":["catalog"]}`},
		{"inventory has not heard of it", catalogHandler, func(w http.ResponseWriter, r *http.Request) {
			answerJSON(http.StatusNotFound, `{"status":404,"kind":"not_found"}`)(w, r)
		}, productID, 200,
			`{"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":{"available":0}}`},
		{"no such product", catalogHandler, inventoryHandler, "nope", 404,
			`{"title":"Not Found","status":404,"detail":"no product has that id","kind":"not_found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.catalog != nil {
				startUpstream(t, h.reg, CatalogService, "catalog-1", tt.catalog)
			}
			if tt.inventory != nil {
				startUpstream(t, h.reg, InventoryService, "inventory-1", tt.inventory)
			}
			h.start(t, unlimited)
			resp, body := h.do(t, "GET", "/v1/products/"+tt.path, "")
			if resp.StatusCode != tt.status || string(body) != tt.want && strings.TrimSpace(string(body)) != tt.want {
				t.Fatalf("got %d %s\nwant %d %s", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
}

// With neither service the page is a 503 naming both.
func TestProductPageWithoutEitherService(t *testing.T) {
	h := newHarness(t).start(t, unlimited)
	resp, body := h.do(t, "GET", "/v1/products/"+productID, "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", resp.StatusCode, body)
	}
	if p := problem(t, resp, body); p.Detail != "catalog and inventory are unavailable; try again shortly" {
		t.Errorf("detail %q, want both services named", p.Detail)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Error("no Retry-After")
	}
}

// The page asks both services at once: each holds its answer until the
// other has been asked.
func TestProductPageCallsConcurrently(t *testing.T) {
	h := newHarness(t)
	catalogAsked, inventoryAsked := make(chan struct{}), make(chan struct{})
	startUpstream(t, h.reg, CatalogService, "catalog-1", func(w http.ResponseWriter, r *http.Request) {
		close(catalogAsked)
		select {
		case <-inventoryAsked:
			catalogHandler(w, r)
		case <-r.Context().Done():
		}
	})
	startUpstream(t, h.reg, InventoryService, "inventory-1", func(w http.ResponseWriter, r *http.Request) {
		close(inventoryAsked)
		select {
		case <-catalogAsked:
			inventoryHandler(w, r)
		case <-r.Context().Done():
		}
	})
	h.start(t, unlimited)
	resp, body := h.do(t, "GET", "/v1/products/"+productID, "")
	var page ProductPage
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || page.Product == nil || page.Stock == nil || page.Stock.Available != 3 {
		t.Fatalf("got %d %s, want the whole page", resp.StatusCode, body)
	}
}
