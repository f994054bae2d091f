package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
)

// BenchmarkEndToEnd measures the whole path: writers make a change and add
// the event that announces it to the outbox (one transaction each), a
// relay publishes the events to JetStream, and a consumer applies them
// through an inbox in another database. It reports events/s and the
// p50/p99 delivery latency, from the event's time to its effect's commit,
// and written/s, the rate of the writers alone (eight concurrent requests,
// each one business row and one event), which bounds the rest. The
// writers either run BEGIN, the row's INSERT, Outbox.Add and COMMIT
// ("tx") or Outbox.Exec ("exec"). The consumer runs 64 workers, so the
// inbox applies events in batches. Run it with a fixed count, such as
// -benchtime=20000x.
func BenchmarkEndToEnd(b *testing.B) {
	const poolSize = 16
	type broker struct {
		name    string
		connect func(b *testing.B) *nats.Conn
	}
	brokers := []broker{
		{"embedded", func(b *testing.B) *nats.Conn {
			srv := testenv.Embedded(b, false)
			nc, err := srv.Connect()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(nc.Close)
			return nc
		}},
		{"external", func(b *testing.B) *nats.Conn { return testenv.External(b) }},
	}
	type database struct {
		name string
		// open returns the writers' and relay's database and the
		// consumer's, each opened as often as asked.
		open func(b *testing.B) (producer, consumer func() *sql.DB)
	}
	databases := []database{
		{"sqlite", func(b *testing.B) (func() *sql.DB, func() *sql.DB) {
			p, c := testenv.SQLite(b), testenv.SQLite(b)
			return func() *sql.DB { return p }, func() *sql.DB { return c }
		}},
		{"postgres", func(b *testing.B) (func() *sql.DB, func() *sql.DB) {
			p, c := testenv.Postgres(b), testenv.Postgres(b)
			// A service sizes its pool: database/sql keeps only 2 idle
			// connections by default, and on PostgreSQL every connection
			// beyond them costs a new backend process per transaction.
			pooled := func(open func() *sql.DB) func() *sql.DB {
				return func() *sql.DB {
					db := open()
					db.SetMaxOpenConns(poolSize)
					db.SetMaxIdleConns(poolSize)
					return db
				}
			}
			return pooled(p), pooled(c)
		}},
	}
	for _, d := range databases {
		for _, br := range brokers {
			for _, w := range []string{"tx", "exec"} {
				b.Run(d.name+"/"+br.name+"/"+w, func(b *testing.B) {
					benchEndToEnd(b, br.connect(b), d.open, w == "exec")
				})
			}
		}
	}
}

func benchEndToEnd(b *testing.B, nc *nats.Conn, open func(b *testing.B) (func() *sql.DB, func() *sql.DB), exec bool) {
	ctx := context.Background()
	js := testenv.JetStream(b, nc)
	stream, subject := testenv.Stream(b, js)
	subject += ".bench"
	producer, consumer := open(b)
	pdb, cdb := producer(), consumer()
	if err := outbox.Migrate(ctx, pdb, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := pdb.Exec(`CREATE TABLE steps (aggregate TEXT NOT NULL, seq INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	if err := inbox.Migrate(ctx, cdb, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := cdb.Exec(`CREATE TABLE applied (event_id TEXT NOT NULL, seq INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	ob, _ := outbox.New()
	relay, err := outbox.NewRelay(producer(), js, outbox.WithInterval(2*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	in, _ := inbox.New(cdb, "bench")
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		done      = make(chan struct{})
		applied   atomic.Int64
	)
	h := inbox.Handle(in, stepType, func(ctx context.Context, tx *sql.Tx, e messaging.Event, s Step) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO applied (event_id, seq) VALUES ($1, $2)`, e.ID, s.Seq)
		return err
	})
	count := func(ctx context.Context, e messaging.Event) error {
		if err := h(ctx, e); err != nil {
			return err
		}
		lat := time.Since(e.Time)
		mu.Lock()
		latencies = append(latencies, lat)
		mu.Unlock()
		if applied.Add(1) == int64(b.N) {
			close(done)
		}
		return nil
	}
	c, err := messaging.NewConsumer(js, stream, "bench", count, messaging.WithWorkers(64))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Stop(ctx)
	if err := relay.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer relay.Stop(ctx)

	const writers = 8
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				agg := fmt.Sprintf("agg-%d", i%64)
				e, _ := stepType.New(agg, Step{Seq: int(i)})
				const change = `INSERT INTO steps (aggregate, seq) VALUES ($1, $2)`
				if exec {
					if err := ob.Exec(ctx, pdb, change, []any{agg, i}, subject, e); err != nil {
						b.Error(err)
						return
					}
					continue
				}
				tx, err := pdb.BeginTx(ctx, nil)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := tx.ExecContext(ctx, change, agg, i); err != nil {
					tx.Rollback()
					b.Error(err)
					return
				}
				if err := ob.Add(ctx, tx, subject, e); err != nil {
					tx.Rollback()
					b.Error(err)
					return
				}
				if err := tx.Commit(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wrote := time.Since(start)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		var pending int
		pdb.QueryRow(`SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`).Scan(&pending)
		b.Fatalf("only %d of %d events applied within 60s; %d still in the outbox", applied.Load(), b.N, pending)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/wrote.Seconds(), "written/s")
	b.ReportMetric(0, "ns/op")
}
