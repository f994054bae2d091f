package payments_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/sqlite"
)

// newService returns payments over a fresh SQLite file, and its database.
func newService(t testing.TB, opts ...payments.Option) (*payments.Service, *sql.DB) {
	t.Helper()
	db, err := sqlite.Open(t.TempDir() + "/payments.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return migrated(t, db, opts...), db
}

// migrated migrates db and returns payments over it.
func migrated(t testing.TB, db *sql.DB, opts ...payments.Option) *payments.Service {
	t.Helper()
	if err := payments.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := payments.NewService(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// databases lists the two databases the payments run on, each as a
// function that makes a fresh one and returns a way to open handles on
// it, each handle its own pool, as separate instances of the service
// would have.
func databases() []struct {
	name  string
	fresh func(t testing.TB) func() *sql.DB
} {
	return []struct {
		name  string
		fresh func(t testing.TB) func() *sql.DB
	}{
		{"sqlite", func(t testing.TB) func() *sql.DB {
			path := t.TempDir() + "/payments.db"
			return func() *sql.DB {
				db, err := sqlite.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		}},
		{"postgres", func(t testing.TB) func() *sql.DB { return testenv.Postgres(t, "payments") }},
	}
}

// wantKind fails unless err is a *fault.Error of kind with HTTP status
// status whose detail contains every one of words.
func wantKind(t testing.TB, err error, kind fault.Kind, status int, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (%d)", kind, status)
	}
	fe := fault.As(err)
	if fe.Kind != kind || fe.HTTPStatus() != status {
		t.Fatalf("got %v (%d): %v; want %v (%d)", fe.Kind, fe.HTTPStatus(), err, kind, status)
	}
	for _, w := range words {
		if !strings.Contains(fe.Detail, w) {
			t.Errorf("detail %q does not say %q", fe.Detail, w)
		}
	}
}

// rows counts the payments recorded under key.
func rows(t testing.TB, db *sql.DB, key string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM payments WHERE payment_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func charge(key, order string, amount int64) payments.ChargeRequest {
	return payments.ChargeRequest{Key: key, OrderID: order, UserID: "user-1", Amount: amount, Currency: "EUR"}
}

// A charge goes to charged, then refunded, and stays there; a declined
// charge stays declined; a key refunded first is void. Every repeat
// answers the same, every reuse of a key for something else is a 409.
func TestPaymentLifecycle(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			testPaymentLifecycle(t, d.fresh(t)())
		})
	}
}

func testPaymentLifecycle(t *testing.T, db *sql.DB) {
	ctx := context.Background()
	s := migrated(t, db)

	// Charge, and repeat: the same payment, one row.
	first, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 1250))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Key != "saga-1/charge" || first.OrderID != "order-1" || first.UserID != "user-1" ||
		first.Amount != 1250 || first.Currency != "EUR" || first.Status != payments.Charged || first.CreatedAt.IsZero() {
		t.Fatalf("charge = %+v", first)
	}
	again, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 1250))
	if err != nil || again != first {
		t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
	}
	if got, err := s.GetPayment(ctx, "saga-1/charge"); err != nil || got != first {
		t.Fatalf("GetPayment = %+v, %v; want %+v", got, err, first)
	}
	// The key with another request is a conflict, whatever differs.
	for name, req := range map[string]payments.ChargeRequest{
		"amount":   charge("saga-1/charge", "order-1", 1251),
		"order":    charge("saga-1/charge", "order-2", 1250),
		"user":     {Key: "saga-1/charge", OrderID: "order-1", UserID: "user-2", Amount: 1250, Currency: "EUR"},
		"currency": {Key: "saga-1/charge", OrderID: "order-1", UserID: "user-1", Amount: 1250, Currency: "USD"},
	} {
		_, err := s.Charge(ctx, req)
		wantKind(t, err, fault.Conflict, http.StatusConflict, `"saga-1/charge"`, "another charge")
		if t.Failed() {
			t.Fatalf("with another %s", name)
		}
	}

	// Refund, and repeat: refunded once.
	for i := range 2 {
		p, err := s.Refund(ctx, payments.RefundRequest{Key: "saga-1/charge", OrderID: "order-1"})
		if err != nil || p.ID != first.ID || p.Status != payments.Refunded || p.Amount != 1250 || p.UpdatedAt.Before(first.UpdatedAt) {
			t.Fatalf("refund #%d = %+v, %v; want %s refunded", i+1, p, err, first.ID)
		}
	}
	// A repeat of the charge answers the payment as it is now.
	if p, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 1250)); err != nil || p.Status != payments.Refunded {
		t.Fatalf("charge after refund = %+v, %v; want the refunded payment", p, err)
	}
	_, err = s.Refund(ctx, payments.RefundRequest{Key: "saga-1/charge", OrderID: "order-2"})
	wantKind(t, err, fault.Conflict, http.StatusConflict, `"saga-1/charge"`, `"order-1"`)

	// A declined charge stays declined: repeats answer the same decline,
	// with the failure rate back at 0, and a refund changes nothing.
	if _, err := s.SetFaults(ctx, payments.Faults{FailureRate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Charge(ctx, charge("saga-2/charge", "order-2", 990))
	wantKind(t, err, fault.FailedPrecondition, http.StatusPaymentRequired, "card declined", `"saga-2/charge"`, "990 minor units of EUR")
	if _, err := s.SetFaults(ctx, payments.Faults{}); err != nil {
		t.Fatal(err)
	}
	_, again2 := s.Charge(ctx, charge("saga-2/charge", "order-2", 990))
	if fault.As(again2).Detail != fault.As(err).Detail {
		t.Errorf("repeat of a decline = %v, want %v", again2, err)
	}
	if fault.KindOf(err).Retryable() {
		t.Error("a decline is retryable, want it final")
	}
	for range 2 {
		if p, err := s.Refund(ctx, payments.RefundRequest{Key: "saga-2/charge", OrderID: "order-2"}); err != nil || p.Status != payments.Declined {
			t.Fatalf("refund of a decline = %+v, %v; want it declined, unchanged", p, err)
		}
	}
	_, err = s.Charge(ctx, charge("saga-2/charge", "order-2", 990))
	wantKind(t, err, fault.FailedPrecondition, http.StatusPaymentRequired, "card declined")

	// A refund before the charge voids the key: the late charge is
	// refused, and nothing is taken.
	for i := range 2 {
		p, err := s.Refund(ctx, payments.RefundRequest{Key: "saga-3/charge", OrderID: "order-3"})
		if err != nil || p.Status != payments.Voided || p.Key != "saga-3/charge" || p.OrderID != "order-3" || p.Amount != 0 {
			t.Fatalf("refund #%d before the charge = %+v, %v; want voided", i+1, p, err)
		}
	}
	_, err = s.Charge(ctx, charge("saga-3/charge", "order-3", 500))
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, `"saga-3/charge"`, "refunded before any charge", "refused")
	_, err = s.Charge(ctx, charge("saga-3/charge", "order-4", 500))
	wantKind(t, err, fault.Conflict, http.StatusConflict, `"saga-3/charge"`)
	if got, err := s.GetPayment(ctx, "saga-3/charge"); err != nil || got.Status != payments.Voided {
		t.Errorf("voided key after the late charge = %+v, %v; want voided", got, err)
	}
	_, err = s.Refund(ctx, payments.RefundRequest{Key: "saga-3/charge", OrderID: "order-4"})
	wantKind(t, err, fault.Conflict, http.StatusConflict, `"order-3"`)

	for _, key := range []string{"saga-1/charge", "saga-2/charge", "saga-3/charge"} {
		if n := rows(t, db, key); n != 1 {
			t.Errorf("%d rows under %s, want 1", n, key)
		}
	}
	_, err = s.GetPayment(ctx, "nope")
	wantKind(t, err, fault.NotFound, http.StatusNotFound, `"nope"`)

	// The order's payments, oldest first.
	if _, err := s.Charge(ctx, charge("saga-4/charge", "order-1", 300)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListPayments(ctx, payments.ListPaymentsRequest{OrderID: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range list.Payments {
		got = append(got, p.Key+" "+string(p.Status))
	}
	if want := []string{"saga-1/charge refunded", "saga-4/charge charged"}; !slices.Equal(got, want) {
		t.Errorf("payments of order-1 = %q, want %q", got, want)
	}
	if list, err := s.ListPayments(ctx, payments.ListPaymentsRequest{OrderID: "order-9"}); err != nil || list.Payments == nil || len(list.Payments) != 0 {
		t.Errorf("payments of an order without any = %#v, %v; want an empty list", list, err)
	}
	_, err = s.ListPayments(ctx, payments.ListPaymentsRequest{})
	wantKind(t, err, fault.InvalidArgument, http.StatusUnprocessableEntity, "order_id")
}

// Twenty charges at once under one key, through two instances of the
// service on one database, record one payment and all answer it; a
// refund racing a charge under a new key ends either refunded or void,
// never charged.
func TestConcurrentCharges(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			open := d.fresh(t)
			db := open()
			migrated(t, db)
			var instances [2]*payments.Service
			for i := range instances {
				instances[i] = migrated(t, open())
			}
			const n = 20
			got := make([]payments.Payment, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					got[i], errs[i] = instances[i%2].Charge(ctx, charge("saga-1/charge", "order-1", 1250))
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil || got[i] != got[0] {
					t.Errorf("charge %d = %+v, %v; want %+v like the first", i, got[i], errs[i], got[0])
				}
			}
			if k := rows(t, db, "saga-1/charge"); k != 1 {
				t.Errorf("%d payments under one key after %d charges at once, want 1", k, n)
			}

			for i := range 10 {
				key := fmt.Sprintf("saga-%d/charge", i+2)
				order := fmt.Sprint("order-", i+2)
				var charged payments.Payment
				var chargeErr, refundErr error
				start := make(chan struct{})
				wg.Go(func() {
					<-start
					charged, chargeErr = instances[0].Charge(ctx, charge(key, order, 100))
				})
				wg.Go(func() {
					<-start
					_, refundErr = instances[1].Refund(ctx, payments.RefundRequest{Key: key, OrderID: order})
				})
				close(start)
				wg.Wait()
				if refundErr != nil {
					t.Fatalf("%s: refund: %v", key, refundErr)
				}
				end, err := instances[0].GetPayment(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				switch end.Status {
				case payments.Refunded:
					if chargeErr != nil || charged.ID != end.ID {
						t.Errorf("%s refunded, but the charge answered %+v, %v", key, charged, chargeErr)
					}
				case payments.Voided:
					if !errors.Is(chargeErr, fault.FailedPrecondition) {
						t.Errorf("%s void, but the charge answered %+v, %v; want it refused", key, charged, chargeErr)
					}
				default:
					t.Errorf("%s ended %s after a charge and a refund, want refunded or voided", key, end.Status)
				}
			}
		})
	}
}

// With a failure rate of one half and a seeded source, the declines fall
// where the source says, are recorded, and repeats answer the same
// without drawing again.
func TestDeclinesAreRecorded(t *testing.T) {
	ctx := context.Background()
	src := rand.New(rand.NewPCG(1, 2))
	draws := 0
	s, _ := newService(t, payments.WithFaults(payments.Faults{FailureRate: 0.5}), payments.WithRandom(func() float64 {
		draws++
		return src.Float64()
	}))
	want := rand.New(rand.NewPCG(1, 2))
	const n = 40
	declined := 0
	for i := range n {
		key := fmt.Sprintf("saga-%d/charge", i)
		wantDecline := want.Float64() < 0.5
		_, err := s.Charge(ctx, charge(key, "order-1", 100))
		if wantDecline != (err != nil) {
			t.Fatalf("%s: charge answered %v; want declined %v", key, err, wantDecline)
		}
		if wantDecline {
			declined++
			wantKind(t, err, fault.FailedPrecondition, http.StatusPaymentRequired, "card declined")
		}
	}
	if declined == 0 || declined == n {
		t.Fatalf("%d of %d declined; the seed should decline some and not all", declined, n)
	}
	list, err := s.ListPayments(ctx, payments.ListPaymentsRequest{OrderID: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for _, p := range list.Payments {
		if p.Status == payments.Declined {
			recorded++
		}
	}
	if recorded != declined || len(list.Payments) != n {
		t.Errorf("%d payments, %d recorded declined; want %d, %d", len(list.Payments), recorded, n, declined)
	}
	before := draws
	for _, p := range list.Payments {
		_, err := s.Charge(ctx, charge(p.Key, "order-1", 100))
		if (p.Status == payments.Declined) != (err != nil) {
			t.Errorf("repeat of %s (%s) answered %v", p.Key, p.Status, err)
		}
	}
	if draws != before {
		t.Errorf("repeats drew %d times, want 0", draws-before)
	}
}

// An outage answers Unavailable, which callers may retry, and changes
// nothing.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t, payments.WithFaults(payments.Faults{UnavailableRate: 1}))
	_, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 100))
	wantKind(t, err, fault.Unavailable, http.StatusServiceUnavailable, "unavailable")
	if !fault.KindOf(err).Retryable() {
		t.Error("an outage is not retryable, want it retryable")
	}
	_, err = s.Refund(ctx, payments.RefundRequest{Key: "saga-1/charge", OrderID: "order-1"})
	wantKind(t, err, fault.Unavailable, http.StatusServiceUnavailable)
	if n := rows(t, db, "saga-1/charge"); n != 0 {
		t.Fatalf("%d payments recorded during an outage, want 0", n)
	}
	if _, err := s.SetFaults(ctx, payments.Faults{}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 100)); err != nil || p.Status != payments.Charged {
		t.Fatalf("charge after the outage = %+v, %v; want charged", p, err)
	}
}

func TestChargeValidation(t *testing.T) {
	ok := charge("k", "o", 1)
	with := func(f func(*payments.ChargeRequest)) payments.ChargeRequest {
		r := ok
		f(&r)
		return r
	}
	tests := []struct {
		name       string
		req        payments.ChargeRequest
		wantFields []string
	}{
		{"empty", payments.ChargeRequest{}, []string{"key", "order_id", "user_id", "amount", "currency"}},
		{"long key", with(func(r *payments.ChargeRequest) { r.Key = strings.Repeat("k", payments.MaxKeyLen+1) }), []string{"key"}},
		{"control in order", with(func(r *payments.ChargeRequest) { r.OrderID = "a\tb" }), []string{"order_id"}},
		{"invalid UTF-8 user", with(func(r *payments.ChargeRequest) { r.UserID = "\xff" }), []string{"user_id"}},
		{"zero amount", with(func(r *payments.ChargeRequest) { r.Amount = 0 }), []string{"amount"}},
		{"negative amount", with(func(r *payments.ChargeRequest) { r.Amount = -5 }), []string{"amount"}},
		{"too much", with(func(r *payments.ChargeRequest) { r.Amount = payments.MaxAmount + 1 }), []string{"amount"}},
		{"lower-case currency", with(func(r *payments.ChargeRequest) { r.Currency = "eur" }), []string{"currency"}},
		{"long currency", with(func(r *payments.ChargeRequest) { r.Currency = "EURO" }), []string{"currency"}},
	}
	s, _ := newService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Charge(context.Background(), tt.req)
			wantKind(t, err, fault.InvalidArgument, http.StatusUnprocessableEntity)
			var fields []string
			for _, v := range fault.As(err).Violations {
				fields = append(fields, v.Field)
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("violations on %q, want %q", fields, tt.wantFields)
			}
		})
	}
	_, err := s.Refund(context.Background(), payments.RefundRequest{})
	wantKind(t, err, fault.InvalidArgument, http.StatusUnprocessableEntity, "key: is required", "order_id: is required")
	if _, err := s.Charge(context.Background(), ok); err != nil {
		t.Errorf("the valid request: %v", err)
	}
}

// The database itself holds one payment per key, and refuses a status it
// does not know or a charge without an amount, whatever the code does.
func TestDatabaseRefusesBadPayments(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			db := d.fresh(t)()
			s := migrated(t, db)
			if _, err := s.Charge(context.Background(), charge("saga-1/charge", "order-1", 100)); err != nil {
				t.Fatal(err)
			}
			insert := `INSERT INTO payments (id, payment_key, order_id, user_id, amount, currency, status, created_at, updated_at)
				VALUES ('p', '%s', 'o', 'u', %d, 'EUR', '%s', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`
			for _, tt := range []struct {
				stmt, want string // want: a word of the error, lower case
			}{
				{fmt.Sprintf(insert, "saga-1/charge", 100, "charged"), "unique"},
				{fmt.Sprintf(insert, "k", 0, "charged"), "check constraint"},
				{fmt.Sprintf(insert, "k", -5, "refunded"), "check constraint"},
				{fmt.Sprintf(insert, "k", 5, "voided"), "check constraint"},
				{fmt.Sprintf(insert, "k", 5, "lost"), "check constraint"},
			} {
				// SQLite says "UNIQUE constraint failed" and "CHECK
				// constraint failed", PostgreSQL "violates unique
				// constraint" and "violates check constraint".
				if _, err := db.Exec(tt.stmt); err == nil || !strings.Contains(strings.ToLower(err.Error()), tt.want) {
					t.Errorf("%s: err = %v, want a %s failure", tt.stmt, err, tt.want)
				}
			}
		})
	}
}
