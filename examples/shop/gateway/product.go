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
// inventory and the summary of its reviews from the reviews service.
// When a service is unavailable the page is still given with what the
// others said, and Unavailable names the ones missing:
//
//	{"id": "…", "name": "Mug", …, "stock": {"available": 3}, "reviews": {"count": 2, "average": 4.5}}
//	{"id": "…", "name": "Mug", …, "stock": null, "reviews": {"count": 0}, "unavailable": ["inventory"]}
//	{"id": "…", "name": "Mug", …, "stock": {"available": 3}, "reviews": null, "unavailable": ["reviews"]}
//	{"id": "…", "stock": {"available": 3}, "reviews": {"count": 0}, "unavailable": ["catalog"]}
type ProductPage struct {
	// ID is the product's ID, as asked for.
	ID string `json:"id"`
	// Product is the catalog's product; nil, and its fields absent, when
	// the catalog is unavailable.
	*catalog.Product
	// Stock is the product's stock; null when the inventory is
	// unavailable.
	Stock *Availability `json:"stock"`
	// Reviews sums up the product's reviews; null when the reviews service
	// is unavailable.
	Reviews *ReviewSummary `json:"reviews"`
	// Unavailable names the services whose part of the page is missing,
	// in the order catalog, inventory, reviews.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Availability is how many units of a product the inventory can sell now. A
// product the inventory has not heard of yet has none.
type Availability struct {
	Available int64 `json:"available"`
}

// ReviewSummary sums up a product's reviews. A product without reviews,
// or one the reviews service has not heard of, has a Count of 0 and no
// Average.
type ReviewSummary struct {
	// Count is how many reviews the product has.
	Count int64 `json:"count"`
	// Average is the mean rating, 1 to 5 rounded to one decimal (4.3);
	// absent when Count is 0.
	Average float64 `json:"average,omitempty" jsonschema:"minimum=1,maximum=5"`
}

// productPage serves GET /v1/products/{id}: it asks the catalog for the
// product, the inventory for its stock and the reviews service for the
// summary of its reviews at once, and answers with all three, or with
// what it has (see ProductPage). The catalog's answers other than 200,
// such as 404 for a product that does not exist, are passed on as they
// are; an inventory's 404 is a stock of zero, and a reviews service's 404
// a count of zero. Reviews alone do not make a page: with neither the
// catalog nor the inventory available the answer is 503.
func (g *Gateway) productPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := resilience.WithIdempotent(r.Context())
	var (
		wg                              sync.WaitGroup
		product, stock, rating          *answer
		productErr, stockErr, ratingErr error
	)
	wg.Go(func() { product, productErr = g.get(ctx, CatalogService, "/v1/products/"+url.PathEscape(id), r) })
	wg.Go(func() { stock, stockErr = g.get(ctx, InventoryService, "/v1/stock/"+url.PathEscape(id), r) })
	wg.Go(func() {
		rating, ratingErr = g.get(ctx, ReviewsService, "/v1/products/"+url.PathEscape(id)+"/reviews/summary", r)
	})
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
	if ratingErr == nil {
		page.Reviews, ratingErr = readReviews(rating)
	}
	if productErr != nil && stockErr != nil {
		g.unavailable(w, r, errors.Join(productErr, stockErr), CatalogService, InventoryService)
		return
	}
	for _, part := range []struct {
		service string
		err     error
	}{{CatalogService, productErr}, {InventoryService, stockErr}, {ReviewsService, ratingErr}} {
		if part.err != nil {
			g.log.WarnContext(r.Context(), "gateway: product page without a service's part", "peer.service", part.service, "error", part.err)
			page.Unavailable = append(page.Unavailable, part.service)
		}
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

// readReviews reads the reviews service's answer of
// GET /v1/products/{id}/reviews/summary: 200 with {"count": n,
// "average": a}, or 404, which has none.
func readReviews(a *answer) (*ReviewSummary, error) {
	switch a.status {
	case http.StatusNotFound:
		return &ReviewSummary{}, nil
	case http.StatusOK:
		return decodeReviews(a.body)
	}
	return nil, fmt.Errorf("the reviews service answered %d %s", a.status, http.StatusText(a.status))
}

// decodeReviews reads {"count": n, "average": a}, with a count of 0 or
// more and an average, when there is one, of 1 to 5; other members are
// ignored, and a missing average is none.
func decodeReviews(body []byte) (*ReviewSummary, error) {
	var s struct {
		Count   *int64  `json:"count"`
		Average float64 `json:"average"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("the reviews summary is not JSON: %w", err)
	}
	if s.Count == nil || *s.Count < 0 {
		return nil, errors.New("the reviews summary has no \"count\" member of 0 or more")
	}
	if s.Average != 0 && (s.Average < 1 || s.Average > 5) {
		return nil, fmt.Errorf("the reviews summary's average is %v, outside 1 to 5", s.Average)
	}
	return &ReviewSummary{Count: *s.Count, Average: s.Average}, nil
}
