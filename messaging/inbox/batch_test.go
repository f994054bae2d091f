package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
)

// setup returns an inbox on a fresh database with a table "effects" that
// the tests' apply functions write to, and a way to count its rows.
func setup(t *testing.T, fresh func(testing.TB) func() *sql.DB) (*Inbox, func() int) {
	t.Helper()
	db := fresh(t)()
	ctx := context.Background()
	if err := Migrate(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE effects (event_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	in, err := New(db, "test")
	if err != nil {
		t.Fatal(err)
	}
	return in, func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM effects`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

func event(t *testing.T, id string) messaging.Event {
	t.Helper()
	e, err := messaging.Type[struct{}]{Name: "test.happened"}.New("agg", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	e.ID = id
	return e
}

func insertEffect(e messaging.Event) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO effects (event_id) VALUES ($1)`, e.ID)
		return err
	}
}

func TestApplyBatch(t *testing.T) {
	t.Parallel()
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name        string
				before      []string // applied on their own first
				batch       []string
				fail        string // the id whose apply fails
				panics      string // the id whose apply panics
				wantApplied []bool
				wantErr     bool
				wantEffects int
			}{
				{name: "fresh", batch: []string{"a", "b", "c"}, wantApplied: []bool{true, true, true}, wantEffects: 3},
				{name: "twice in one batch", batch: []string{"a", "b", "a"}, wantApplied: []bool{true, true, false}, wantEffects: 2},
				{name: "applied before", before: []string{"b"}, batch: []string{"a", "b"}, wantApplied: []bool{true, false}, wantEffects: 2},
				{name: "one fails", batch: []string{"a", "b", "c"}, fail: "b", wantErr: true},
				{name: "one panics", batch: []string{"a", "b"}, panics: "b", wantErr: true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					in, effects := setup(t, db.Fresh)
					for _, id := range tc.before {
						if _, err := in.applyOne(context.Background(), event(t, id), insertEffect(event(t, id))); err != nil {
							t.Fatal(err)
						}
					}
					var batch []*request
					for _, id := range tc.batch {
						e := event(t, id)
						apply := insertEffect(e)
						switch id {
						case tc.fail:
							apply = func(*sql.Tx) error { return errors.New("no such product") }
						case tc.panics:
							apply = func(*sql.Tx) error { panic("bad event") }
						}
						batch = append(batch, &request{e: e, apply: apply})
					}
					applied, err := in.applyBatch(batch)
					if (err != nil) != tc.wantErr {
						t.Fatalf("got error %v, want error: %v", err, tc.wantErr)
					}
					if tc.wantErr {
						if n := effects(); n != 0 {
							t.Fatalf("got %d effects after a failed batch, want 0: it must roll back", n)
						}
						return
					}
					if fmt.Sprint(applied) != fmt.Sprint(tc.wantApplied) {
						t.Errorf("got applied %v, want %v", applied, tc.wantApplied)
					}
					if n := effects(); n != tc.wantEffects {
						t.Errorf("got %d effects, want %d", n, tc.wantEffects)
					}
				})
			}
		})
	}
}

// TestDrainAnswersEveryRequest queues requests by hand and drains them:
// a batch answers each with its own outcome, a failed batch sends each
// back to be applied alone, and a request alone in the queue goes back
// at once.
func TestDrainAnswersEveryRequest(t *testing.T) {
	t.Parallel()
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name      string
				ids       []string
				fail      string
				maxBatch  int
				wantAlone []bool
			}{
				{name: "batch", ids: []string{"a", "b", "c"}, maxBatch: 8, wantAlone: []bool{false, false, false}},
				{name: "failed batch", ids: []string{"a", "b", "c"}, fail: "c", maxBatch: 8, wantAlone: []bool{true, true, true}},
				{name: "one left over", ids: []string{"a", "b", "c"}, maxBatch: 2, wantAlone: []bool{false, false, true}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					in, _ := setup(t, db.Fresh)
					in.maxBatch = tc.maxBatch
					var reqs []*request
					for _, id := range tc.ids {
						e := event(t, id)
						apply := insertEffect(e)
						if id == tc.fail {
							apply = func(*sql.Tx) error { return errors.New("no such product") }
						}
						r := &request{e: e, apply: apply, done: make(chan outcome, 1)}
						reqs = append(reqs, r)
					}
					in.queue = slices.Clone(reqs) // drain clears what it takes
					in.running = true
					in.drain()
					if in.running || len(in.queue) != 0 {
						t.Fatalf("after drain: running %v, %d queued; want false, 0", in.running, len(in.queue))
					}
					for i, r := range reqs {
						o := <-r.done
						if o.alone != tc.wantAlone[i] {
							t.Errorf("request %s: got alone %v, want %v", tc.ids[i], o.alone, tc.wantAlone[i])
						}
						if !o.alone && !o.applied {
							t.Errorf("request %s: got neither applied nor alone", tc.ids[i])
						}
					}
				})
			}
		})
	}
}
