// Package outbox is a transactional outbox on [database/sql], for
// PostgreSQL and SQLite: a service writes its change of state and the
// events that announce it in one transaction, and a [Relay] publishes the
// events to NATS JetStream afterwards. An event is published if and only
// if its transaction committed, however the process or the broker fails
// in between.
//
// Start with [Migrate], which creates the outbox table (tailor_outbox,
// with its migrations recorded in tailor_outbox_migrations, apart from the
// service's own), then write events with [Outbox.Add] in the service's
// transactions and run a [Relay] as a component of the service:
//
//	ob, _ := outbox.New(outbox.WithTelemetry(svc.Telemetry()))
//	tx, _ := db.BeginTx(ctx, nil)
//	// ... INSERT the product ...
//	ob.Add(ctx, tx, "catalog.product.created", event)
//	tx.Commit()
//
//	relay, _ := outbox.NewRelay(db, js, outbox.WithTelemetry(svc.Telemetry()))
//	svc.Add(relay)
//
// A request whose whole change is one INSERT, UPDATE or DELETE can make it
// and add its events with [Outbox.Exec] instead: on PostgreSQL, one
// statement and one round trip to the database, where the transaction
// above takes four.
//
// # Guarantees
//
// A relay pass claims a batch of pending events in one short statement
// (each row gets a lease: claimed_until_us), publishes them with no
// database transaction or connection held, then, in a second statement,
// marks those JetStream acknowledged as sent and releases the others. A
// broker outage therefore slows the relay, never the service's requests
// to its own database; while publishing fails, each pass (backing off up
// to [WithMaxBackoff]) tries a single event, so the outage costs the
// database next to nothing. A relay that dies holding a claim delays its
// events by at most the lease (see [WithLease]); then any relay takes
// them again.
//
// The relay publishes pending events in the order they were written
// (their sequence number), so the events of one aggregate arrive in order
// as long as the transactions that write them are serialised, as they are
// when each also updates the aggregate's row. Each event's id is its
// Nats-Msg-Id: a relay that crashed after publishing and before marking
// the events sent leaves them to be published again, and JetStream drops
// the copies within the stream's duplicate window (see
// messaging.WithDuplicates). Consumers still de-duplicate (package
// [github.com/tailorkit/tailor/messaging/inbox]), which covers a relay that
// stayed down for longer than that window.
//
// Several relays may share a database. Each claims only rows no live
// lease holds (on PostgreSQL with FOR UPDATE SKIP LOCKED, so two claims
// at once never take the same row; SQLite runs one writer at a time), and
// leaves out the events of an aggregate whose earlier event another relay
// has in hand, so order per aggregate holds.
//
// When JetStream refuses one event of a batch and accepts a later one of
// the same aggregate, which only a broker fault can cause, the later one
// may precede the earlier in the stream; consumers that need a strict
// order per aggregate compare the events' times or versions.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/instrument"
	"github.com/tailorkit/tailor/messaging/internal/sqldialect"
	"github.com/tailorkit/tailor/migrate"
)

// MigrationsTable is where [Migrate] records the outbox's migrations.
const MigrationsTable = "tailor_outbox_migrations"

//go:embed migrations
var migrations embed.FS

// Migrations returns the outbox's migrations for dialect d, for
// [migrate.Up] with [migrate.WithTable]([MigrationsTable]); [Migrate] does
// exactly that.
func Migrations(d migrate.Dialect) fs.FS { return sqldialect.Sub(migrations, d) }

// Migrate creates or updates the outbox table in db. d is the dialect, or
// 0 to tell it from db's driver. It is safe to call at every start, from
// several instances at once.
func Migrate(ctx context.Context, db *sql.DB, d migrate.Dialect) error {
	return sqldialect.Migrate(ctx, db, d, migrations, MigrationsTable, "outbox")
}

// Execer runs a statement: a *sql.Tx, in which the outbox row commits or
// rolls back with the service's own writes.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Outbox writes events into the outbox table. The zero value is not
// usable; make one with [New]. It is safe for concurrent use.
type Outbox struct {
	ins     *instrument.Set
	dialect migrate.Dialect
}

// New returns an Outbox. It writes through the caller's transactions, so
// it needs no database of its own. Of the options, only [WithTelemetry]
// and [WithDialect] (for [Outbox.Exec]) apply.
func New(opts ...Option) (*Outbox, error) {
	cfg := newSettings(opts)
	ins, err := instrument.New(cfg.tel)
	if err != nil {
		return nil, fmt.Errorf("outbox: make the telemetry instruments: %w", err)
	}
	return &Outbox{ins: ins, dialect: cfg.dialect}, nil
}

// Add writes events, to be published to subject, through tx, which should
// be the transaction that makes the change the events announce. They are
// published, in the order given, once tx commits, and never if it rolls
// back. The trace context of ctx goes with each event, in a "create" span
// that the consumers' spans link to.
func (o *Outbox) Add(ctx context.Context, tx Execer, subject string, events ...messaging.Event) error {
	rows, err := o.rows(ctx, subject, events)
	if err != nil || len(rows) == 0 {
		return err
	}
	for i := 0; i < len(rows); i += maxRows {
		q, args := insert(rows[i:min(i+maxRows, len(rows))], nil)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("outbox: write event %s (%s) to the outbox: %w; has outbox.Migrate run on this database?", events[i].ID, events[i].Type, err)
		}
	}
	return nil
}

// maxRows is the most outbox rows one statement writes, well within the
// parameters a statement may have (32766 on SQLite, 65535 on PostgreSQL).
const maxRows = 1000

// Exec makes a change and adds the events that announce it in one
// transaction that it begins and commits itself, for a request whose
// whole change is one statement: query, with args, which is an INSERT,
// UPDATE or DELETE. Its events, and their trace context, are as for
// [Outbox.Add]. Where Add in a transaction of the caller's costs a round trip to the
// database for BEGIN, one for the change, one per event and one for
// COMMIT, Exec on PostgreSQL sends one statement, the change as a
// data-modifying WITH query before the outbox rows, which commits on its
// own: one round trip. On SQLite, where a transaction costs no round
// trips, Exec runs query and then Add in a transaction.
//
// The events are written whenever query succeeds, whatever the number of
// rows it changed; when they depend on that (an UPDATE that may find no
// row), use a transaction and Add. On PostgreSQL, query numbers its
// parameters from $1 and may not end in a semicolon.
func (o *Outbox) Exec(ctx context.Context, db *sql.DB, query string, args []any, subject string, events ...messaging.Event) error {
	d, err := sqldialect.Detect(db, o.dialect, "outbox")
	if err != nil {
		return err
	}
	if d != migrate.PostgreSQL || len(events) == 0 || len(events) > maxRows {
		return o.execTx(ctx, db, query, args, subject, events)
	}
	rows, err := o.rows(ctx, subject, events)
	if err != nil {
		return err
	}
	q, all := insert(rows, args)
	if _, err := db.ExecContext(ctx, "WITH change AS ("+query+") "+q, all...); err != nil {
		return fmt.Errorf("outbox: make the change and write event %s (%s) to the outbox: %w; is the change one INSERT, UPDATE or DELETE, and has outbox.Migrate run on this database?", events[0].ID, events[0].Type, err)
	}
	return nil
}

// execTx is Exec in a transaction: the change, then Add.
func (o *Outbox) execTx(ctx context.Context, db *sql.DB, query string, args []any, subject string, events []messaging.Event) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox: begin the transaction of the change: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("outbox: make the change: %w", err)
	}
	if err := o.Add(ctx, tx, subject, events...); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: commit the change and its events: %w", err)
	}
	return nil
}

// insert returns the statement that writes rows, the outbox rows of
// events, in one round trip, and its arguments: args, which come first
// and are the parameters of a statement in front of it, then the rows'.
func insert(rows [][]any, args []any) (string, []any) {
	var q strings.Builder
	q.WriteString(`INSERT INTO tailor_outbox (event_id, subject, aggregate, headers, body, created_us) VALUES `)
	all := slices.Clip(args)
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(all)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		all = append(all, r...)
	}
	return q.String(), all
}

// rows returns the column values of the outbox row of each event, in the
// order insert writes them.
func (o *Outbox) rows(ctx context.Context, subject string, events []messaging.Event) ([][]any, error) {
	if subject == "" {
		return nil, fmt.Errorf("outbox: empty subject; pass the subject the events are published to, such as \"catalog.product.created\"")
	}
	now := time.Now().UnixMicro()
	rows := make([][]any, len(events))
	for i, e := range events {
		body, err := e.Encode()
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		_, span := o.ins.Tracer.Start(ctx, subject+" create", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", subject),
				attribute.String("messaging.message.id", e.ID)))
		carrier := propagation.MapCarrier{}
		o.ins.Propagator.Inject(trace.ContextWithSpan(ctx, span), carrier)
		span.End()
		headers := ""
		if len(carrier) > 0 {
			b, _ := json.Marshal(carrier) // a map of strings always encodes
			headers = string(b)
		}
		rows[i] = []any{e.ID, subject, e.Aggregate, headers, body, now}
	}
	return rows, nil
}
