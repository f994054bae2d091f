package saga_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/saga"
	"github.com/tailorkit/tailor/sqlite"
)

// order is the data of the test's saga: the orders service's.
type order struct {
	Items   int    `json:"items"`
	Payment string `json:"payment,omitempty"`
}

// databases runs f on a fresh SQLite file and on a fresh PostgreSQL
// schema, each with the saga tables and the effects tables; open returns
// a new handle on the same database each time.
func databases(t *testing.T, f func(t *testing.T, open func() *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "orders.db")
		open := func() *sql.DB {
			db, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		prepare(t, open())
		f(t, open)
	})
	t.Run("postgres", func(t *testing.T) {
		open := testenv.Postgres(t, "saga")
		prepare(t, open())
		f(t, open)
	})
}

// prepare makes the saga tables and the effects tables in db.
func prepare(t testing.TB, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	if err := saga.Migrate(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE saga_effects (key text PRIMARY KEY)`,
		`CREATE TABLE saga_calls (key text NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// shop stands for the services a saga calls. Each call is counted in
// saga_calls; each effect is applied at most once per idempotency key, in
// saga_effects, as a callee that dedupes on the key would; a compensation
// applies only when its action did.
type shop struct {
	db *sql.DB

	mu    sync.Mutex
	log   []string           // the keys called, in order
	fail  map[string][]error // the errors the next calls of a key return
	block map[string]bool    // keys whose calls wait for their context to end
	// during, when set, runs inside every call.
	during func(ctx context.Context, key string)
}

func newShop(db *sql.DB) *shop {
	return &shop{db: db, fail: map[string][]error{}, block: map[string]bool{}}
}

// failNext makes the next calls of key return errs, one each.
func (s *shop) failNext(key string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[key] = append(s.fail[key], errs...)
}

// failAlways makes every call of key fail with err.
func (s *shop) failAlways(key string, err error) {
	s.failNext(key, slices.Repeat([]error{err}, 100)...)
}

// call is a callee: it counts the call, and fails, blocks or applies the
// effect keyed by key (if only applies when the key only is applied).
func (s *shop) call(ctx context.Context, key, only string) error {
	s.mu.Lock()
	s.log = append(s.log, key)
	var err error
	if q := s.fail[key]; len(q) > 0 {
		err, s.fail[key] = q[0], q[1:]
	}
	block, during := s.block[key], s.during
	s.mu.Unlock()
	if _, dbErr := s.db.ExecContext(ctx, `INSERT INTO saga_calls (key) VALUES ($1)`, key); dbErr != nil {
		return dbErr
	}
	if during != nil {
		during(ctx, key)
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	q := `INSERT INTO saga_effects (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`
	args := []any{key}
	if only != "" {
		q = `INSERT INTO saga_effects (key) SELECT $1 WHERE EXISTS (SELECT 1 FROM saga_effects WHERE key = $2) ON CONFLICT (key) DO NOTHING`
		args = append(args, only)
	}
	_, dbErr := s.db.ExecContext(ctx, q, args...)
	return dbErr
}

// steps are the orders service's: reserve stock, charge, confirm. Charge
// records the payment in the data; confirm fails for good without it, so
// the data is seen to survive every record and recovery.
func (s *shop) steps() []saga.Step[order] {
	fast := resilience.RetryConfig{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
	undo := func(ctx context.Context, key string, _ *order) error {
		return s.call(ctx, key, strings.TrimSuffix(key, "/compensate"))
	}
	return []saga.Step[order]{
		{
			Name:       "reserve",
			Action:     func(ctx context.Context, key string, _ *order) error { return s.call(ctx, key, "") },
			Compensate: undo,
			Retry:      fast,
		},
		{
			Name: "charge",
			Action: func(ctx context.Context, key string, o *order) error {
				if err := s.call(ctx, key, ""); err != nil {
					return err
				}
				o.Payment = "payment of " + key
				return nil
			},
			Compensate: undo,
			Timeout:    time.Second,
			Retry:      fast,
		},
		{
			Name: "confirm",
			Action: func(ctx context.Context, key string, o *order) error {
				if !strings.HasSuffix(o.Payment, "/charge") {
					return fault.Errorf(fault.FailedPrecondition, "no payment recorded: %q", o.Payment)
				}
				return s.call(ctx, key, "")
			},
			Retry: fast,
		},
	}
}

// calls returns the keys called, in order.
func (s *shop) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// effects returns the keys whose effect was applied, sorted.
func effects(t testing.TB, db *sql.DB) []string {
	t.Helper()
	return keys(t, db, `SELECT key FROM saga_effects ORDER BY key`)
}

func keys(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// setup returns an orchestrator over db with the order saga defined.
func setup(t testing.TB, db *sql.DB, s *shop, opts ...saga.Option) (*saga.Orchestrator, *saga.Definition[order]) {
	t.Helper()
	opts = append([]saga.Option{saga.WithCompensationBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	o, err := saga.New(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	def, err := saga.Define(o, "order", s.steps()...)
	if err != nil {
		t.Fatal(err)
	}
	return o, def
}

// start records saga id in a transaction, as the orders service does.
func start(t testing.TB, db *sql.DB, def *saga.Definition[order], id string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := def.Start(ctx, tx, id, order{Items: 2}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// kinds lists the history of saga id as "kind step" lines.
func kinds(t testing.TB, o *saga.Orchestrator, id string) []string {
	t.Helper()
	events, err := o.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s", e.Kind, e.Step)))
	}
	return out
}

func TestHappyPath(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		st, err := o.Run(context.Background(), "o1")
		if err != nil {
			t.Fatal(err)
		}
		if st.State != saga.Completed || st.Step != "" || st.FailedStep != "" {
			t.Errorf("got %+v, want completed", st)
		}
		if got, want := s.calls(), []string{"o1/reserve", "o1/charge", "o1/confirm"}; !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v", got, want)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/confirm", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
		if got, want := kinds(t, o, "o1"), []string{"started", "step_done reserve", "step_done charge", "step_done confirm"}; !slices.Equal(got, want) {
			t.Errorf("history: got %v, want %v", got, want)
		}
		again, err := o.Run(context.Background(), "o1")
		if err != nil || again.State != saga.Completed {
			t.Errorf("a second Run: got %+v, %v; want the completed status", again, err)
		}
		if got := len(s.calls()); got != 3 {
			t.Errorf("a second Run called %d steps more; want none", got-3)
		}
		read, err := o.Status(context.Background(), "o1")
		if err != nil || read.State != saga.Completed || read.Name != "order" || read.Created.IsZero() || read.Updated.Before(read.Created) {
			t.Errorf("Status: got %+v, %v", read, err)
		}
	})
}

func TestFailureCompensatesInReverse(t *testing.T) {
	declined := fault.New(fault.FailedPrecondition, "card declined")
	unavailable := fault.New(fault.Unavailable, "payments down")
	for _, tc := range []struct {
		name      string
		fail      string
		err       error
		calls     []string
		effects   []string
		history   []string
		failedErr string
	}{
		{
			name: "charge declined", fail: "o1/charge", err: declined,
			calls:   []string{"o1/reserve", "o1/charge", "o1/charge/compensate", "o1/reserve/compensate"},
			effects: []string{"o1/reserve", "o1/reserve/compensate"},
			history: []string{"started", "step_done reserve", "step_failed charge", "step_compensated charge", "step_compensated reserve"},
		},
		{
			name: "charge unavailable after every retry", fail: "o1/charge", err: unavailable,
			calls:   []string{"o1/reserve", "o1/charge", "o1/charge", "o1/charge", "o1/charge/compensate", "o1/reserve/compensate"},
			effects: []string{"o1/reserve", "o1/reserve/compensate"},
			history: []string{"started", "step_done reserve", "step_failed charge", "step_compensated charge", "step_compensated reserve"},
		},
		{
			name: "confirm fails", fail: "o1/confirm", err: declined,
			calls:   []string{"o1/reserve", "o1/charge", "o1/confirm", "o1/charge/compensate", "o1/reserve/compensate"},
			effects: []string{"o1/charge", "o1/charge/compensate", "o1/reserve", "o1/reserve/compensate"},
			history: []string{"started", "step_done reserve", "step_done charge", "step_failed confirm", "step_compensated charge", "step_compensated reserve"},
		},
		{
			name: "reserve fails", fail: "o1/reserve", err: declined,
			calls:   []string{"o1/reserve", "o1/reserve/compensate"},
			effects: nil,
			history: []string{"started", "step_failed reserve", "step_compensated reserve"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			databases(t, func(t *testing.T, open func() *sql.DB) {
				db := open()
				s := newShop(db)
				s.failAlways(tc.fail, tc.err)
				o, def := setup(t, db, s)
				start(t, db, def, "o1")
				st, err := o.Run(context.Background(), "o1")
				if err != nil {
					t.Fatal(err)
				}
				step := strings.TrimPrefix(tc.fail, "o1/")
				if st.State != saga.Compensated || st.FailedStep != step || !strings.Contains(st.Reason, tc.err.Error()) {
					t.Errorf("got %+v, want compensated after %s failed with %q", st, step, tc.err)
				}
				if got := s.calls(); !slices.Equal(got, tc.calls) {
					t.Errorf("calls: got %v, want %v", got, tc.calls)
				}
				if got := effects(t, db); !slices.Equal(got, tc.effects) {
					t.Errorf("effects: got %v, want %v", got, tc.effects)
				}
				if got := kinds(t, o, "o1"); !slices.Equal(got, tc.history) {
					t.Errorf("history: got %v, want %v", got, tc.history)
				}
				read, err := o.Status(context.Background(), "o1")
				if err != nil || read.State != saga.Compensated || read.FailedStep != step || read.Reason != st.Reason {
					t.Errorf("Status: got %+v, %v; want what Run returned, %+v", read, err, st)
				}
			})
		})
	}
}

func TestRetryableFailureRetried(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		s.failNext("o1/charge", fault.New(fault.Unavailable, "payments down"), fault.New(fault.DeadlineExceeded, "slow"))
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		st, err := o.Run(context.Background(), "o1")
		if err != nil || st.State != saga.Completed {
			t.Fatalf("got %+v, %v; want completed", st, err)
		}
		if got, want := s.calls(), []string{"o1/reserve", "o1/charge", "o1/charge", "o1/charge", "o1/confirm"}; !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v (the same key on every attempt)", got, want)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/confirm", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
		events, err := o.History(context.Background(), "o1")
		if err != nil {
			t.Fatal(err)
		}
		if e := events[2]; e.Step != "charge" || e.Kind != saga.StepDone || e.Attempts != 3 || e.At.Before(e.Began) {
			t.Errorf("charge's event: got %+v, want done after 3 attempts", e)
		}
	})
}

func TestCompensationRetriedUntilItSucceeds(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		s.failAlways("o1/confirm", fault.New(fault.FailedPrecondition, "out of stock"))
		// Not retryable, and still retried: a compensation is never abandoned.
		s.failNext("o1/reserve/compensate", errors.New("inventory: boom"), errors.New("inventory: boom"), errors.New("inventory: boom"))
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		st, err := o.Run(context.Background(), "o1")
		if err != nil || st.State != saga.Compensated {
			t.Fatalf("got %+v, %v; want compensated", st, err)
		}
		want := []string{"started", "step_done reserve", "step_done charge", "step_failed confirm", "step_compensated charge",
			"compensation_failed reserve", "compensation_failed reserve", "compensation_failed reserve", "step_compensated reserve"}
		if got := kinds(t, o, "o1"); !slices.Equal(got, want) {
			t.Errorf("history: got %v, want %v", got, want)
		}
		events, _ := o.History(context.Background(), "o1")
		if e := events[5]; e.Err != "inventory: boom" || e.Attempts != 1 {
			t.Errorf("first failed compensation: got %+v, want its error and attempt 1", e)
		}
		if e := events[8]; e.Attempts != 4 {
			t.Errorf("compensation: got %d attempts, want 4", e.Attempts)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/charge/compensate", "o1/reserve", "o1/reserve/compensate"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
	})
}

func TestStepTimeout(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		s.block["o1/charge"] = true
		o, err := saga.New(db)
		if err != nil {
			t.Fatal(err)
		}
		steps := s.steps()
		steps[1].Timeout = 20 * time.Millisecond
		steps[1].Retry.MaxAttempts = 2
		def, err := saga.Define(o, "order", steps...)
		if err != nil {
			t.Fatal(err)
		}
		start(t, db, def, "o1")
		st, err := o.Run(context.Background(), "o1")
		if err != nil {
			t.Fatal(err)
		}
		if st.State != saga.Compensated || st.FailedStep != "charge" || !strings.Contains(st.Reason, context.DeadlineExceeded.Error()) {
			t.Errorf("got %+v, want compensated after charge timed out", st)
		}
		if got, want := s.calls(), []string{"o1/reserve", "o1/charge", "o1/charge", "o1/charge/compensate", "o1/reserve/compensate"}; !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v (two timed-out attempts)", got, want)
		}
	})
}

// A Run whose context ends mid-step leaves the saga for a Recovery, which
// calls the step again with the same key; the effect applies once.
func TestRecoveryResumesWithTheSameKeys(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		ctx, cancel := context.WithCancel(context.Background())
		s.during = func(_ context.Context, key string) {
			if key == "o1/charge" {
				cancel()
			}
		}
		st, err := o.Run(ctx, "o1")
		if !errors.Is(err, context.Canceled) || st.State != saga.Running || st.Step != "charge" {
			t.Fatalf("got %+v, %v; want running at charge, and the context's error", st, err)
		}
		if read, _ := o.Status(context.Background(), "o1"); read.State != saga.Running || read.Step != "charge" {
			t.Errorf("Status: got %+v, want running at charge", read)
		}
		s.during = nil
		n, err := saga.NewRecovery(o, saga.RecoveryConfig{}).RecoverPending(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("RecoverPending: got %d, %v; want 1 saga", n, err)
		}
		if read, _ := o.Status(context.Background(), "o1"); read.State != saga.Completed {
			t.Errorf("Status: got %+v, want completed", read)
		}
		if got, want := s.calls(), []string{"o1/reserve", "o1/charge", "o1/charge", "o1/confirm"}; !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v", got, want)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/confirm", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
	})
}

func TestStartInTheCallersTransaction(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		ctx := context.Background()
		o, def := setup(t, db, newShop(db))
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := def.Start(ctx, tx, "o1", order{}); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		if _, err := o.Status(ctx, "o1"); !errors.Is(err, saga.ErrNotFound) || fault.KindOf(err) != fault.NotFound {
			t.Errorf("after a rollback: got %v, want ErrNotFound", err)
		}
		if _, err := o.Run(ctx, "o1"); !errors.Is(err, saga.ErrNotFound) {
			t.Errorf("Run after a rollback: got %v, want ErrNotFound", err)
		}
		start(t, db, def, "o1")
		if err := def.Start(ctx, db, "o1", order{}); !errors.Is(err, saga.ErrExists) || fault.KindOf(err) != fault.Conflict {
			t.Errorf("a second Start: got %v, want ErrExists", err)
		}
		if err := def.Start(ctx, db, "", order{}); fault.KindOf(err) != fault.InvalidArgument {
			t.Errorf("Start with no id: got %v, want an invalid argument", err)
		}
		// A recovery leaves a saga just started to its starter for the lease.
		if n, err := saga.NewRecovery(o, saga.RecoveryConfig{}).RecoverPending(ctx); err != nil || n != 0 {
			t.Errorf("RecoverPending: got %d, %v; want nothing taken", n, err)
		}
	})
}

// Two recoveries over their own handles, as two instances have, never run
// a step of one saga at once, and between them finish every saga.
func TestRecoveriesNeverRunASagaTwiceAtOnce(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		const sagas = 12
		db := open()
		var (
			mu       sync.Mutex
			inFlight = map[string]int{}
			overlaps []string
		)
		during := func(_ context.Context, key string) {
			id, _, _ := strings.Cut(key, "/")
			mu.Lock()
			inFlight[id]++
			if inFlight[id] > 1 {
				overlaps = append(overlaps, key)
			}
			mu.Unlock()
		}
		leave := func(key string) {
			id, _, _ := strings.Cut(key, "/")
			mu.Lock()
			inFlight[id]--
			mu.Unlock()
		}
		_, def := setup(t, db, newShop(db))
		for i := range sagas {
			start(t, db, def, fmt.Sprintf("o%d", i))
		}
		var recoveries []*saga.Recovery
		var shops []*shop
		for range 2 {
			h := open()
			s := newShop(h)
			s.during = during
			steps := s.steps()
			for i := range steps {
				action := steps[i].Action
				steps[i].Action = func(ctx context.Context, key string, o *order) error {
					defer leave(key)
					return action(ctx, key, o)
				}
			}
			o, err := saga.New(h)
			if err != nil {
				t.Fatal(err)
			}
			saga.Ahead(o, 2*time.Minute) // past the starters' leases
			if _, err := saga.Define(o, "order", steps...); err != nil {
				t.Fatal(err)
			}
			recoveries = append(recoveries, saga.NewRecovery(o, saga.RecoveryConfig{Concurrency: 4}))
			shops = append(shops, s)
		}
		var wg sync.WaitGroup
		taken := make([]int, len(recoveries))
		for i, r := range recoveries {
			wg.Go(func() {
				n, err := r.RecoverPending(context.Background())
				if err != nil {
					t.Error(err)
				}
				taken[i] = n
			})
		}
		wg.Wait()
		if len(overlaps) > 0 {
			t.Errorf("steps run by both recoveries at once: %v", overlaps)
		}
		o, _ := setup(t, db, newShop(db))
		for i := range sagas {
			if st, err := o.Status(context.Background(), fmt.Sprintf("o%d", i)); err != nil || st.State != saga.Completed {
				t.Errorf("saga o%d: got %+v, %v; want completed", i, st, err)
			}
		}
		calls := len(shops[0].calls()) + len(shops[1].calls())
		if got := len(effects(t, db)); got != 3*sagas || calls != 3*sagas {
			t.Errorf("got %d effects from %d calls, want %d of each", got, calls, 3*sagas)
		}
		t.Logf("recoveries took %v sagas", taken)
	})
}

func TestDefineRefusesBadSteps(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "orders.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := saga.New(db)
	if err != nil {
		t.Fatal(err)
	}
	act := func(context.Context, string, *order) error { return nil }
	for _, tc := range []struct {
		name  string
		saga  string
		steps []saga.Step[order]
		want  string
	}{
		{"no name", "", []saga.Step[order]{{Name: "a", Action: act}}, "empty saga name"},
		{"no steps", "x", nil, "has no steps"},
		{"unnamed step", "x", []saga.Step[order]{{Action: act}}, "has no name"},
		{"repeated step", "x", []saga.Step[order]{{Name: "a", Action: act}, {Name: "a", Action: act}}, "two steps named"},
		{"no action", "x", []saga.Step[order]{{Name: "a"}}, "has no Action"},
		{"outlasts the lease", "x", []saga.Step[order]{{Name: "a", Action: act, Timeout: 30 * time.Second}}, "not well within the lease"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := saga.Define(o, tc.saga, tc.steps...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := saga.Define(o, "x", saga.Step[order]{Name: "a", Action: act}); err != nil {
		t.Fatal(err)
	}
	if _, err := saga.Define(o, "x", saga.Step[order]{Name: "a", Action: act}); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("defining x again: got %v, want an error", err)
	}
}

// A Recovery run as a service component finishes a saga left unfinished,
// and Stop waits for what it runs.
func TestRecoveryComponent(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		_, def := setup(t, db, s)
		start(t, db, def, "o1")
		o, _ := setup(t, db, s)
		saga.Ahead(o, 2*time.Minute) // the starter is gone: its lease is over
		confirmed := make(chan struct{})
		saga.SetHook(o, func(point string) {
			if point == "record o1/confirm" {
				close(confirmed)
			}
		})
		r := saga.NewRecovery(o, saga.RecoveryConfig{})
		if err := r.Stop(context.Background()); err != nil {
			t.Errorf("Stop before Start: %v", err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err == nil {
			t.Error("a second Start succeeded; want an error")
		}
		select {
		case <-confirmed:
		case <-time.After(10 * time.Second):
			t.Fatal("the recovery did not finish the saga within 10s")
		}
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st, err := o.Status(context.Background(), "o1"); err != nil || st.State != saga.Completed {
			t.Errorf("got %+v, %v; want completed", st, err)
		}
	})
}

// Stop lets the step in hand finish and be recorded, and stops the saga
// before its next step, for the next process to finish.
func TestRecoveryStopFinishesTheStepInHand(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		_, def := setup(t, db, s)
		start(t, db, def, "o1")
		o, _ := setup(t, db, s)
		saga.Ahead(o, 2*time.Minute)
		r := saga.NewRecovery(o, saga.RecoveryConfig{})
		charging := make(chan struct{})
		s.during = func(ctx context.Context, key string) {
			if key == "o1/charge" {
				close(charging)
				<-saga.Stopping(r)
			}
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-charging
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st, err := o.Status(context.Background(), "o1"); err != nil || st.State != saga.Running || st.Step != "confirm" {
			t.Errorf("got %+v, %v; want running at confirm", st, err)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
		// Released at once: the next Run need not wait for the lease.
		if st, err := o.Run(context.Background(), "o1"); err != nil || st.State != saga.Completed {
			t.Errorf("Run after Stop: got %+v, %v; want completed", st, err)
		}
	})
}

// A second Run of a saga in hand gets ErrBusy, and changes nothing.
func TestRunWhileRunningIsBusy(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		var busy error
		s.during = func(ctx context.Context, key string) {
			if key == "o1/charge" {
				_, busy = o.Run(ctx, "o1")
			}
		}
		if st, err := o.Run(context.Background(), "o1"); err != nil || st.State != saga.Completed {
			t.Fatalf("got %+v, %v; want completed", st, err)
		}
		if !errors.Is(busy, saga.ErrBusy) || fault.KindOf(busy) != fault.Conflict {
			t.Errorf("the second Run: got %v, want ErrBusy", busy)
		}
	})
}

// A record the database refuses gives the claim up, so the saga can be
// run again at once instead of after the lease; the next run calls the
// unrecorded step again under its key, and the saga ends as it would have.
func TestFailedRecordGivesTheClaimUp(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		refuse, allow := []string{
			`CREATE TRIGGER refuse_charge BEFORE INSERT ON tailor_saga_events WHEN NEW.step = 'charge' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
		}, []string{`DROP TRIGGER refuse_charge`}
		if !strings.Contains(fmt.Sprintf("%T", db.Driver()), "sqlite") {
			refuse = []string{
				`CREATE FUNCTION refuse_charge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
				`CREATE TRIGGER refuse_charge BEFORE INSERT ON tailor_saga_events FOR EACH ROW WHEN (NEW.step = 'charge') EXECUTE FUNCTION refuse_charge()`,
			}
			allow = []string{`DROP TRIGGER refuse_charge ON tailor_saga_events`}
		}
		exec := func(qs []string) {
			t.Helper()
			for _, q := range qs {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		s := newShop(db)
		o, def := setup(t, db, s)
		start(t, db, def, "o1")
		exec(refuse)
		if st, err := o.Run(context.Background(), "o1"); err == nil || errors.Is(err, saga.ErrBusy) {
			t.Fatalf("Run with the record refused: got %+v, %v; want the record's error", st, err)
		}
		exec(allow)
		st, err := o.Run(context.Background(), "o1")
		if err != nil || st.State != saga.Completed {
			t.Fatalf("Run right after: got %+v, %v; want completed, not busy until the lease lapses", st, err)
		}
		if got, want := s.calls(), []string{"o1/reserve", "o1/charge", "o1/charge", "o1/confirm"}; !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v", got, want)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/confirm", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
		if got, want := kinds(t, o, "o1"), []string{"started", "step_done reserve", "step_done charge", "step_done confirm"}; !slices.Equal(got, want) {
			t.Errorf("history: got %v, want %v", got, want)
		}
	})
}

// An instance whose claim lapsed, and which another instance took over,
// stops at its next record; the saga ends once, each effect applied once.
func TestLapsedClaimStopsTheFormerHolder(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		s := newShop(db)
		a, def := setup(t, db, s)
		start(t, db, def, "o1")
		h := open()
		other := newShop(h)
		b, _ := setup(t, h, other)
		saga.Ahead(b, 3*time.Minute) // a's lease is over, as b sees it
		s.during = func(ctx context.Context, key string) {
			if key == "o1/charge" {
				if _, err := saga.NewRecovery(b, saga.RecoveryConfig{}).RecoverPending(ctx); err != nil {
					t.Error(err)
				}
			}
		}
		_, err := a.Run(context.Background(), "o1")
		if !errors.Is(err, saga.ErrLostClaim) {
			t.Errorf("the former holder's Run: got %v, want ErrLostClaim", err)
		}
		if st, err := b.Status(context.Background(), "o1"); err != nil || st.State != saga.Completed {
			t.Errorf("got %+v, %v; want completed", st, err)
		}
		if got, want := effects(t, db), []string{"o1/charge", "o1/confirm", "o1/reserve"}; !slices.Equal(got, want) {
			t.Errorf("effects: got %v, want %v", got, want)
		}
		if got, want := kinds(t, b, "o1"), []string{"started", "step_done reserve", "step_done charge", "step_done confirm"}; !slices.Equal(got, want) {
			t.Errorf("history: got %v, want %v", got, want)
		}
	})
}
