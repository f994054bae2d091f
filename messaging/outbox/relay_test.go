package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
)

// Step is the test's event: the seq-th step of an aggregate.
type Step struct {
	Seq int `json:"seq"`
}

var stepType = messaging.Type[Step]{Name: "step.done"}

// world is an outbox database, a stream and a consumer that applies the
// events idempotently into table applied.
type world struct {
	t       *testing.T
	open    func() *sql.DB
	db      *sql.DB
	js      jetstream.JetStream
	stream  string
	subject string
	ob      *outbox.Outbox
}

func newWorld(t *testing.T, open func() *sql.DB, js jetstream.JetStream) *world {
	t.Helper()
	w := &world{t: t, open: open, db: open(), js: js}
	w.stream, w.subject = testenv.Stream(t, js)
	w.subject += ".steps"
	ctx := context.Background()
	if err := outbox.Migrate(ctx, w.db, 0); err != nil {
		t.Fatal(err)
	}
	if err := inbox.Migrate(ctx, w.db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(`CREATE TABLE applied (event_id TEXT NOT NULL, aggregate TEXT NOT NULL, seq INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New()
	if err != nil {
		t.Fatal(err)
	}
	w.ob = ob
	return w
}

// write writes n events, each in a transaction of its own, spread over
// aggs aggregates, numbered from first.
func (w *world) write(first, n, aggs int) {
	w.t.Helper()
	ctx := context.Background()
	for i := first; i < first+n; i++ {
		e, err := stepType.New(fmt.Sprintf("agg-%d", i%aggs), Step{Seq: i / aggs})
		if err != nil {
			w.t.Fatal(err)
		}
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.ob.Add(ctx, tx, w.subject, e); err != nil {
			tx.Rollback()
			w.t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) relay(opts ...outbox.Option) *outbox.Relay {
	w.t.Helper()
	r, err := outbox.NewRelay(w.open(), w.js, opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// consume starts a consumer that applies the events through the inbox.
func (w *world) consume(opts ...messaging.ConsumerOption) *messaging.Consumer {
	w.t.Helper()
	in, err := inbox.New(w.db, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	h := inbox.Handle(in, stepType, func(ctx context.Context, tx *sql.Tx, e messaging.Event, s Step) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO applied (event_id, aggregate, seq) VALUES ($1, $2, $3)`, e.ID, e.Aggregate, s.Seq)
		return err
	})
	c, err := messaging.NewConsumer(w.js, w.stream, "test", h, opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

func (w *world) count(q string) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(q).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (w *world) pending() int {
	return w.count(`SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`)
}

func (w *world) streamMsgs() uint64 {
	w.t.Helper()
	s, err := w.js.Stream(context.Background(), w.stream)
	if err != nil {
		w.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return info.State.Msgs
}

func TestRelayPublishesInOrderOnce(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, db.Fresh(t), js)
			const n, aggs = 300, 7
			w.write(0, n, aggs)
			r := w.relay(outbox.WithBatchSize(64))
			for w.pending() > 0 {
				if _, err := r.PublishPending(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := w.streamMsgs(); got != n {
				t.Fatalf("stream holds %d events, want %d", got, n)
			}
			checkStreamOrder(t, js, w.stream, n)
			w.consume(messaging.WithWorkers(4))
			testenv.Eventually(t, "every event applied", func() bool { return w.count(`SELECT count(*) FROM applied`) >= n })
			if got := w.count(`SELECT count(DISTINCT event_id) FROM applied`); got != n {
				t.Errorf("applied %d distinct events, want %d", got, n)
			}
		})
	}
}

// checkStreamOrder reads the stream and fails unless each aggregate's
// steps come in order, each once.
func checkStreamOrder(t *testing.T, js jetstream.JetStream, stream string, n int) {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		msg, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("read event %d of %d from the stream: %v", i+1, n, err)
		}
		e, err := messaging.DecodeEvent(msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.ID] {
			t.Fatalf("event %s is in the stream twice", e.ID)
		}
		seen[e.ID] = true
		s, err := stepType.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		if s.Seq != next[e.Aggregate] {
			t.Fatalf("aggregate %s: got step %d, want step %d", e.Aggregate, s.Seq, next[e.Aggregate])
		}
		next[e.Aggregate]++
	}
}

// A crash between the commit and the publish: the events wait in the
// outbox, and a relay started later publishes them, once. A crash between
// the publish and the marking: the next relay publishes them again and
// JetStream keeps one copy.
func TestCrashBetweenCommitAndPublish(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, db.Fresh(t), js)
			const n = 50
			w.write(0, n, 5) // committed; no relay ran: the process "crashed"
			if got := w.streamMsgs(); got != 0 {
				t.Fatalf("stream holds %d events before any relay ran, want 0", got)
			}

			// The first relay publishes and dies before marking them sent;
			// its claim lapses after the lease.
			crashed := w.relay(outbox.WithPublishTimeout(100*time.Millisecond), outbox.WithLease(300*time.Millisecond))
			outbox.CrashAfterPublish(crashed)
			if _, err := crashed.PublishPending(context.Background()); !errors.Is(err, outbox.ErrCrash) {
				t.Fatalf("PublishPending = %v, want the simulated crash", err)
			}
			if got := w.pending(); got != n {
				t.Fatalf("%d events pending after the crash, want %d", got, n)
			}

			// The restarted relay publishes them again; the stream keeps one copy.
			r := w.relay(outbox.WithInterval(5 * time.Millisecond))
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, "the outbox drained", func() bool { return w.pending() == 0 })
			if err := r.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := w.streamMsgs(); got != n {
				t.Errorf("stream holds %d events, want %d (once each)", got, n)
			}
			checkStreamOrder(t, js, w.stream, n)
		})
	}
}

// countingJS records every id published through it.
type countingJS struct {
	jetstream.JetStream
	mu  sync.Mutex
	ids map[string]int
}

func (c *countingJS) PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	f, err := c.JetStream.PublishMsgAsync(m, opts...)
	c.mu.Lock()
	c.ids[m.Header.Get(jetstream.MsgIDHeader)]++ // set by the WithMsgID option
	c.mu.Unlock()
	return f, err
}

// Two relays on one PostgreSQL database never publish the same row, and
// keep each aggregate's order.
func TestTwoRelaysOnePostgres(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	open := testenv.Postgres(t)
	w := newWorld(t, open, js)
	const n, aggs = 2000, 13
	counting := &countingJS{JetStream: js, ids: map[string]int{}}
	var relays []*outbox.Relay
	for range 2 {
		r, err := outbox.NewRelay(open(), counting, outbox.WithBatchSize(50), outbox.WithInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		relays = append(relays, r)
	}
	var wg sync.WaitGroup
	for g := range 4 { // writers race the relays
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.write(g*n/4, n/4, aggs)
		}()
	}
	wg.Wait()
	testenv.Eventually(t, "the outbox drained", func() bool { return w.pending() == 0 })
	for _, r := range relays {
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(counting.ids) != n {
		t.Errorf("relays published %d distinct events, want %d", len(counting.ids), n)
	}
	for id, k := range counting.ids {
		if k != 1 {
			t.Errorf("event %s published %d times, want once", id, k)
		}
	}
	if got := w.streamMsgs(); got != n {
		t.Errorf("stream holds %d events, want %d", got, n)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, db.Fresh(t), js)
			w.write(0, 10, 2)
			r := w.relay()
			before := time.Now()
			if _, err := r.PublishPending(context.Background()); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			w.write(10, 3, 2) // pending: never pruned
			tests := []struct {
				name   string
				before time.Time
				want   int64
			}{
				{"nothing sent that long ago", before.Add(-time.Millisecond), 0},
				{"everything sent", after.Add(time.Millisecond), 10},
				{"nothing left", after.Add(time.Hour), 0},
			}
			for _, tt := range tests {
				got, err := r.Prune(context.Background(), tt.before)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("%s: Prune = %d, want %d", tt.name, got, tt.want)
				}
			}
			if got := w.pending(); got != 3 {
				t.Errorf("%d pending events after pruning, want 3", got)
			}
		})
	}
}
