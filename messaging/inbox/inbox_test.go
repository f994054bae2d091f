package inbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
)

type noted struct {
	N int `json:"n"`
}

var notedType = messaging.Type[noted]{Name: "test.noted"}

func open(t *testing.T, fresh func(testing.TB) func() *sql.DB, cfg inbox.Config) (*sql.DB, *inbox.Inbox) {
	t.Helper()
	db := fresh(t)()
	ctx := context.Background()
	if err := inbox.Migrate(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE effects (event_id TEXT NOT NULL, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	in, err := inbox.New(db, "test", cfg)
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
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			for _, maxBatch := range []int{1, 128} {
				t.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(t *testing.T) {
					sdb, in := open(t, db.Fresh, inbox.Config{MaxBatch: maxBatch})
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
	_, in := open(t, testenv.Databases()[0].Fresh, inbox.Config{})
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
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			sdb, in := open(t, db.Fresh, inbox.Config{Now: clock})
			ctx := context.Background()
			for i, age := range []time.Duration{9 * 24 * time.Hour, 3 * 24 * time.Hour, time.Hour} {
				now = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC).Add(-age)
				e, _ := notedType.New("agg", noted{N: i})
				if _, err := in.Apply(ctx, e, func(*sql.Tx) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			now = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

			p := in.Pruner(inbox.PrunerConfig{Interval: time.Hour, Now: clock})
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// The first prune runs at Start: the 9-day-old id goes, the
			// others stay within the default 8 days.
			testenv.Eventually(t, "the pruner's first pass", func() bool {
				return count(t, sdb, `SELECT count(*) FROM tailor_inbox`) == 2
			})
			if err := p.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Start(ctx); err == nil {
				t.Error("got no error starting a pruner twice, want one")
			}

			n, err := in.Prune(ctx, now.Add(-2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("got %d pruned, want 1 (the 3-day-old id)", n)
			}
		})
	}
}

func TestNewRejectsEmptyConsumer(t *testing.T) {
	db := testenv.SQLite(t)
	if _, err := inbox.New(db, "", inbox.Config{}); err == nil {
		t.Fatal("got no error for an empty consumer name, want one")
	}
}
