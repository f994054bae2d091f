package inbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
)

type noted struct {
	N int `json:"n"`
}

var notedType = messaging.Type[noted]{Name: "test.noted"}

func open(t *testing.T, fresh func(testing.TB) func() *sql.DB, opts ...inbox.Option) (*sql.DB, *inbox.Inbox) {
	t.Helper()
	db := fresh(t)()
	ctx := context.Background()
	if err := inbox.Migrate(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE effects (event_id TEXT NOT NULL, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	in, err := inbox.New(db, "test", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return db, in
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConcurrentDeliveriesApplyOnce hands every event to the handler twice,
// from many goroutines at once, as redelivery to a consumer with many
// workers does; each takes effect once, in batches or alone, and a poison
// event fails on its own without holding the others back.
func TestConcurrentDeliveriesApplyOnce(t *testing.T) {
	t.Parallel()
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			for _, maxBatch := range []int{1, 128} {
				t.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(t *testing.T) {
					sdb, in := open(t, db.Fresh, inbox.WithMaxBatch(maxBatch))
					const events, poison = 300, 17
					errPoison := errors.New("event 17 names no product")
					h := inbox.Handle(in, notedType, func(ctx context.Context, tx *sql.Tx, e messaging.Event, p noted) error {
						if p.N == poison {
							return errPoison
						}
						_, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id, n) VALUES ($1, $2)`, e.ID, p.N)
						return err
					})
					all := make([]messaging.Event, events)
					for i := range all {
						all[i], _ = notedType.New(fmt.Sprint("agg-", i%7), noted{N: i})
					}
					work := make(chan int)
					var wg sync.WaitGroup
					var mu sync.Mutex
					failed := map[int]error{}
					for range 32 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := range work {
								if err := h(context.Background(), all[i%events]); err != nil {
									mu.Lock()
									failed[i%events] = err
									mu.Unlock()
								}
							}
						}()
					}
					for i := range 2 * events {
						work <- i
					}
					close(work)
					wg.Wait()
					if len(failed) != 1 || !errors.Is(failed[poison], errPoison) {
						t.Errorf("got failures %v, want only event %d failing with %q", failed, poison, errPoison)
					}
					if n := count(t, sdb, `SELECT count(*) FROM effects`); n != events-1 {
						t.Errorf("got %d effects, want %d", n, events-1)
					}
					if n := count(t, sdb, `SELECT count(DISTINCT event_id) FROM effects`); n != events-1 {
						t.Errorf("got %d distinct events applied, want %d", n, events-1)
					}
					if n := count(t, sdb, `SELECT count(*) FROM tailor_inbox WHERE consumer = 'test'`); n != events-1 {
						t.Errorf("got %d events recorded, want %d: the poison event must not be", n, events-1)
					}
				})
			}
		})
	}
}

// TestUndecodablePayloadIsPermanent: Handle does not retry a payload it
// cannot decode.
func TestUndecodablePayloadIsPermanent(t *testing.T) {
	t.Parallel()
	_, in := open(t, testenv.Databases()[0].Fresh)
	h := inbox.Handle(in, notedType, func(context.Context, *sql.Tx, messaging.Event, noted) error {
		t.Error("apply called for a payload that does not decode")
		return nil
	})
	e, _ := notedType.New("agg", noted{})
	e.Data = []byte(`{"n": "not a number"}`)
	if err := h(context.Background(), e); !messaging.IsPermanent(err) {
		t.Fatalf("got %v, want a permanent error", err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			sdb, in := open(t, db.Fresh)
			ctx := context.Background()
			now := time.Now()
			for i, age := range []time.Duration{9 * 24 * time.Hour, 3 * 24 * time.Hour, time.Hour} {
				e, _ := notedType.New("agg", noted{N: i})
				if _, err := in.Apply(ctx, e, func(*sql.Tx) error { return nil }); err != nil {
					t.Fatal(err)
				}
				if _, err := sdb.Exec(`UPDATE tailor_inbox SET handled_us = $1 WHERE event_id = $2`, now.Add(-age).UnixMicro(), e.ID); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				name   string
				before time.Time
				want   int64
			}{
				{"older than 8 days", now.Add(-8 * 24 * time.Hour), 1},
				{"again: nothing left that old", now.Add(-8 * 24 * time.Hour), 0},
				{"older than 2 hours", now.Add(-2 * time.Hour), 1},
			}
			for _, tt := range tests {
				n, err := in.Prune(ctx, tt.before)
				if err != nil {
					t.Fatal(err)
				}
				if n != tt.want {
					t.Errorf("%s: got %d pruned, want %d", tt.name, n, tt.want)
				}
			}
			if got := count(t, sdb, `SELECT count(*) FROM tailor_inbox`); got != 1 {
				t.Errorf("got %d ids kept, want 1 (the hour-old one)", got)
			}
		})
	}
}

// The pruner prunes at Start and then every interval, forgetting what is
// older than its keep time at each pass; it runs in fake time.
func TestPrunerSchedule(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sdb, in := open(t, func(t testing.TB) func() *sql.DB {
			db := testenv.SQLite(t)
			return func() *sql.DB { return db }
		})
		ctx := context.Background()
		apply := func(n int) {
			t.Helper()
			e, _ := notedType.New("agg", noted{N: n})
			if _, err := in.Apply(ctx, e, func(*sql.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		apply(0)
		p := in.Pruner(inbox.WithKeep(90*time.Minute), inbox.WithInterval(time.Hour))
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err == nil {
			t.Error("got no error starting a pruner twice, want one")
		}
		synctest.Wait()
		if got := count(t, sdb, `SELECT count(*) FROM tailor_inbox`); got != 1 {
			t.Fatalf("after the first pass: %d ids, want 1 (nothing older than 90 minutes)", got)
		}
		time.Sleep(time.Hour) // first interval: the id is an hour old
		synctest.Wait()
		apply(1)
		if got := count(t, sdb, `SELECT count(*) FROM tailor_inbox`); got != 2 {
			t.Fatalf("after one interval: %d ids, want 2", got)
		}
		time.Sleep(time.Hour) // second: the first id is two hours old
		synctest.Wait()
		if got := count(t, sdb, `SELECT count(*) FROM tailor_inbox`); got != 1 {
			t.Fatalf("after two intervals: %d ids, want 1 (the first one pruned)", got)
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewRejectsEmptyConsumer(t *testing.T) {
	t.Parallel()
	db := testenv.SQLite(t)
	if _, err := inbox.New(db, ""); err == nil {
		t.Fatal("got no error for an empty consumer name, want one")
	}
}
