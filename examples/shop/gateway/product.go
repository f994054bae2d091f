package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// ProductPage is the answer of GET /v1/products/{id}: the catalog's
// product, its fields at the top level, with its stock from the
// inventory. When a service is unavailable the page is still given with
// what the other said, and Unavailable names the one missing:
//
//	{"id": "…", "name": "Mug", …, "stock": {"available": 3}}
//	{"id": "…", "name": "Mug", …, "stock": null, "unavailable": ["inventory"]}
//	{"id": "…", "stock": {"available": 3}, "unavailable": ["catalog"]}
type ProductPage struct {
	// ID is the product's ID, as asked for.
	ID string `json:"id"`
	// Product is the catalog's product; nil, and its fields absent, when
	// the catalog is unavailable.
	*catalog.Product
	// Stock is the product's stock; null when the inventory is
	// unavailable.
	Stock *Availability `json:"stock"`
	// Unavailable names the services whose part of the page is missing.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Availability is how many units of a product the inventory can sell now. A
// product the inventory has not heard of yet has none.
type Availability struct {
	Available int64 `json:"available"`
}

// productPage serves GET /v1/products/{id}: it asks the catalog for the
// product and the inventory for its stock at once, and answers with both,
// or with what it has (see ProductPage). The catalog's answers other than
// 200, such as 404 for a product that does not exist, are passed on as
// they are; an inventory's 404 is a stock of zero. With neither service
// available the answer is 503.
func (g *Gateway) productPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := resilience.WithIdempotent(r.Context())
	var (
		wg                   sync.WaitGroup
		product, stock       *answer
		productErr, stockErr error
	)
	wg.Go(func() { product, productErr = g.get(ctx, CatalogService, "/v1/products/"+url.PathEscape(id), r) })
	wg.Go(func() { stock, stockErr = g.get(ctx, InventoryService, "/v1/stock/"+url.PathEscape(id), r) })
	wg.Wait()

	page := ProductPage{ID: id}
	if productErr == nil {
		if product.status != http.StatusOK {
			writeAnswer(w, product)
			return
		}
		page.Product, productErr = decodeProduct(product.body)
	}
	if stockErr == nil {
		page.Stock, stockErr = readStock(stock)
	}
	if productErr != nil && stockErr != nil {
		g.unavailable(w, r, errors.Join(productErr, stockErr), CatalogService, InventoryService)
		return
	}
	if productErr != nil {
		g.log.WarnContext(r.Context(), "gateway: product page without the catalog's part", "peer.service", CatalogService, "error", productErr)
		page.Unavailable = append(page.Unavailable, CatalogService)
	}
	if stockErr != nil {
		g.log.WarnContext(r.Context(), "gateway: product page without the inventory's part", "peer.service", InventoryService, "error", stockErr)
		page.Unavailable = append(page.Unavailable, InventoryService)
	}
	_ = thttp.EncodeJSON(http.StatusOK)(r.Context(), w, page) // the status is sent; a write error means the client left
}

// get calls GET target on service with r's headers. An answer of 5xx is
// an error, as for every route.
func (g *Gateway) get(ctx context.Context, service, target string, r *http.Request) (*answer, error) {
	req := newUpstreamRequest(r, nil)
	req.target = target
	response, err := g.call[service](ctx, req)
	if err != nil {
		return nil, err
	}
	return response.(*answer), nil
}

// decodeProduct reads the catalog's answer of GET /v1/products/{id}.
func decodeProduct(body []byte) (*catalog.Product, error) {
	p := new(catalog.Product)
	if err := json.Unmarshal(body, p); err != nil {
		return nil, fmt.Errorf("the catalog's product is not JSON for catalog.Product: %w", err)
	}
	if p.ID == "" {
		return nil, errors.New("the catalog's product has no id")
	}
	return p, nil
}

// readStock reads the inventory's answer of GET /v1/stock/{id}: 200 with
// {"available": n}, or 404 for a product it has not heard of, which has
// none.
func readStock(a *answer) (*Availability, error) {
	switch a.status {
	case http.StatusNotFound:
		return &Availability{}, nil
	case http.StatusOK:
		return decodeStock(a.body)
	}
	return nil, fmt.Errorf("the inventory answered %d %s", a.status, http.StatusText(a.status))
}

// decodeStock reads {"available": n}; other members are ignored.
func decodeStock(body []byte) (*Availability, error) {
	var s struct {
		Available *int64 `json:"available"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("the inventory's stock is not JSON: %w", err)
	}
	if s.Available == nil {
		return nil, errors.New("the inventory's stock has no \"available\" member")
	}
	return &Availability{Available: *s.Available}, nil
}
