package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/resilience"
)

// Many orders at once for a product short of stock: exactly as many as
// there are units are confirmed, each charged once; the others are
// cancelled for the shortage, charged nothing; and no unit is lost or
// sold twice. An order whose saga outlasts the wait (the database takes
// one writer at a time) is answered 202 and read again once the sagas
// running in the background have ended.
func TestConcurrentOrdersNeverOversell(t *testing.T) {
	const orders, units = 200, 50
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", units)
	tok := sh.token(t, "alice")
	ids := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			a := sh.do(t, "POST", "/v1/orders", tok, fmt.Sprintf("order-%d", i), itemsBody(1, hat))
			if a.status != 202 {
				ids[i] = a.order(t, 201).ID
			} else {
				ids[i] = a.order(t, 202).ID
			}
		})
	}
	wg.Wait()
	sh.orders.runs.Wait()
	results := make([]Order, orders)
	for i, id := range ids {
		results[i] = sh.do(t, "GET", "/v1/orders/"+id, tok, "", "").order(t, 200)
	}
	confirmed := 0
	for _, o := range results {
		got := sh.charged(t, o.ID)
		switch o.Status {
		case Confirmed:
			confirmed++
			if got[payments.Charged] != 1 || len(got) != 1 {
				t.Errorf("confirmed order %s has payments %v, want one charged", o.ID, got)
			}
		case Cancelled:
			if want := `not enough stock of "Hat"`; o.Reason != want {
				t.Errorf("cancelled order %s has reason %q, want %q", o.ID, o.Reason, want)
			}
			if got[payments.Charged] != 0 || got[payments.Refunded] != 0 {
				t.Errorf("cancelled order %s has payments %v, want nothing taken", o.ID, got)
			}
		default:
			t.Errorf("order %s is %s, want confirmed or cancelled", o.ID, o.Status)
		}
	}
	if confirmed != units {
		t.Errorf("%d orders confirmed, want %d", confirmed, units)
	}
	if av, res, sold := sh.stockOf(t, hat); av+res+sold != units || sold != int64(confirmed) || res != 0 {
		t.Errorf("available %d + reserved %d + sold %d, want 0 + 0 + %d", av, res, sold, confirmed)
	}
}

// With half the charges declined, the declined orders are cancelled with
// their stock released and nothing taken, and the others confirmed.
func TestDeclinedPaymentsCancelOrders(t *testing.T) {
	const orders, units = 20, 100
	sh := newShop(t, withPayments(payments.WithFaults(payments.Faults{FailureRate: 0.5}), seeded(7)))
	hat := sh.product(t, "Hat", 1250, "EUR", units)
	tok := sh.token(t, "alice")
	confirmed, cancelled := 0, 0
	for i := range orders {
		o := sh.do(t, "POST", "/v1/orders", tok, fmt.Sprintf("order-%d", i), itemsBody(2, hat)).order(t, 201)
		got := sh.charged(t, o.ID)
		switch o.Status {
		case Confirmed:
			confirmed++
			if got[payments.Charged] != 1 || len(got) != 1 {
				t.Errorf("confirmed order %s has payments %v, want one charged", o.ID, got)
			}
		case Cancelled:
			cancelled++
			if o.Reason != reasonDeclined {
				t.Errorf("cancelled order %s has reason %q, want %q", o.ID, o.Reason, reasonDeclined)
			}
			if got[payments.Declined] != 1 || len(got) != 1 {
				t.Errorf("cancelled order %s has payments %v, want one declined", o.ID, got)
			}
			if subjects := sh.outboxSubjects(t, o.ID); len(subjects) != 2 || subjects[1] != SubjectOrderCancelled {
				t.Errorf("outbox of cancelled order %s: %v, want placed then cancelled", o.ID, subjects)
			}
		default:
			t.Errorf("order %s is %s, want confirmed or cancelled", o.ID, o.Status)
		}
	}
	if confirmed == 0 || cancelled == 0 {
		t.Fatalf("%d confirmed and %d cancelled; the seed should give both", confirmed, cancelled)
	}
	if av, res, sold := sh.stockOf(t, hat); av != units-2*int64(confirmed) || res != 0 || sold != 2*int64(confirmed) {
		t.Errorf("available %d reserved %d sold %d, want %d 0 %d", av, res, sold, units-2*confirmed, 2*confirmed)
	}
}

// With the payments service gone, orders are refused at once with a 503
// naming it, and nothing is recorded; once it is back, orders go through
// without a restart.
func TestPaymentsDownFailsFast(t *testing.T) {
	sh := newShop(t)
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	tok := sh.token(t, "alice")
	sh.stopPayments(t)
	sh.waitInstances(t, Payments, 0)

	began := time.Now()
	a := sh.do(t, "POST", "/v1/orders", tok, "down-1", itemsBody(1, hat))
	took := time.Since(began)
	p := a.problem(t, 503)
	if want := "payments is unavailable; try again shortly"; p.Detail != want || p.Kind != "unavailable" {
		t.Errorf("problem %+v, want kind unavailable and detail %q", p, want)
	}
	if a.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if took > time.Second {
		t.Errorf("the refusal took %v, want it at once", took)
	}
	var l OrderList
	decode(t, sh.do(t, "GET", "/v1/orders", tok, "", ""), &l)
	if len(l.Items) != 0 {
		t.Errorf("%d orders recorded, want none", len(l.Items))
	}

	sh.startPayments(t)
	sh.waitInstances(t, Payments, 1)
	if o := sh.do(t, "POST", "/v1/orders", tok, "down-1", itemsBody(1, hat)).order(t, 201); o.Status != Confirmed {
		t.Errorf("order with payments back is %s (%s), want confirmed", o.Status, o.Reason)
	}
}

// An order whose saga outlasts the wait is answered 202 pending; when the
// process stops before the saga ends, the Recovery of the next one
// finishes it: confirmed, charged once.
func TestRecoveryFinishesPendingOrder(t *testing.T) {
	sh := newShop(t,
		withPayments(payments.WithFaults(payments.Faults{LatencyMS: 2000})),
		withConfig(func(c *Config) { c.Wait = 300 * time.Millisecond }))
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	tok := sh.token(t, "alice")
	a := sh.do(t, "POST", "/v1/orders", tok, "slow-1", itemsBody(1, hat))
	o := a.order(t, 202)
	if o.Status != Pending || a.header.Get("Location") != "/v1/orders/"+o.ID {
		t.Fatalf("order %+v at %q, want pending at its Location", o, a.header.Get("Location"))
	}
	ctx := context.Background()
	sh.restart(t) // cuts the charge short: the payments service takes nothing
	if p := sh.charged(t, o.ID); len(p) != 0 {
		t.Fatalf("payments %v before the recovery, want none", p)
	}
	if _, err := sh.pay.SetFaults(ctx, payments.Faults{}); err != nil {
		t.Fatal(err)
	}
	n, err := sh.orders.Recovery().RecoverPending(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverPending = %d, %v; want 1 saga", n, err)
	}
	got := sh.do(t, "GET", "/v1/orders/"+o.ID, tok, "", "").order(t, 200)
	if got.Status != Confirmed {
		t.Fatalf("order is %s (%s) after recovery, want confirmed", got.Status, got.Reason)
	}
	if p := sh.charged(t, o.ID); p[payments.Charged] != 1 || len(p) != 1 {
		t.Errorf("payments %v, want one charged", p)
	}
	if av, res, sold := sh.stockOf(t, hat); av != 9 || res != 0 || sold != 1 {
		t.Errorf("available %d reserved %d sold %d, want 9 0 1", av, res, sold)
	}
}

// With the payments service registered but not answering, the first
// order trips its breaker and stays pending, refunding nothing it could
// not reach; while the breaker is open every further order is refused
// at once with a 503 and nothing recorded. Once the service is back, new
// orders go through, and the Recovery cancels the pending one, charging
// nothing.
func TestPaymentsBreakerFailsFast(t *testing.T) {
	sh := newShop(t, withConfig(func(c *Config) {
		c.Wait = 500 * time.Millisecond
		c.Breaker = resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 2 * time.Second}
	}))
	hat := sh.product(t, "Hat", 1250, "EUR", 10)
	tok := sh.token(t, "alice")
	dead := sh.payInst
	sh.paySrv.Close() // still registered: only calls find it gone

	first := sh.do(t, "POST", "/v1/orders", tok, "first", itemsBody(1, hat)).order(t, 202)
	began := time.Now()
	p := sh.do(t, "POST", "/v1/orders", tok, "second", itemsBody(1, hat)).problem(t, 503)
	if took := time.Since(began); took > 200*time.Millisecond {
		t.Errorf("the refusal took %v, want it at once", took)
	}
	if want := "payments is unavailable; try again shortly"; p.Detail != want {
		t.Errorf("detail %q, want %q", p.Detail, want)
	}
	var l OrderList
	decode(t, sh.do(t, "GET", "/v1/orders", tok, "", ""), &l)
	if len(l.Items) != 1 {
		t.Errorf("%d orders recorded, want only the first", len(l.Items))
	}

	sh.startPayments(t)
	if err := sh.reg.Deregister(context.Background(), dead); err != nil {
		t.Fatal(err)
	}
	sh.waitInstances(t, Payments, 1)
	// The breaker lets a probe through once its open timeout has passed;
	// nothing announces that moment, so this is a bounded wait.
	deadline := time.Now().Add(10 * time.Second)
	for sh.orders.calls.payments.breaker.State() == resilience.StateOpen {
		if time.Now().After(deadline) {
			t.Fatal("the payments breaker stayed open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if o := sh.do(t, "POST", "/v1/orders", tok, "third", itemsBody(1, hat)).order(t, 201); o.Status != Confirmed {
		t.Errorf("order with payments back is %s (%s), want confirmed", o.Status, o.Reason)
	}
	// The first order's saga retries its refund in the background, backing
	// off; a restart hands it to the Recovery at once.
	sh.restart(t)
	if _, err := sh.orders.Recovery().RecoverPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sh.do(t, "GET", "/v1/orders/"+first.ID, tok, "", "").order(t, 200)
	if got.Status != Cancelled || got.Reason != "payments unavailable" {
		t.Errorf("the first order is %s (%q), want cancelled for payments unavailable", got.Status, got.Reason)
	}
	if p := sh.charged(t, first.ID); p[payments.Charged] != 0 || p[payments.Refunded] != 0 {
		t.Errorf("the first order's payments %v, want nothing taken", p)
	}
	if av, res, sold := sh.stockOf(t, hat); av != 9 || res != 0 || sold != 1 {
		t.Errorf("available %d reserved %d sold %d, want 9 0 1", av, res, sold)
	}
}
