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
//	in, _ := inbox.New(db, "shop-projection", inbox.Config{})
//	h := inbox.Handle(in, catalog.ProductCreated, func(ctx context.Context, tx *sql.Tx, e messaging.Event, p catalog.ProductCreatedV1) error {
//		_, err := tx.ExecContext(ctx, "INSERT INTO product_names (id, name) VALUES ($1, $2)", p.ID, p.Name)
//		return err
//	})
//	consumer, _ := messaging.NewConsumer(js, messaging.ConsumerConfig{Stream: "CATALOG", Name: "shop-projection"}, h)
//
// Works on PostgreSQL and SQLite.
package inbox

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/tailorkit/tailor/messaging"
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
	d, err := sqldialect.Detect(db, d, "inbox")
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, db, Migrations(d), migrate.WithTable(MigrationsTable), migrate.WithDialect(d)); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return nil
}

// Config configures an [Inbox]. The zero value is valid.
type Config struct {
	// Dialect is the database's SQL dialect. Default: told from the
	// driver.
	Dialect migrate.Dialect
	// Now tells the time recorded with each event. Default time.Now.
	Now func() time.Time
}

// Inbox records which events one consumer applied. The zero value is not
// usable; make one with [New]. It is safe for concurrent use.
type Inbox struct {
	db       *sql.DB
	consumer string
	now      func() time.Time
}

// New returns the inbox of the consumer named consumer (one name per
// consumer: two consumers of the same event each apply it once) in db,
// whose schema [Migrate] has set up.
func New(db *sql.DB, consumer string, cfg Config) (*Inbox, error) {
	if consumer == "" {
		return nil, fmt.Errorf("inbox: empty consumer name; name it after the consumer, such as \"shop-projection\"")
	}
	if _, err := sqldialect.Detect(db, cfg.Dialect, "inbox"); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Inbox{db: db, consumer: consumer, now: cfg.Now}, nil
}

// Handler returns a handler that applies each event once: in one
// transaction it records the event's id and calls apply, and commits only
// when apply returns nil. An event whose id is recorded already is
// acknowledged without calling apply again.
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

// Apply runs apply in a transaction that records e's id, unless it is
// recorded already, and reports whether apply ran and committed.
func (in *Inbox) Apply(ctx context.Context, e messaging.Event, apply func(tx *sql.Tx) error) (applied bool, err error) {
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("inbox: begin the transaction for event %s: %w", e.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO tailor_inbox (consumer, event_id, handled_us) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		in.consumer, e.ID, in.now().UnixMicro())
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
// redelivered old event could apply twice.
func (in *Inbox) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := in.db.ExecContext(ctx, `DELETE FROM tailor_inbox WHERE consumer = $1 AND handled_us < $2`, in.consumer, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("inbox: forget events of consumer %s applied before %v: %w", in.consumer, before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
