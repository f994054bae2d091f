package gateway

import (
	"net/http"
	"slices"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/openapi"
)

// publicRoutes are the routes the gateway serves and documents, each
// "METHOD /path" as in the services' OpenAPI documents. GET /openapi.json
// serves the document itself.
var publicRoutes = func() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.pattern
	}
	return out
}()

// productPageRoute is the gateway's own operation, which replaces the
// catalog's.
const productPageRoute = "GET /v1/products/{id}"

// The public document's title and version.
const (
	DocTitle   = "tailor shop"
	DocVersion = "1.0.0"
)

// describeProductPage records the gateway's product page in doc.
func describeProductPage(doc *openapi.Document) {
	openapi.Route[catalog.GetProductRequest, ProductPage](doc, productPageRoute, openapi.Op{
		ID:      "getProduct",
		Summary: "Get one product with its stock and the summary of its reviews",
		Description: "The catalog's product, its members at the top level, with its stock from the inventory " +
			"and the summary of its reviews from the reviews service (`count`, and `average`, the mean rating rounded to one decimal, " +
			"absent when `count` is 0). " +
			"When a service is unavailable the answer is still 200 with what the others said, and `unavailable` names the missing ones: " +
			"without the catalog only `id`, `stock` and `reviews`; without the inventory `stock` is null; without the reviews service `reviews` is null. " +
			"With neither the catalog nor the inventory the answer is 503.",
		Tags:   []string{"catalog"},
		Errors: []int{http.StatusNotFound, http.StatusServiceUnavailable},
	})
}

// mergeDocs merges the operations of docs at the gateway's public routes, and its
// own product page, into the public document. It returns the routes no
// document describes.
func mergeDocs(docs []*openapi.Document) (*openapi.Document, []string, error) {
	own := openapi.New("gateway", DocVersion)
	describeProductPage(own)
	found := map[string]bool{productPageRoute: true}
	include := func(method, path string) bool {
		route := method + " " + path
		if route == productPageRoute || !slices.Contains(publicRoutes, route) {
			return false
		}
		found[route] = true
		return true
	}
	parts := []openapi.Part{{Doc: own}}
	for _, d := range docs {
		parts = append(parts, openapi.Part{Doc: d, Include: include})
	}
	doc, err := openapi.Merge(DocTitle, DocVersion, parts, openapi.WithDescription(
		"The shop's public API, served by its gateway. Every error is application/problem+json; "+
			"a service that cannot be reached is a 503 naming it, with Retry-After; "+
			"too many requests from one address or one user are a 429 with Retry-After."))
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, route := range publicRoutes {
		if !found[route] {
			missing = append(missing, route)
		}
	}
	return doc, missing, nil
}
