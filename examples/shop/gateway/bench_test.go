package gateway

import (
	"io"
	"net/http"
	"testing"

	thttp "github.com/tailorkit/tailor/transport/http"
)

// BenchmarkProxy measures what the gateway adds to a call, side by side
// in one run: direct is a client calling a service's instance for a small
// JSON answer (a catalog product); gateway is the same call through the
// gateway (rate limits, token check, discovery, balancer, breaker,
// policy, one more hop); product-page is the gateway's product page,
// which calls the catalog, the inventory and the reviews service at once
// and joins their answers. The client runs in the benchmark's process,
// beside the gateway and the services, so the figures are latencies of
// whole calls, not the server's cost per request: for that, run the shop
// alone on one core (GOMAXPROCS=1 taskset -c 0 shop -ip-rate -1
// -user-rate -1) and wrk on the other against the gateway's
// GET /v1/products and the catalog's own.
func BenchmarkProxy(b *testing.B) {
	h := newHarness(b)
	direct := serveInstance(b, h.reg, CatalogService, "catalog-1", answerJSON(http.StatusOK, productJSON))
	serveInstance(b, h.reg, InventoryService, "inventory-1", http.HandlerFunc(inventoryHandler))
	serveInstance(b, h.reg, ReviewsService, "reviews-1", http.HandlerFunc(reviewsHandler))
	h.start(b, unlimited)
	client := &http.Client{Transport: thttp.NewTransport()}

	run := func(b *testing.B, url string) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("got %d, want 200", resp.StatusCode)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, direct+"/v1/products/"+productID) })
	b.Run("gateway", func(b *testing.B) { run(b, h.url+"/v1/products") })
	b.Run("product-page", func(b *testing.B) { run(b, h.url+"/v1/products/"+productID) })
}
