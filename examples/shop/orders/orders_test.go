package orders

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/examples/shop/payments"
)

func TestPlaceOrderConfirms(t *testing.T) {
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	scarf := sh.product(t, "Scarf", 990, "EUR", 5)
	alice := sh.token(t, "alice")

	a := sh.do(t, "POST", "/v1/orders", alice, "k-1", `{"items":[{"product_id":"`+hat+`","quantity":2},{"product_id":"`+scarf+`","quantity":1}]}`)
	o := a.order(t, 201)
	if o.Status != Confirmed || o.Reason != "" || o.UserID != "alice" {
		t.Fatalf("order %+v, want confirmed for alice", o)
	}
	if o.Total != 2*1250+990 || o.Currency != "EUR" {
		t.Errorf("total %d %s, want %d EUR", o.Total, o.Currency, 2*1250+990)
	}
	want := []Line{{ProductID: hat, Quantity: 2, UnitPrice: 1250}, {ProductID: scarf, Quantity: 1, UnitPrice: 990}}
	if !slices.Equal(o.Items, want) {
		t.Errorf("items %+v, want %+v", o.Items, want)
	}
	if loc := a.header.Get("Location"); loc != "/v1/orders/"+o.ID {
		t.Errorf("Location %q, want /v1/orders/%s", loc, o.ID)
	}
	if av, res, sold := sh.stockOf(t, hat); av != 8 || res != 0 || sold != 2 {
		t.Errorf("hat stock available %d reserved %d sold %d, want 8 0 2", av, res, sold)
	}
	if got := sh.charged(t, o.ID); got[payments.Charged] != 1 || len(got) != 1 {
		t.Errorf("payments of the order %v, want one charged", got)
	}
	if got, want := sh.outboxSubjects(t, o.ID), []string{SubjectOrderPlaced, SubjectOrderConfirmed}; !slices.Equal(got, want) {
		t.Errorf("outbox %v, want %v", got, want)
	}

	got := sh.do(t, "GET", "/v1/orders/"+o.ID, alice, "", "").order(t, 200)
	var kinds []string
	for _, e := range got.History {
		kinds = append(kinds, e.Step+":"+e.Kind)
	}
	if want := []string{":started", "reserve:step_done", "charge:step_done", "confirm:step_done"}; !slices.Equal(kinds, want) {
		t.Errorf("history %v, want %v", kinds, want)
	}
}

func TestIdempotencyKey(t *testing.T) {
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	alice := sh.token(t, "alice")
	body := itemsBody(1, hat)

	first := sh.do(t, "POST", "/v1/orders", alice, "same", body).order(t, 201)
	again := sh.do(t, "POST", "/v1/orders", alice, "same", body)
	if o := again.order(t, 201); o.ID != first.ID {
		t.Errorf("the repeat placed order %s, want the first one, %s", o.ID, first.ID)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("the repeat was not answered from the store")
	}
	// A process that dies while placing an order loses the key's stored
	// answer; the repeat then runs again, and finds the order it placed.
	if _, err := sh.db.ExecContext(context.Background(), `DELETE FROM tailor_idempotency`); err != nil {
		t.Fatal(err)
	}
	rerun := sh.do(t, "POST", "/v1/orders", alice, "same", body)
	if o := rerun.order(t, 201); o.ID != first.ID || o.Status != Confirmed {
		t.Errorf("the repeat after its answer was lost: order %s %s, want the first one, %s, confirmed", o.ID, o.Status, first.ID)
	}
	if rerun.header.Get("Idempotent-Replayed") != "" {
		t.Error("the repeat after its answer was lost was a replay; want it run again")
	}
	if p := sh.do(t, "POST", "/v1/orders", alice, "same", itemsBody(2, hat)).problem(t, 422); !strings.Contains(p.Detail, "key") {
		t.Errorf("another body with the key: detail %q, want it to name the key", p.Detail)
	}
	if p := sh.do(t, "POST", "/v1/orders", alice, "", body).problem(t, 400); !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Errorf("no key: detail %q, want it to ask for an Idempotency-Key", p.Detail)
	}
	list := sh.do(t, "GET", "/v1/orders", alice, "", "")
	var l OrderList
	decode(t, list, &l)
	if len(l.Items) != 1 {
		t.Errorf("alice has %d orders, want 1", len(l.Items))
	}
	if av, _, sold := sh.stockOf(t, hat); av != 9 || sold != 1 {
		t.Errorf("hat available %d sold %d, want 9 and 1", av, sold)
	}
}

func TestOrdersAreTheirOwners(t *testing.T) {
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	alice, bob, admin := sh.token(t, "alice"), sh.token(t, "bob"), sh.token(t, "root", AdminRole)
	o := sh.do(t, "POST", "/v1/orders", alice, "a-1", itemsBody(1, hat)).order(t, 201)
	sh.do(t, "POST", "/v1/orders", bob, "b-1", itemsBody(1, hat)).order(t, 201)

	sh.do(t, "GET", "/v1/orders/"+o.ID, bob, "", "").problem(t, 404)
	sh.do(t, "GET", "/v1/orders/"+o.ID, "", "", "").problem(t, 401)
	if got := sh.do(t, "GET", "/v1/orders/"+o.ID, admin, "", "").order(t, 200); got.ID != o.ID {
		t.Errorf("admin read order %s, want %s", got.ID, o.ID)
	}
	var l OrderList
	decode(t, sh.do(t, "GET", "/v1/orders", bob, "", ""), &l)
	if len(l.Items) != 1 || l.Items[0].UserID != "bob" {
		t.Errorf("bob's list %+v, want his one order", l.Items)
	}
	l = OrderList{}
	decode(t, sh.do(t, "GET", "/v1/orders?limit=1", admin, "", ""), &l)
	if len(l.Items) != 1 || l.NextCursor == "" || l.Items[0].UserID != "bob" {
		t.Fatalf("admin's first page %+v, next %q; want bob's order, newest, and a cursor", l.Items, l.NextCursor)
	}
	next := l.NextCursor
	l = OrderList{}
	decode(t, sh.do(t, "GET", "/v1/orders?limit=1&cursor="+next, admin, "", ""), &l)
	if len(l.Items) != 1 || l.Items[0].ID != o.ID || l.NextCursor != "" {
		t.Errorf("admin's second page %+v, next %q; want alice's order and no cursor", l.Items, l.NextCursor)
	}
}

func TestPlaceOrderRefusesBadItems(t *testing.T) {
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	hatUSD := sh.product(t, "Cap", 1000, "USD", 10)
	alice := sh.token(t, "alice")
	for _, c := range []struct {
		name, body, field string
	}{
		{"no items", `{"items":[]}`, "items"},
		{"zero quantity", `{"items":[{"product_id":"` + hat + `","quantity":0}]}`, "items[0].quantity"},
		{"too many units", `{"items":[{"product_id":"` + hat + `","quantity":1001}]}`, "items[0].quantity"},
		{"twice", `{"items":[{"product_id":"` + hat + `","quantity":1},{"product_id":"` + hat + `","quantity":1}]}`, "items[1].product_id"},
		{"unknown product", `{"items":[{"product_id":"nope","quantity":1}]}`, "items[0].product_id"},
		{"two currencies", itemsBody(1, hat, hatUSD), "items[1].product_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := sh.do(t, "POST", "/v1/orders", alice, "key-"+strings.ReplaceAll(c.name, " ", "-"), c.body).problem(t, 422)
			if len(p.Violations) == 0 || p.Violations[0].Field != c.field {
				t.Errorf("violations %+v, want one on %s", p.Violations, c.field)
			}
		})
	}
	sh.do(t, "POST", "/v1/orders", alice, "bad-json", `{"items":`).problem(t, 400)
	sh.do(t, "POST", "/v1/orders", "", "anon", itemsBody(1, hat)).problem(t, 401)
	var n int
	if err := sh.db.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d orders recorded (%v), want none", n, err)
	}
}

// A lease shorter than the default still places orders, its steps' calls
// timed to fit within it; one too short for the saga's steps, or not
// longer than the wait, is refused saying what to change.
func TestLease(t *testing.T) {
	sh := newShop(t, withConfig(func(c *Config) { c.Lease = 20 * time.Second }))
	if got, want := sh.orders.step, 20*time.Second/12; got != want {
		t.Errorf("step timeout under a 20s lease: got %v, want %v", got, want)
	}
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	if o := sh.do(t, "POST", "/v1/orders", sh.token(t, "alice"), "k-1", itemsBody(1, hat)).order(t, 201); o.Status != Confirmed {
		t.Errorf("order under a 20s lease is %s (%s), want confirmed", o.Status, o.Reason)
	}

	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"too short", Config{Lease: 10 * time.Second, Wait: time.Second}, "Config.Lease of 10s is too short for the order's saga; lengthen it"},
		{"not longer than the wait", Config{Lease: 20 * time.Second, Wait: 20 * time.Second}, "Config.Wait (20s) is not shorter than Config.Lease (20s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Resolver = sh.reg
			s, err := NewService(sh.db, tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("NewService with %+v: no error, want one saying %q", tc.cfg, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewService: got %q, want it to say %q", err, tc.want)
			}
		})
	}
}
