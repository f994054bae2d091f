package inventory_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/sqlite"
)

// newService returns an inventory over a fresh SQLite file, and its
// database.
func newService(t testing.TB) (*inventory.Service, *sql.DB) {
	t.Helper()
	db, err := sqlite.Open(t.TempDir() + "/inventory.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := inventory.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := inventory.NewService(db)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func setStock(t testing.TB, s *inventory.Service, product string, n int64) {
	t.Helper()
	if _, err := s.SetStock(context.Background(), inventory.SetStockRequest{ProductID: product, Available: n}); err != nil {
		t.Fatal(err)
	}
}

// counts reads a product's row as the database holds it.
func counts(t testing.TB, db *sql.DB, product string) (available, reserved int64) {
	t.Helper()
	if err := db.QueryRow(`SELECT available, reserved FROM stock WHERE product_id = $1`, product).Scan(&available, &reserved); err != nil {
		t.Fatal(err)
	}
	return available, reserved
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

// A reservation goes from reserved to released or committed and stays
// there; every repeat answers the same, every move out of an end is 409,
// and the stock counts follow.
func TestReservationLifecycle(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			testReservationLifecycle(t, d.fresh(t)())
		})
	}
}

func testReservationLifecycle(t *testing.T, db *sql.DB) {
	ctx := context.Background()
	if err := inventory.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := inventory.NewService(db)
	if err != nil {
		t.Fatal(err)
	}
	setStock(t, s, "mug", 10)
	setStock(t, s, "hat", 5)
	check := func(product string, wantAvailable, wantReserved int64) {
		t.Helper()
		if a, r := counts(t, db, product); a != wantAvailable || r != wantReserved {
			t.Fatalf("%s: available %d, reserved %d; want %d, %d", product, a, r, wantAvailable, wantReserved)
		}
	}
	items := []inventory.Item{{ProductID: "mug", Quantity: 3}, {ProductID: "hat", Quantity: 2}}
	sorted := []inventory.Item{{ProductID: "hat", Quantity: 2}, {ProductID: "mug", Quantity: 3}}

	// Reserve, then repeat: the same answer, nothing taken twice.
	for i := range 2 {
		res, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: items})
		if err != nil {
			t.Fatalf("reserve #%d: %v", i+1, err)
		}
		if res.ID != "order-1" || res.State != inventory.Reserved || !slices.Equal(res.Items, sorted) {
			t.Fatalf("reserve #%d = %+v, want order-1 reserved with %v", i+1, res, sorted)
		}
		check("mug", 7, 3)
		check("hat", 3, 2)
	}
	// The same items in another order are the same reservation.
	if _, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: sorted}); err != nil {
		t.Fatalf("repeat with the items reordered: %v", err)
	}
	// The same id with other items is a conflict.
	_, err = s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: []inventory.Item{{ProductID: "mug", Quantity: 4}}})
	wantKind(t, err, fault.Conflict, http.StatusConflict, "order-1", "other items")
	check("mug", 7, 3)

	// Commit, and commit again: the units leave, available stays.
	for i := range 2 {
		res, err := s.Commit(ctx, inventory.ReservationRequest{ID: "order-1"})
		if err != nil || res.State != inventory.Committed || !slices.Equal(res.Items, sorted) {
			t.Fatalf("commit #%d = %+v, %v; want committed", i+1, res, err)
		}
		check("mug", 7, 0)
		check("hat", 3, 0)
	}
	_, err = s.Release(ctx, inventory.ReservationRequest{ID: "order-1"})
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, "cannot release", "committed")
	check("mug", 7, 0)
	// A repeat of the reservation answers it as it is now.
	res, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: items})
	if err != nil || res.State != inventory.Committed {
		t.Fatalf("reserve after commit = %+v, %v; want the committed reservation", res, err)
	}
	check("mug", 7, 0)

	// Release, and release again: the units come back once.
	if _, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-2", Items: []inventory.Item{{ProductID: "mug", Quantity: 7}}}); err != nil {
		t.Fatal(err)
	}
	check("mug", 0, 7)
	for i := range 2 {
		res, err := s.Release(ctx, inventory.ReservationRequest{ID: "order-2"})
		if err != nil || res.State != inventory.Released {
			t.Fatalf("release #%d = %+v, %v; want released", i+1, res, err)
		}
		check("mug", 7, 0)
	}
	_, err = s.Commit(ctx, inventory.ReservationRequest{ID: "order-2"})
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, "cannot commit", "released")
	res, err = s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-2", Items: []inventory.Item{{ProductID: "mug", Quantity: 7}}})
	if err != nil || res.State != inventory.Released {
		t.Fatalf("reserve after release = %+v, %v; want the released reservation", res, err)
	}
	check("mug", 7, 0)

	// Unknown reservations: a commit is refused; a release is recorded,
	// so the reservation, arriving late, takes nothing.
	_, err = s.Commit(ctx, inventory.ReservationRequest{ID: "nope"})
	wantKind(t, err, fault.NotFound, http.StatusNotFound, `"nope"`)
	for range 2 {
		res, err = s.Release(ctx, inventory.ReservationRequest{ID: "late"})
		if err != nil || res.State != inventory.Released || len(res.Items) != 0 {
			t.Fatalf("release before reserve = %+v, %v; want it released, with nothing in it", res, err)
		}
	}
	_, err = s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "late", Items: []inventory.Item{{ProductID: "mug", Quantity: 1}}})
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, `"late"`, "released before it was made")
	_, err = s.Commit(ctx, inventory.ReservationRequest{ID: "late"})
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, "cannot commit")
	check("mug", 7, 0)
}

// A reservation that one item is short for takes nothing, and says what
// is short and what is available.
func TestReserveIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	setStock(t, s, "mug", 10)
	setStock(t, s, "hat", 1)
	_, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: []inventory.Item{
		{ProductID: "mug", Quantity: 2}, {ProductID: "hat", Quantity: 3}, {ProductID: "scarf", Quantity: 1},
	}})
	wantKind(t, err, fault.FailedPrecondition, http.StatusConflict, `"hat" has 1 available, 3 wanted`, `"scarf" is not known`)
	for _, p := range []struct {
		id   string
		want int64
	}{{"mug", 10}, {"hat", 1}} {
		if a, r := counts(t, db, p.id); a != p.want || r != 0 {
			t.Errorf("%s: available %d, reserved %d after a refused reservation; want %d, 0", p.id, a, r, p.want)
		}
	}
	// Nothing was recorded under the id: it can be used again.
	if _, err := s.Reserve(ctx, inventory.ReserveRequest{ReservationID: "order-1", Items: []inventory.Item{{ProductID: "hat", Quantity: 1}}}); err != nil {
		t.Fatalf("reserve with the refused id: %v", err)
	}
}

// databases lists the two databases the inventory runs on, each as a
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
			path := t.TempDir() + "/inventory.db"
			return func() *sql.DB {
				db, err := sqlite.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		}},
		{"postgres", func(t testing.TB) func() *sql.DB { return testenv.Postgres(t, "inventory") }},
	}
}

// Fifty reservations of one unit each, at once, for ten units, through
// two instances of the service on one database: exactly ten succeed, and
// the counts end at 0 available and 10 reserved.
func TestConcurrentReservationsNeverOversell(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			open := d.fresh(t)
			db := open()
			if err := inventory.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			var instances [2]*inventory.Service
			for i := range instances {
				s, err := inventory.NewService(open())
				if err != nil {
					t.Fatal(err)
				}
				instances[i] = s
			}
			setStock(t, instances[0], "mug", 10)
			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = instances[i%2].Reserve(ctx, inventory.ReserveRequest{
						ReservationID: fmt.Sprintf("order-%d", i),
						Items:         []inventory.Item{{ProductID: "mug", Quantity: 1}},
					})
				})
			}
			close(start)
			wg.Wait()
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, fault.FailedPrecondition):
					t.Errorf("reservation %d: %v, want success or a shortage", i, err)
				}
			}
			if ok != 10 {
				t.Errorf("%d reservations succeeded, want 10", ok)
			}
			if a, r := counts(t, db, "mug"); a != 0 || r != 10 {
				t.Errorf("available %d, reserved %d; want 0, 10", a, r)
			}
			var held int64
			if err := db.QueryRow(`SELECT COALESCE(SUM(quantity), 0) FROM reservation_items`).Scan(&held); err != nil || held != 10 {
				t.Errorf("reservations hold %d units (%v), want 10", held, err)
			}

			// Twenty repeats of one new reservation at once take its
			// units once.
			setStock(t, instances[0], "hat", 5)
			hat := inventory.ReserveRequest{ReservationID: "order-hat", Items: []inventory.Item{{ProductID: "hat", Quantity: 2}}}
			start = make(chan struct{})
			for i := range 20 {
				wg.Go(func() {
					<-start
					_, errs[i] = instances[i%2].Reserve(ctx, hat)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs[:20] {
				if err != nil {
					t.Errorf("repeat %d: %v", i, err)
				}
			}
			if a, r := counts(t, db, "hat"); a != 3 || r != 2 {
				t.Errorf("hat: available %d, reserved %d after 20 repeats; want 3, 2", a, r)
			}

			// Twenty releases of it at once give its units back once.
			start = make(chan struct{})
			for i := range 20 {
				wg.Go(func() {
					<-start
					_, errs[i] = instances[i%2].Release(ctx, inventory.ReservationRequest{ID: "order-hat"})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs[:20] {
				if err != nil {
					t.Errorf("release %d: %v", i, err)
				}
			}
			if a, r := counts(t, db, "hat"); a != 5 || r != 0 {
				t.Errorf("hat: available %d, reserved %d after 20 releases; want 5, 0", a, r)
			}
		})
	}
}

// The database itself refuses negative stock, whatever the code does.
func TestDatabaseRefusesNegativeStock(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			db := d.fresh(t)()
			if err := inventory.Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			s, err := inventory.NewService(db)
			if err != nil {
				t.Fatal(err)
			}
			setStock(t, s, "mug", 3)
			for _, stmt := range []string{
				`UPDATE stock SET available = available - 4 WHERE product_id = 'mug'`,
				`UPDATE stock SET reserved = reserved - 1 WHERE product_id = 'mug'`,
				`INSERT INTO stock (product_id, available, reserved, updated_at) VALUES ('hat', -1, 0, CURRENT_TIMESTAMP)`,
				`INSERT INTO reservations (id, state, created_at, updated_at) VALUES ('r', 'lost', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
			} {
				// SQLite says "CHECK constraint failed", PostgreSQL
				// "violates check constraint".
				if _, err := db.Exec(stmt); err == nil || !strings.Contains(strings.ToLower(err.Error()), "check constraint") {
					t.Errorf("%s: err = %v, want a CHECK constraint failure", stmt, err)
				}
			}
			if a, r := counts(t, db, "mug"); a != 3 || r != 0 {
				t.Errorf("available %d, reserved %d; want 3, 0", a, r)
			}
		})
	}
}

func TestStock(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	_, err := s.GetStock(ctx, inventory.GetStockRequest{ProductID: "mug"})
	wantKind(t, err, fault.NotFound, http.StatusNotFound, `"mug"`, "has not heard of")
	for _, n := range []int64{5, 0, inventory.MaxStock} {
		if got, err := s.SetStock(ctx, inventory.SetStockRequest{ProductID: "mug", Available: n}); err != nil || got.Available != n {
			t.Fatalf("SetStock(%d) = %+v, %v", n, got, err)
		}
		if got, err := s.GetStock(ctx, inventory.GetStockRequest{ProductID: "mug"}); err != nil || got != (inventory.Stock{ProductID: "mug", Available: n}) {
			t.Fatalf("GetStock after SetStock(%d) = %+v, %v", n, got, err)
		}
	}
	for _, n := range []int64{-1, inventory.MaxStock + 1} {
		_, err := s.SetStock(ctx, inventory.SetStockRequest{ProductID: "mug", Available: n})
		wantKind(t, err, fault.InvalidArgument, http.StatusUnprocessableEntity, "available")
		if fe := fault.As(err); len(fe.Violations) != 1 || fe.Violations[0].Field != "available" {
			t.Errorf("SetStock(%d) violations = %+v, want one on available", n, fe.Violations)
		}
	}
}

func TestReserveValidation(t *testing.T) {
	many := make([]inventory.Item, inventory.MaxItems+1)
	for i := range many {
		many[i] = inventory.Item{ProductID: fmt.Sprint("p", i), Quantity: 1}
	}
	one := []inventory.Item{{ProductID: "mug", Quantity: 1}}
	tests := []struct {
		name       string
		req        inventory.ReserveRequest
		wantFields []string
	}{
		{"no id", inventory.ReserveRequest{Items: one}, []string{"reservation_id"}},
		{"long id", inventory.ReserveRequest{ReservationID: strings.Repeat("x", inventory.MaxIDLen+1), Items: one}, []string{"reservation_id"}},
		{"control in id", inventory.ReserveRequest{ReservationID: "a\nb", Items: one}, []string{"reservation_id"}},
		{"no items", inventory.ReserveRequest{ReservationID: "r"}, []string{"items"}},
		{"too many items", inventory.ReserveRequest{ReservationID: "r", Items: many}, []string{"items"}},
		{"bad quantities", inventory.ReserveRequest{ReservationID: "r", Items: []inventory.Item{
			{ProductID: "a", Quantity: 0}, {ProductID: "b", Quantity: inventory.MaxStock + 1}, {ProductID: "c", Quantity: -5},
		}}, []string{"items[0].quantity", "items[1].quantity", "items[2].quantity"}},
		{"duplicate product", inventory.ReserveRequest{ReservationID: "r", Items: []inventory.Item{
			{ProductID: "a", Quantity: 1}, {ProductID: "b", Quantity: 1}, {ProductID: "a", Quantity: 2},
		}}, []string{"items[2].product_id"}},
		{"no product", inventory.ReserveRequest{ReservationID: "r", Items: []inventory.Item{{Quantity: 1}}}, []string{"items[0].product_id"}},
	}
	s, _ := newService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Reserve(context.Background(), tt.req)
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
}
