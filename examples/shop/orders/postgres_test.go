package orders

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/tailorkit/tailor/internal/testenv"
)

// The orders' own database on PostgreSQL: orders at once for a product
// short of stock end confirmed as many times as there are units, the
// others cancelled, with the events of each in the outbox.
func TestPostgres(t *testing.T) {
	testenv.Short(t, "the PostgreSQL test")
	open := testenv.Postgres(t, "orders")
	sh := newShop(t, withDB(func(t testing.TB) *sql.DB {
		db := open()
		t.Cleanup(func() { db.Close() })
		return db
	}))
	const orders, units = 20, 5
	hat := sh.product(t, "Hat", 1250, "EUR", units)
	tok := sh.token(t, "alice")
	results := make([]Order, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			results[i] = sh.do(t, "POST", "/v1/orders", tok, fmt.Sprintf("pg-%d", i), itemsBody(1, hat)).order(t, 201)
		})
	}
	wg.Wait()
	count := map[Status]int{}
	for _, o := range results {
		count[o.Status]++
		last := map[Status]string{Confirmed: SubjectOrderConfirmed, Cancelled: SubjectOrderCancelled}[o.Status]
		if s := sh.outboxSubjects(t, o.ID); len(s) != 2 || s[0] != SubjectOrderPlaced || s[1] != last {
			t.Errorf("outbox of %s order %s: %v", o.Status, o.ID, s)
		}
	}
	if count[Confirmed] != units || count[Cancelled] != orders-units {
		t.Errorf("statuses %v, want %d confirmed and %d cancelled", count, units, orders-units)
	}
	got := sh.do(t, "GET", "/v1/orders?limit=100", tok, "", "")
	var l OrderList
	decode(t, got, &l)
	if len(l.Items) != orders {
		t.Errorf("listed %d orders, want %d", len(l.Items), orders)
	}
}
