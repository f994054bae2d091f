package outbox

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/instrument"
	"github.com/tailorkit/tailor/messaging/internal/lifecycle"
	"github.com/tailorkit/tailor/messaging/internal/sqldialect"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/observability/status"
)

// settings are the options of [New] and [NewRelay] after defaults.
type settings struct {
	tel            messaging.Telemetry
	name           string
	batchSize      int
	interval       time.Duration
	publishTimeout time.Duration
	maxBackoff     time.Duration
	lease          time.Duration
	retention      time.Duration
	pruneInterval  time.Duration
	dialect        migrate.Dialect
}

func newSettings(opts []Option) settings {
	s := settings{
		batchSize:      500,
		interval:       50 * time.Millisecond,
		publishTimeout: 10 * time.Second,
		maxBackoff:     5 * time.Second,
		retention:      24 * time.Hour,
		pruneInterval:  time.Minute,
		name:           "outbox",
	}
	for _, o := range opts {
		o(&s)
	}
	if s.lease == 0 {
		s.lease = 3 * s.publishTimeout
	}
	return s
}

// Option sets an optional property of an [Outbox] or a [Relay]. New uses
// only WithTelemetry; NewRelay uses them all.
type Option func(*settings)

// WithTelemetry sets where to report. An Outbox makes a "create" span per
// event and writes its trace context with the event, for consumers to
// continue the trace; a Relay counts tailor.messaging.published and
// .publish.errors per subject and records the tailor.messaging.outbox.lag
// and .pending gauges, and logs failed passes. A running Relay also lists
// itself on the service's operations dashboard when tel can (see
// [Relay.Status]), as the service's *observability.Telemetry can.
// Default: nowhere.
func WithTelemetry(tel messaging.Telemetry) Option {
	return func(s *settings) { s.tel = tel }
}

// WithName names the relay on the service's operations dashboard, such
// as "orders". Default "outbox".
func WithName(name string) Option { return func(s *settings) { s.name = name } }

// WithBatchSize sets the most events one relay pass claims and publishes.
// Default 500.
func WithBatchSize(n int) Option { return func(s *settings) { s.batchSize = n } }

// WithInterval sets how long the relay waits before it looks again after
// a pass found fewer than a batch of events; [Relay.Notify] cuts it
// short. Default 50ms.
func WithInterval(d time.Duration) Option { return func(s *settings) { s.interval = d } }

// WithPublishTimeout bounds the wait for JetStream to acknowledge a
// batch. Default 10s.
func WithPublishTimeout(d time.Duration) Option { return func(s *settings) { s.publishTimeout = d } }

// WithMaxBackoff caps the wait between passes while publishing fails; the
// wait starts near Interval and doubles, with jitter. Default 5s.
func WithMaxBackoff(d time.Duration) Option { return func(s *settings) { s.maxBackoff = d } }

// WithLease sets how long a relay's claim on a batch lasts. A relay that
// dies holding a claim delays those events (and the later events of their
// aggregates) by at most this much, after which another relay, or the
// same one restarted, takes them. It must exceed the publish timeout, so
// that a live relay's claim does not lapse while it waits for
// acknowledgements. Default three times the publish timeout (30s).
func WithLease(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithRetention sets how long sent events stay in the table before the
// relay deletes them. Default 24h.
func WithRetention(d time.Duration) Option { return func(s *settings) { s.retention = d } }

// WithPruneInterval sets how often the relay deletes old sent events.
// Default 1 minute.
func WithPruneInterval(d time.Duration) Option { return func(s *settings) { s.pruneInterval = d } }

// WithDialect sets the database's SQL dialect. Default: told from the
// driver.
func WithDialect(d migrate.Dialect) Option { return func(s *settings) { s.dialect = d } }

// Relay publishes the events in the outbox table to JetStream and marks
// them sent; see the package doc for its guarantees. It is a service
// component: Start begins the work in the background, Stop ends it after
// the pass in hand. [Relay.PublishPending] and [Relay.Prune] do one step
// of it on demand. A Relay is safe for concurrent use.
type Relay struct {
	db      *sql.DB
	js      jetstream.JetStream
	cfg     settings
	dialect migrate.Dialect
	ins     *instrument.Set

	// claimBatch and claimOne are claimQuery for a whole batch and for
	// the single event a pass tries while publishing fails.
	claimBatch, claimOne string

	wake chan struct{}
	loop lifecycle.Loop

	mu       sync.Mutex
	lastLag  time.Time
	afterPub func() error // test hook: runs between publishing and marking sent

	// What status reports: counts since the relay was made, and the
	// backlog as last read, with when (by now, the relay's clock).
	published, failures atomic.Int64
	backlogMu           sync.Mutex
	backlog             backlog
	now                 func() time.Time
}

// backlog is the pending events as read from the table at a time.
type backlog struct {
	at      time.Time
	pending int
	oldest  int64 // created_us of the first pending event; 0 when none
}

// outboxTracker is a [messaging.Telemetry] that lists relays on the
// service's dashboard, as *observability.Telemetry does.
type outboxTracker interface {
	TrackOutbox(report func() status.Outbox) (untrack func())
}

// NewRelay returns a relay from db's outbox table to js.
func NewRelay(db *sql.DB, js jetstream.JetStream, opts ...Option) (*Relay, error) {
	cfg := newSettings(opts)
	d, err := sqldialect.Detect(db, cfg.dialect, "outbox")
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.batchSize < 1:
		return nil, fmt.Errorf("outbox: WithBatchSize(%d); a batch holds at least one event", cfg.batchSize)
	case cfg.interval <= 0 || cfg.publishTimeout <= 0 || cfg.maxBackoff <= 0 || cfg.retention <= 0 || cfg.pruneInterval <= 0:
		return nil, errors.New("outbox: the relay's interval, publish timeout, maximum backoff, retention and prune interval must be positive")
	case cfg.lease <= cfg.publishTimeout:
		return nil, fmt.Errorf("outbox: WithLease(%v) is not longer than the publish timeout (%v); a claim would lapse while the relay waits for acknowledgements", cfg.lease, cfg.publishTimeout)
	}
	ins, err := instrument.New(cfg.tel)
	if err != nil {
		return nil, fmt.Errorf("outbox: make the telemetry instruments: %w", err)
	}
	lock := ""
	if d == migrate.PostgreSQL {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	return &Relay{
		db: db, js: js, cfg: cfg, dialect: d, ins: ins,
		claimBatch: fmt.Sprintf(claimQuery, cfg.batchSize, lock),
		claimOne:   fmt.Sprintf(claimQuery, 1, lock),
		wake:       make(chan struct{}, 1),
		now:        time.Now,
	}, nil
}

// Start begins relaying in the background until Stop.
func (r *Relay) Start(ctx context.Context) error {
	return r.loop.Start(ctx, "outbox: relay", nil, func(ctx context.Context) {
		if t, ok := r.cfg.tel.(outboxTracker); ok {
			defer t.TrackOutbox(r.status)()
		}
		r.run(ctx)
	})
}

// backlogTTL is how long [Relay.status] reuses the backlog it read.
const backlogTTL = time.Second

// status reports the relay for an operator's dashboard: the events
// pending in the table and how long the first of them has waited, and
// the events the relay published and failed to publish since it was
// made. It reads the table at most once a second, whoever asks (an index
// count of the pending events and a lookup of the first), and within
// that second reports what it read; when the read fails, it reports the
// last backlog it could read.
func (r *Relay) status() status.Outbox {
	now := r.now()
	r.backlogMu.Lock()
	if now.Sub(r.backlog.at) >= backlogTTL || now.Before(r.backlog.at) {
		r.backlog.at = now
		ctx, cancel := context.WithTimeout(context.Background(), backlogTTL)
		var (
			pending int
			oldest  sql.NullInt64
		)
		err := r.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL),
	(SELECT created_us FROM tailor_outbox WHERE sent_us IS NULL ORDER BY seq LIMIT 1)`).Scan(&pending, &oldest)
		cancel()
		if err == nil {
			r.backlog.pending, r.backlog.oldest = pending, oldest.Int64
		}
	}
	b := r.backlog
	r.backlogMu.Unlock()
	st := status.Outbox{Name: r.cfg.name, Pending: b.pending, Published: r.published.Load(), Failures: r.failures.Load()}
	if b.oldest > 0 {
		st.Oldest = max(now.Sub(time.UnixMicro(b.oldest)), 0)
	}
	return st
}

// Stop ends the relay after the pass in hand and returns once it has, or
// when ctx ends. Events not yet marked sent are published by the next
// relay to run.
func (r *Relay) Stop(ctx context.Context) error {
	return r.loop.Stop(ctx, "outbox: relay")
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
	retry := &backoff.ExponentialBackOff{
		InitialInterval:     r.cfg.interval,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         r.cfg.maxBackoff,
	}
	retry.Reset()
	wait := time.Duration(0)
	failing := false
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
		// While publishing fails, a pass tries one event: claiming and
		// releasing whole batches would only load the database.
		limit := r.cfg.batchSize
		if failing {
			limit = 1
		}
		n, err := r.pass(ctx, limit)
		failing = err != nil
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = min(retry.NextBackOff(), r.cfg.maxBackoff)
			r.ins.Log.Warn("outbox: relay pass failed; trying again", "retry_in", wait.String(), "error", err.Error())
		case n >= limit:
			retry.Reset()
			wait = 0
		default:
			retry.Reset()
			wait = r.cfg.interval
		}
		if now := time.Now(); now.Sub(lastPrune) >= r.cfg.pruneInterval {
			lastPrune = now
			if _, err := r.Prune(ctx, now.Add(-r.cfg.retention)); err != nil && ctx.Err() == nil {
				r.ins.Log.Warn("outbox: pruning sent events failed", "error", err.Error())
			}
		}
	}
}

// row is one claimed event.
type row struct {
	seq       int64
	id        string
	subject   string
	aggregate string
	headers   string
	body      []byte
	created   int64
}

// claimQuery claims, in one statement, the first pending events that no
// live claim holds, leaving out the aggregates whose first pending event
// is not among them (another relay has it in hand: the later ones wait
// for it). It costs one index probe per aggregate in the batch, however
// many events wait. $1 is now, $2 the claim's end; NewRelay writes the
// limit and the lock clause into the text once for each of the relay's
// two statements (Relay.claimBatch and Relay.claimOne), so that
// PostgreSQL plans for the limit rather than for a tenth of the table,
// which turns the update into a scan of every row. On
// PostgreSQL, FOR UPDATE SKIP LOCKED keeps two relays that claim at once
// off each other's rows; SQLite runs one writer at a time.
const claimQuery = `WITH c AS MATERIALIZED (
	SELECT seq, aggregate FROM tailor_outbox
	WHERE sent_us IS NULL AND (claimed_until_us IS NULL OR claimed_until_us < $1)
	ORDER BY seq LIMIT %d%s),
f AS MATERIALIZED (SELECT aggregate, min(seq) AS first FROM c GROUP BY aggregate)
UPDATE tailor_outbox SET claimed_until_us = $2
WHERE seq IN (SELECT c.seq FROM c JOIN f ON f.aggregate = c.aggregate
	WHERE f.first = (SELECT min(o.seq) FROM tailor_outbox o WHERE o.aggregate = f.aggregate AND o.sent_us IS NULL))
RETURNING seq, event_id, subject, aggregate, headers, body, created_us`

// PublishPending claims a batch of pending events, at most the batch
// size, publishes them, marks those JetStream acknowledged as sent and
// releases the others, and returns how many it claimed. No database
// transaction or connection is held while it waits for JetStream: the
// claim and the marks are each one short statement, so a broker outage
// slows the relay, not the service's requests. An error means some or all
// of the batch stays pending for the next pass.
func (r *Relay) PublishPending(ctx context.Context) (int, error) {
	return r.pass(ctx, r.cfg.batchSize)
}

// pass is PublishPending with a batch of at most limit events.
func (r *Relay) pass(ctx context.Context, limit int) (int, error) {
	batch, err := r.claim(ctx, limit)
	if err != nil {
		return 0, err
	}
	r.recordLag(ctx, batch, limit)
	if len(batch) == 0 {
		return 0, nil
	}
	sent, pubErr := r.publish(ctx, batch)
	if r.afterPub != nil {
		if err := r.afterPub(); err != nil {
			return len(batch), err
		}
	}
	if err := r.settle(ctx, batch, sent); err != nil {
		return len(batch), errors.Join(pubErr, err)
	}
	return len(batch), pubErr
}

// claim takes the next batch, of the batch size or (limit 1) of one
// event, and returns it in order.
func (r *Relay) claim(ctx context.Context, limit int) ([]row, error) {
	q := r.claimBatch
	if limit == 1 {
		q = r.claimOne
	}
	now := time.Now()
	rows, err := r.db.QueryContext(ctx, q, now.UnixMicro(), now.Add(r.cfg.lease).UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("outbox: claim pending events: %w; has outbox.Migrate run on this database?", err)
	}
	defer rows.Close()
	var batch []row
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.seq, &x.id, &x.subject, &x.aggregate, &x.headers, &x.body, &x.created); err != nil {
			return nil, fmt.Errorf("outbox: claim pending events: %w", err)
		}
		batch = append(batch, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: claim pending events: %w", err)
	}
	slices.SortFunc(batch, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
	return batch, nil
}

// settle marks the sent events of batch sent and releases the claim on
// the others, in one statement. When it fails, the claim lapses after the
// lease and the events are published again; JetStream drops the copies.
func (r *Relay) settle(ctx context.Context, batch []row, sent []int64) error {
	all := make([]int64, len(batch))
	for i, x := range batch {
		all[i] = x.seq
	}
	// One statement text whatever the batch, so the driver prepares it
	// once per connection rather than once per pass.
	q := `UPDATE tailor_outbox SET claimed_until_us = NULL, sent_us = CASE WHEN seq = ANY($2) THEN $1::bigint END WHERE seq = ANY($3)`
	var sentArg, allArg any = sent, all
	if r.dialect != migrate.PostgreSQL {
		q = `UPDATE tailor_outbox SET claimed_until_us = NULL, sent_us = CASE WHEN seq IN (SELECT value FROM json_each($2)) THEN $1 END WHERE seq IN (SELECT value FROM json_each($3))`
		s, _ := json.Marshal(sent) // a slice of integers always encodes
		a, _ := json.Marshal(all)
		sentArg, allArg = string(s), string(a)
	}
	// The marks are worth making even when the pass is being stopped.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.publishTimeout)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, q, time.Now().UnixMicro(), sentArg, allArg); err != nil {
		return fmt.Errorf("outbox: mark %d published events sent: %w; they will be published again once their claim lapses, and JetStream drops the copies", len(sent), err)
	}
	return nil
}

// publish sends the batch pipelined, in order, and returns the sequence
// numbers of the events JetStream acknowledged.
func (r *Relay) publish(ctx context.Context, batch []row) (sent []int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.publishTimeout)
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
	r.published.Add(int64(len(sent)))
	r.failures.Add(int64(len(batch) - len(sent)))
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
// when it is not full (fewer than limit), or from the table.
func (r *Relay) recordLag(ctx context.Context, batch []row, limit int) {
	now := time.Now()
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
	if len(batch) >= limit {
		var n sql.NullInt64
		if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`).Scan(&n); err == nil {
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
