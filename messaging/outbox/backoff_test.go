package outbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
)

// flakyJS is a JetStream whose asynchronous publishes fail while down is
// set and are acknowledged at once otherwise.
type flakyJS struct {
	jetstream.JetStream
	down     atomic.Bool
	attempts atomic.Int64
}

var errDown = errors.New("broker down")

func (f *flakyJS) PublishMsgAsync(m *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	f.attempts.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	ok := make(chan *jetstream.PubAck, 1)
	ok <- &jetstream.PubAck{}
	return ackedFuture{ok: ok, msg: m}, nil
}

type ackedFuture struct {
	ok  chan *jetstream.PubAck
	msg *nats.Msg
}

func (a ackedFuture) Ok() <-chan *jetstream.PubAck { return a.ok }
func (a ackedFuture) Err() <-chan error            { return nil }
func (a ackedFuture) Msg() *nats.Msg               { return a.msg }

// While publishing fails, the relay's passes back off from the interval
// to the maximum backoff instead of retrying every interval, and once
// publishing works again it goes back to the interval at once.
func TestRelayBacksOffWhilePublishingFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db := testenv.SQLite(t)
		if err := outbox.Migrate(ctx, db, 0); err != nil {
			t.Fatal(err)
		}
		ob, err := outbox.New()
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := stepType.New("agg", Step{})
		if err := ob.Add(ctx, tx, "test.steps", e); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		js := &flakyJS{}
		js.down.Store(true)
		r, err := outbox.NewRelay(db, js, outbox.WithInterval(100*time.Millisecond), outbox.WithMaxBackoff(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(ctx)

		time.Sleep(time.Minute)
		synctest.Wait()
		// Waits of about 0.1, 0.2, 0.4, 0.8 and 1.6s, then 2s (jitter
		// ±20%, capped at 2s): 33 to 41 passes in a minute; a relay that
		// kept to its interval would make 600.
		n := js.attempts.Load()
		t.Logf("%d publish attempts in a minute of failures", n)
		if n < 30 || n > 45 {
			t.Errorf("%d publish attempts in a minute of failures, want 30 to 45", n)
		}

		js.down.Store(false)
		time.Sleep(2 * time.Second) // the longest wait: the next pass publishes
		synctest.Wait()
		var pending int
		if err := db.QueryRow(`SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending != 0 {
			t.Fatalf("%d events pending once publishing works, want 0", pending)
		}
		// Back to the interval: a new event goes out within it.
		tx, _ = db.BeginTx(ctx, nil)
		e, _ = stepType.New("agg", Step{Seq: 1})
		if err := ob.Add(ctx, tx, "test.steps", e); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		before := js.attempts.Load()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got := js.attempts.Load() - before; got != 1 {
			t.Errorf("%d publishes within an interval after recovery, want 1", got)
		}
	})
}
