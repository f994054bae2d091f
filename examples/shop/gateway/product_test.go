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

// reviewsHandler answers two reviews averaging 4.5 for the product, and
// none for others, as the reviews service does.
func reviewsHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/products/"+productID+"/reviews/summary" {
		answerJSON(http.StatusOK, `{"count":0,"ratings":[0,0,0,0,0]}`)(w, r)
		return
	}
	answerJSON(http.StatusOK, `{"count":2,"average":4.5,"ratings":[0,0,0,1,1]}`)(w, r)
}

func TestProductPage(t *testing.T) {
	failing := answerJSON(http.StatusServiceUnavailable, `{"status":503}`)
	const (
		product = `"id":"` + productID + `","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z"`
		stock   = `"stock":{"available":3}`
		rated   = `"reviews":{"count":2,"average":4.5}`
	)
	tests := []struct {
		name                        string
		catalog, inventory, reviews http.HandlerFunc // nil: no instance registered
		path                        string
		status                      int
		want                        string // the JSON answer
	}{
		{"all up", catalogHandler, inventoryHandler, reviewsHandler, productID, 200,
			`{` + product + `,` + stock + `,` + rated + `}`},
		{"inventory not registered", catalogHandler, nil, reviewsHandler, productID, 200,
			`{` + product + `,"stock":null,` + rated + `,"unavailable":["inventory"]}`},
		{"inventory failing", catalogHandler, failing, reviewsHandler, productID, 200,
			`{` + product + `,"stock":null,` + rated + `,"unavailable":["inventory"]}`},
		{"inventory answers garbage", catalogHandler, answerJSON(200, `{"count":3}`), reviewsHandler, productID, 200,
			`{` + product + `,"stock":null,` + rated + `,"unavailable":["inventory"]}`},
		{"catalog not registered", nil, inventoryHandler, reviewsHandler, productID, 200,
			`{"id":"` + productID + `",` + stock + `,` + rated + `,"unavailable":["catalog"]}`},
		{"catalog failing", failing, inventoryHandler, reviewsHandler, productID, 200,
			`{"id":"` + productID + `",` + stock + `,` + rated + `,"unavailable":["catalog"]}`},
		{"reviews not registered", catalogHandler, inventoryHandler, nil, productID, 200,
			`{` + product + `,` + stock + `,"reviews":null,"unavailable":["reviews"]}`},
		{"reviews failing", catalogHandler, inventoryHandler, failing, productID, 200,
			`{` + product + `,` + stock + `,"reviews":null,"unavailable":["reviews"]}`},
		{"reviews answer garbage", catalogHandler, inventoryHandler, answerJSON(200, `{"available":3}`), productID, 200,
			`{` + product + `,` + stock + `,"reviews":null,"unavailable":["reviews"]}`},
		{"only the catalog", catalogHandler, nil, nil, productID, 200,
			`{` + product + `,"stock":null,"reviews":null,"unavailable":["inventory","reviews"]}`},
		{"only the reviews", nil, nil, reviewsHandler, productID, 503, ""},
		{"inventory has not heard of it", catalogHandler, func(w http.ResponseWriter, r *http.Request) {
			answerJSON(http.StatusNotFound, `{"status":404,"kind":"not_found"}`)(w, r)
		}, reviewsHandler, productID, 200,
			`{` + product + `,"stock":{"available":0},` + rated + `}`},
		{"no reviews yet", catalogHandler, inventoryHandler, answerJSON(200, `{"count":0,"ratings":[0,0,0,0,0]}`), productID, 200,
			`{` + product + `,` + stock + `,"reviews":{"count":0}}`},
		{"reviews service has not heard of it", catalogHandler, inventoryHandler, answerJSON(http.StatusNotFound, `{"status":404}`), productID, 200,
			`{` + product + `,` + stock + `,"reviews":{"count":0}}`},
		{"no such product", catalogHandler, inventoryHandler, reviewsHandler, "nope", 404,
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
			if tt.reviews != nil {
				startUpstream(t, h.reg, ReviewsService, "reviews-1", tt.reviews)
			}
			h.start(t, unlimited)
			resp, body := h.do(t, "GET", "/v1/products/"+tt.path, "")
			if resp.StatusCode != tt.status || tt.want != "" && strings.TrimSpace(string(body)) != tt.want {
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

// The page asks the three services at once: each holds its answer until
// the other two have been asked.
func TestProductPageCallsConcurrently(t *testing.T) {
	h := newHarness(t)
	asked := map[string]chan struct{}{CatalogService: make(chan struct{}), InventoryService: make(chan struct{}), ReviewsService: make(chan struct{})}
	for service, answer := range map[string]http.HandlerFunc{CatalogService: catalogHandler, InventoryService: inventoryHandler, ReviewsService: reviewsHandler} {
		startUpstream(t, h.reg, service, service+"-1", func(w http.ResponseWriter, r *http.Request) {
			close(asked[service])
			for other, ch := range asked {
				if other == service {
					continue
				}
				select {
				case <-ch:
				case <-r.Context().Done():
					return
				}
			}
			answer(w, r)
		})
	}
	h.start(t, unlimited)
	resp, body := h.do(t, "GET", "/v1/products/"+productID, "")
	var page ProductPage
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || page.Product == nil ||
		page.Stock == nil || page.Stock.Available != 3 || page.Reviews == nil || *page.Reviews != (ReviewSummary{Count: 2, Average: 4.5}) {
		t.Fatalf("got %d %s, want the whole page", resp.StatusCode, body)
	}
}
