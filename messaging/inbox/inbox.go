// Package inbox makes a message consumer idempotent: it records the id of
// each event it applies in the consumer's own database, in the same
// transaction as the event's effect, so an event delivered twice (which
// at-least-once delivery does) takes effect once.
//
// Start with [Migrate], which creates the inbox table (tailor_inbox, with
// its migrations recorded in tailor_inbox_migrations), then wrap the
// handler that applies an event with [Inbox.Handler], or with [Handle]
// for a typed event, and give it to a messaging.Consumer:
//
//	in, _ := inbox.New(db, "shop-projection", inbox.WithTelemetry(svc.Telemetry()))
//	h := inbox.Handle(in, catalog.ProductCreated, func(ctx context.Context, tx *sql.Tx, e messaging.Event, p catalog.ProductCreatedV1) error {
//		_, err := tx.ExecContext(ctx, "INSERT INTO product_names (id, name) VALUES ($1, $2)", p.ID, p.Name)
//		return err
//	})
//	consumer, _ := messaging.NewConsumer(js, "CATALOG", "shop-projection", h)
//
// The ids of applied events stay in the table until they are pruned: run
// a [Pruner] beside the consumer (svc.Add(in.Pruner()))
// to forget those older than the stream keeps events.
//
// Several events handed to the inbox at once, as a consumer with Workers
// > 1 does, are applied in one transaction (see [WithMaxBatch]); an
// event that cannot be applied falls back to a transaction of its own.
//
// Works on PostgreSQL and SQLite.
package inbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/lifecycle"
	"github.com/tailorkit/tailor/messaging/internal/sqldialect"
	"github.com/tailorkit/tailor/migrate"
)

// MigrationsTable is where [Migrate] records the inbox's migrations.
const MigrationsTable = "tailor_inbox_migrations"

//go:embed migrations
var migrations embed.FS

// Migrations returns the inbox's migrations for dialect d, for
// [migrate.Up] with [migrate.WithTable]([MigrationsTable]); [Migrate] does
// exactly that.
func Migrations(d migrate.Dialect) fs.FS { return sqldialect.Sub(migrations, d) }

// Migrate creates or updates the inbox table in db. d is the dialect, or 0
// to tell it from db's driver. It is safe to call at every start, from
// several instances at once.
func Migrate(ctx context.Context, db *sql.DB, d migrate.Dialect) error {
	return sqldialect.Migrate(ctx, db, d, migrations, MigrationsTable, "inbox")
}

// settings are the options of [New] after defaults.
type settings struct {
	dialect  migrate.Dialect
	maxBatch int
	tel      messaging.Telemetry
}

// Option sets an optional property of an [Inbox].
type Option func(*settings)

// WithDialect sets the database's SQL dialect. Default: told from the
// driver.
func WithDialect(d migrate.Dialect) Option { return func(s *settings) { s.dialect = d } }

// WithMaxBatch sets the most events applied in one transaction. Events
// handed to the inbox while a transaction is under way (as a
// messaging.Consumer with several workers does) wait for it and go
// together into the next one, so a busy consumer pays one commit for many
// events. Default 128; 1 gives every event a transaction of its own.
func WithMaxBatch(n int) Option { return func(s *settings) { s.maxBatch = n } }

// WithTelemetry sets where the inbox's [Pruner] logs a prune that failed.
// Default: nowhere.
func WithTelemetry(tel messaging.Telemetry) Option { return func(s *settings) { s.tel = tel } }

// Inbox records which events one consumer applied. The zero value is not
// usable; make one with [New]. It is safe for concurrent use, and
// concurrent calls are what it batches (see [WithMaxBatch]).
type Inbox struct {
	db       *sql.DB
	dialect  migrate.Dialect
	consumer string
	maxBatch int
	log      *slog.Logger

	mu      sync.Mutex
	queue   []*request
	running bool // a goroutine is applying the queue
}

// New returns the inbox of the consumer named consumer (one name per
// consumer: two consumers of the same event each apply it once) in db,
// whose schema [Migrate] has set up.
func New(db *sql.DB, consumer string, opts ...Option) (*Inbox, error) {
	if consumer == "" {
		return nil, fmt.Errorf("inbox: empty consumer name; name it after the consumer, such as \"shop-projection\"")
	}
	cfg := settings{maxBatch: 128}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxBatch < 1 {
		return nil, fmt.Errorf("inbox: WithMaxBatch(%d); a batch holds at least one event", cfg.maxBatch)
	}
	d, err := sqldialect.Detect(db, cfg.dialect, "inbox")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.tel != nil && cfg.tel.Logger() != nil {
		log = cfg.tel.Logger()
	}
	return &Inbox{db: db, dialect: d, consumer: consumer, maxBatch: cfg.maxBatch, log: log}, nil
}

// Handler returns a handler that applies each event once: in one
// transaction it records the event's id and calls apply, and commits only
// when apply returns nil. An event whose id is recorded already is
// acknowledged without calling apply again. See [Inbox.Apply] for what
// apply may do.
func (in *Inbox) Handler(apply func(ctx context.Context, tx *sql.Tx, e messaging.Event) error) messaging.Handler {
	return func(ctx context.Context, e messaging.Event) error {
		_, err := in.Apply(ctx, e, func(tx *sql.Tx) error { return apply(ctx, tx, e) })
		return err
	}
}

// Handle is [Inbox.Handler] for a typed event: it decodes the payload
// first, and an event that does not decode is a permanent error (see
// [messaging.Permanent]).
func Handle[T any](in *Inbox, t messaging.Type[T], apply func(ctx context.Context, tx *sql.Tx, e messaging.Event, p T) error) messaging.Handler {
	return func(ctx context.Context, e messaging.Event) error {
		p, err := t.Decode(e)
		if err != nil {
			return messaging.Permanent(err)
		}
		_, err = in.Apply(ctx, e, func(tx *sql.Tx) error { return apply(ctx, tx, e, p) })
		return err
	}
}

// request is one call of Apply waiting for a batch.
type request struct {
	e     messaging.Event
	apply func(tx *sql.Tx) error
	done  chan outcome
}

// outcome answers a request: applied, or alone when the caller is to
// apply its event in a transaction of its own.
type outcome struct {
	applied bool
	alone   bool
}

// Apply runs apply in a transaction that records e's id, unless it is
// recorded already, and reports whether apply ran and committed. It
// returns once that transaction committed or rolled back.
//
// The transaction may be shared with the events of other calls made at
// the same time (see [WithMaxBatch]), each applied in the order the
// calls came. apply must therefore do its work through tx alone, and may
// run more than once: when any apply of a batch fails, or the batch does
// not commit, the batch rolls back and each of its events is applied
// again in a transaction of its own, so that one event that cannot be
// applied costs the others nothing and its error is its own.
func (in *Inbox) Apply(ctx context.Context, e messaging.Event, apply func(tx *sql.Tx) error) (applied bool, err error) {
	if in.maxBatch > 1 {
		r := &request{e: e, apply: apply, done: make(chan outcome, 1)}
		in.mu.Lock()
		in.queue = append(in.queue, r)
		if !in.running {
			in.running = true
			go in.drain()
		}
		in.mu.Unlock()
		if o := <-r.done; !o.alone {
			return o.applied, nil
		}
	}
	return in.applyOne(ctx, e, apply)
}

// drain applies the queued requests, a batch at a time, until the queue
// is empty. A request alone in the queue goes back to its caller, which
// applies it without waiting for anyone.
func (in *Inbox) drain() {
	for {
		in.mu.Lock()
		n := min(len(in.queue), in.maxBatch)
		if n == 0 {
			in.running = false
			in.mu.Unlock()
			return
		}
		batch := slices.Clone(in.queue[:n])
		in.queue = slices.Delete(in.queue, 0, n)
		in.mu.Unlock()
		if n == 1 {
			batch[0].done <- outcome{alone: true}
			continue
		}
		applied, err := in.applyBatch(batch)
		for i, r := range batch {
			r.done <- outcome{applied: err == nil && applied[i], alone: err != nil}
		}
	}
}

// applyBatch applies the batch in one transaction and reports which of
// its events it applied. An error means it rolled back.
func (in *Inbox) applyBatch(batch []*request) (applied []bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			// The event's own caller applies it again and meets the
			// panic, where its consumer turns it into an error.
			err = fmt.Errorf("inbox: apply panicked: %v", r)
		}
	}()
	ctx := context.Background()
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids := make([]string, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		if !seen[r.e.ID] {
			seen[r.e.ID] = true
			ids = append(ids, r.e.ID)
		}
	}
	var rows *sql.Rows
	if in.dialect == migrate.PostgreSQL {
		rows, err = tx.QueryContext(ctx,
			`INSERT INTO tailor_inbox (consumer, event_id, handled_us) SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING RETURNING event_id`,
			in.consumer, ids, time.Now().UnixMicro())
	} else {
		list, _ := json.Marshal(ids) // a slice of strings always encodes
		rows, err = tx.QueryContext(ctx,
			`INSERT INTO tailor_inbox (consumer, event_id, handled_us) SELECT $1, value, $3 FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING event_id`,
			in.consumer, string(list), time.Now().UnixMicro())
	}
	if err != nil {
		return nil, err
	}
	fresh := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		fresh[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	applied = make([]bool, len(batch))
	for i, r := range batch {
		if !fresh[r.e.ID] {
			continue // applied before, or earlier in this batch
		}
		delete(fresh, r.e.ID)
		if err := r.apply(tx); err != nil {
			return nil, err
		}
		applied[i] = true
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return applied, nil
}

// applyOne applies e in a transaction of its own.
func (in *Inbox) applyOne(ctx context.Context, e messaging.Event, apply func(tx *sql.Tx) error) (applied bool, err error) {
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("inbox: begin the transaction for event %s: %w", e.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO tailor_inbox (consumer, event_id, handled_us) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		in.consumer, e.ID, time.Now().UnixMicro())
	if err != nil {
		return false, fmt.Errorf("inbox: record event %s for consumer %s: %w; has inbox.Migrate run on this database?", e.ID, in.consumer, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("inbox: record event %s: %w", e.ID, err)
	} else if n == 0 {
		return false, nil // applied before
	}
	if err := apply(tx); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("inbox: commit event %s for consumer %s: %w", e.ID, in.consumer, err)
	}
	return true, nil
}

// Prune forgets the events applied before before and returns how many.
// Keep them for longer than the stream keeps events (its MaxAge), or a
// redelivered old event could apply twice. A [Pruner] calls it on an
// interval.
func (in *Inbox) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := in.db.ExecContext(ctx, `DELETE FROM tailor_inbox WHERE consumer = $1 AND handled_us < $2`, in.consumer, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("inbox: forget events of consumer %s applied before %v: %w", in.consumer, before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PrunerOption sets an optional property of a [Pruner].
type PrunerOption func(*Pruner)

// WithKeep sets how long the id of an applied event is kept. Keep it
// longer than the stream keeps events (messaging.WithMaxAge, 7 days by
// default), or a redelivered old event could apply twice. Default, and
// when d is not positive: 8 days.
func WithKeep(d time.Duration) PrunerOption { return func(p *Pruner) { p.keep = d } }

// WithInterval sets the time between two prunes; the first runs at Start.
// Default, and when d is not positive: 1 hour.
func WithInterval(d time.Duration) PrunerOption { return func(p *Pruner) { p.interval = d } }

// Pruner runs [Inbox.Prune] every interval, so the inbox table does not
// grow without end; a prune that fails goes to the inbox's logger (see
// [WithTelemetry]) and is tried again at the next interval. It is a
// service component: Start begins in the background, Stop ends it. The
// zero value is not usable; make one with [Inbox.Pruner]. A Pruner is
// safe for concurrent use and may be started once.
type Pruner struct {
	in       *Inbox
	keep     time.Duration
	interval time.Duration
	loop     lifecycle.Loop
}

// Pruner returns a pruner of in's table.
func (in *Inbox) Pruner(opts ...PrunerOption) *Pruner {
	p := &Pruner{in: in}
	for _, o := range opts {
		o(p)
	}
	if p.keep <= 0 {
		p.keep = 8 * 24 * time.Hour
	}
	if p.interval <= 0 {
		p.interval = time.Hour
	}
	return p
}

// Start prunes once and then every interval, in the background, until
// Stop.
func (p *Pruner) Start(ctx context.Context) error {
	return p.loop.Start(ctx, "inbox: pruner of consumer "+p.in.consumer, nil, p.run)
}

func (p *Pruner) run(ctx context.Context) {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		if _, err := p.in.Prune(ctx, time.Now().Add(-p.keep)); err != nil && ctx.Err() == nil {
			p.in.log.Warn("inbox: pruning applied events failed; trying again at the next interval", "consumer", p.in.consumer, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stop ends the pruner, waiting for a prune in hand until ctx ends.
func (p *Pruner) Stop(ctx context.Context) error {
	return p.loop.Stop(ctx, "inbox: pruner of consumer "+p.in.consumer)
}
