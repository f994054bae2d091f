package orders

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// One order after another, end to end over loopback: the catalog read,
// the order's transaction, and the saga's calls to the inventory and the
// payments service, each service on its own SQLite database. It reports
// the median and the 99th percentile of the orders' latency.
func BenchmarkPlaceOrder(b *testing.B) {
	sh := newShop(b)
	hat := sh.product(b, "Hat", 1250, "EUR", 1_000_000)
	tok := sh.token(b, "alice")
	body := itemsBody(1, hat)
	took := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		began := time.Now()
		if a := sh.do(b, "POST", "/v1/orders", tok, fmt.Sprintf("bench-%d", i), body); a.status != 201 {
			b.Fatalf("status %d: %s", a.status, a.body)
		}
		took = append(took, time.Since(began))
		i++
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
