package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/instrument"
	"github.com/tailorkit/tailor/messaging/internal/sqldialect"
	"github.com/tailorkit/tailor/migrate"
)

// RelayConfig configures a [Relay]. The zero value is valid: every
// field's default is in its doc.
type RelayConfig struct {
	// BatchSize is the most events one pass publishes, in one database
	// transaction. Default 500.
	BatchSize int
	// Interval is how long the relay waits before it looks again after a
	// pass found fewer than BatchSize events; [Relay.Notify] cuts it
	// short. Default 50ms.
	Interval time.Duration
	// PublishTimeout bounds the wait for JetStream to acknowledge a
	// batch. Default 10s.
	PublishTimeout time.Duration
	// MaxBackoff caps the wait between passes while publishing fails;
	// the wait starts at Interval and doubles. Default 5s.
	MaxBackoff time.Duration
	// Retention is how long sent events stay in the table before the
	// relay deletes them. Default 24h.
	Retention time.Duration
	// PruneInterval is how often the relay deletes old sent events.
	// Default 1 minute.
	PruneInterval time.Duration
	// Dialect is the database's SQL dialect. Default: told from the
	// driver.
	Dialect migrate.Dialect
	// Telemetry says where to report: tailor.messaging.published and
	// .publish.errors per subject, and the tailor.messaging.outbox.lag and
	// .pending gauges.
	Telemetry messaging.Telemetry
	// Now tells the time. Default time.Now.
	Now func() time.Time
}

// Relay publishes the events in the outbox table to JetStream and marks
// them sent; see the package doc for its guarantees. It is a service
// component: Start begins the work in the background, Stop ends it after
// the pass in hand. [Relay.PublishPending] and [Relay.Prune] do one step
// of it on demand. A Relay is safe for concurrent use.
type Relay struct {
	db      *sql.DB
	js      jetstream.JetStream
	cfg     RelayConfig
	dialect migrate.Dialect
	ins     *instrument.Set

	wake chan struct{}

	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	lastLag  time.Time
	afterPub func() error // test hook: runs between publishing and marking sent
}

// NewRelay returns a relay from db's outbox table to js.
func NewRelay(db *sql.DB, js jetstream.JetStream, cfg RelayConfig) (*Relay, error) {
	d, err := sqldialect.Detect(db, cfg.Dialect, "outbox")
	if err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ins, err := instrument.New(cfg.Telemetry.TracerProvider, cfg.Telemetry.MeterProvider, cfg.Telemetry.Propagator, cfg.Telemetry.Logger)
	if err != nil {
		return nil, fmt.Errorf("outbox: make the telemetry instruments: %w", err)
	}
	return &Relay{db: db, js: js, cfg: cfg, dialect: d, ins: ins, wake: make(chan struct{}, 1)}, nil
}

// Start begins relaying in the background until Stop.
func (r *Relay) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return errors.New("outbox: relay started twice; make a new Relay")
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go r.run(ctx)
	return nil
}

// Stop ends the relay after the pass in hand and returns once it has, or
// when ctx ends. Events not yet marked sent are published by the next
// relay to run.
func (r *Relay) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: relay did not stop in time: %w", ctx.Err())
	}
}

// Notify makes a running relay look for events now rather than after
// Interval: call it after committing a transaction that added events, for
// the lowest latency. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	wait := time.Duration(0)
	lastPrune := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-r.wake: // the next Reset drops the timer's pending tick
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		n, err := r.PublishPending(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = min(max(2*wait, r.cfg.Interval), r.cfg.MaxBackoff)
			r.ins.Log.Warn("outbox: relay pass failed; trying again", "retry_in", wait.String(), "error", err.Error())
		case n >= r.cfg.BatchSize:
			wait = 0
		default:
			wait = r.cfg.Interval
		}
		if now := r.cfg.Now(); now.Sub(lastPrune) >= r.cfg.PruneInterval {
			lastPrune = now
			if _, err := r.Prune(ctx, now.Add(-r.cfg.Retention)); err != nil && ctx.Err() == nil {
				r.ins.Log.Warn("outbox: pruning sent events failed", "error", err.Error())
			}
		}
	}
}

// row is one pending event.
type row struct {
	seq       int64
	id        string
	subject   string
	aggregate string
	headers   string
	body      []byte
	created   int64
}

// PublishPending publishes one batch of pending events, at most
// BatchSize, marks those JetStream acknowledged as sent, and returns how
// many it took from the table. An error means some or all of the batch
// stays pending for the next pass.
func (r *Relay) PublishPending(ctx context.Context) (int, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin the relay's transaction: %w", err)
	}
	defer tx.Rollback()
	q := `SELECT seq, event_id, subject, aggregate, headers, body, created_us FROM tailor_outbox WHERE sent_us IS NULL ORDER BY seq LIMIT $1`
	if r.dialect == migrate.PostgreSQL {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := tx.QueryContext(ctx, q, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: read pending events: %w; has outbox.Migrate run on this database?", err)
	}
	var batch []row
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.seq, &x.id, &x.subject, &x.aggregate, &x.headers, &x.body, &x.created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox: read pending events: %w", err)
		}
		batch = append(batch, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("outbox: read pending events: %w", err)
	}
	taken := len(batch)
	r.recordLag(ctx, tx, batch)
	if taken == 0 {
		return 0, nil
	}
	if r.dialect == migrate.PostgreSQL {
		if batch, err = r.holdBackOthers(ctx, tx, batch); err != nil {
			return 0, err
		}
	}
	sent, pubErr := r.publish(ctx, batch)
	if len(sent) == 0 {
		return taken, pubErr
	}
	if r.afterPub != nil {
		if err := r.afterPub(); err != nil {
			return taken, err
		}
	}
	// One statement text whatever the batch, so the driver prepares it
	// once per connection rather than once per pass.
	mark := `UPDATE tailor_outbox SET sent_us = $1 WHERE seq = ANY($2)`
	var seqs any = sent
	if r.dialect != migrate.PostgreSQL {
		mark = `UPDATE tailor_outbox SET sent_us = $1 WHERE seq IN (SELECT value FROM json_each($2))`
		list, _ := json.Marshal(sent) // a slice of integers always encodes
		seqs = string(list)
	}
	if _, err := tx.ExecContext(ctx, mark, r.cfg.Now().UnixMicro(), seqs); err != nil {
		return taken, errors.Join(pubErr, fmt.Errorf("outbox: mark %d published events sent: %w; they will be published again, and JetStream drops the copies", len(sent), err))
	}
	if err := tx.Commit(); err != nil {
		return taken, errors.Join(pubErr, fmt.Errorf("outbox: commit the marks of %d published events: %w; they will be published again, and JetStream drops the copies", len(sent), err))
	}
	return taken, pubErr
}

// holdBackOthers drops from batch the events of aggregates that have an
// earlier pending event outside it, which another relay holds: they go
// out after that one, in a later pass.
func (r *Relay) holdBackOthers(ctx context.Context, tx *sql.Tx, batch []row) ([]row, error) {
	first := make(map[string]int64, len(batch))
	var aggs []string
	for _, x := range batch {
		if _, ok := first[x.aggregate]; !ok {
			first[x.aggregate] = x.seq
			aggs = append(aggs, x.aggregate)
		}
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT aggregate, min(seq) FROM tailor_outbox WHERE sent_us IS NULL AND aggregate = ANY($1) AND seq < $2 GROUP BY aggregate`,
		aggs, batch[len(batch)-1].seq)
	if err != nil {
		return nil, fmt.Errorf("outbox: check the order of pending events: %w", err)
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var agg string
		var seq int64
		if err := rows.Scan(&agg, &seq); err != nil {
			return nil, fmt.Errorf("outbox: check the order of pending events: %w", err)
		}
		if seq < first[agg] {
			held[agg] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: check the order of pending events: %w", err)
	}
	if len(held) == 0 {
		return batch, nil
	}
	kept := batch[:0]
	for _, x := range batch {
		if !held[x.aggregate] {
			kept = append(kept, x)
		}
	}
	return kept, nil
}

// publish sends the batch pipelined, in order, and returns the sequence
// numbers of the events JetStream acknowledged.
func (r *Relay) publish(ctx context.Context, batch []row) (sent []int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(batch))
	var errs []error
	for i, x := range batch {
		msg := &nats.Msg{Subject: x.subject, Data: x.body, Header: nats.Header{}}
		if x.headers != "" {
			var h map[string]string
			if json.Unmarshal([]byte(x.headers), &h) == nil {
				for k, v := range h {
					msg.Header.Set(k, v)
				}
			}
		}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(x.id))
		if err != nil {
			errs = append(errs, fmt.Errorf("event %s to %s: %w", x.id, x.subject, err))
			break
		}
		futures[i] = f
	}
	sent = make([]int64, 0, len(batch))
	counts := map[string][2]int64{}
	for i, f := range futures {
		if f == nil {
			continue
		}
		x := batch[i]
		c := counts[x.subject]
		select {
		case <-f.Ok():
			sent = append(sent, x.seq)
			c[0]++
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("event %s to %s: %w", x.id, x.subject, err))
			c[1]++
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("event %s to %s: no acknowledgement: %w", x.id, x.subject, ctx.Err()))
			c[1]++
		}
		counts[x.subject] = c
	}
	for subject, c := range counts {
		attr := metric.WithAttributes(attribute.String("messaging.destination.name", subject))
		if c[0] > 0 {
			r.ins.Published.Add(ctx, c[0], attr)
		}
		if c[1] > 0 {
			r.ins.PublishErrors.Add(ctx, c[1], attr)
		}
	}
	if len(errs) > 0 {
		return sent, fmt.Errorf("outbox: JetStream did not take %d of %d events (first: %w); is NATS up, and is there a stream for the subject? They stay pending", len(batch)-len(sent), len(batch), errs[0])
	}
	return sent, nil
}

// recordLag sets the lag gauges, at most once a second, from the batch
// when it is not full, or from the table.
func (r *Relay) recordLag(ctx context.Context, tx *sql.Tx, batch []row) {
	now := r.cfg.Now()
	r.mu.Lock()
	due := now.Sub(r.lastLag) >= time.Second
	if due {
		r.lastLag = now
	}
	r.mu.Unlock()
	if !due {
		return
	}
	pending := int64(len(batch))
	oldest := int64(0)
	if len(batch) > 0 {
		oldest = batch[0].created
	}
	if len(batch) >= r.cfg.BatchSize {
		var n sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`).Scan(&n); err == nil {
			pending = n.Int64
		}
	}
	lag := 0.0
	if oldest > 0 {
		lag = max(now.Sub(time.UnixMicro(oldest)).Seconds(), 0)
	}
	r.ins.OutboxLag.Record(ctx, lag)
	r.ins.OutboxPending.Record(ctx, pending)
}

// Prune deletes the events sent before before and returns how many.
func (r *Relay) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM tailor_outbox WHERE sent_us IS NOT NULL AND sent_us < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("outbox: delete events sent before %v: %w", before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
