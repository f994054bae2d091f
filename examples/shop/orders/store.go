package orders

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/saga"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable is the table in which [Migrate] records the service's
// own migrations, apart from other services' records should they share a
// database, and apart from those of the saga, idempotency and outbox
// tables.
const MigrationsTable = "orders_schema_migrations"

// Migrate brings db's schema up to date with this version of the orders
// service: its own tables, and the saga, idempotency and outbox tables it
// keeps beside them. It works on SQLite and PostgreSQL, and is safe to
// call at every start, from several instances at once.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations"), migrate.WithTable(MigrationsTable)); err != nil {
		return err
	}
	if err := saga.Migrate(ctx, db, 0); err != nil {
		return err
	}
	if err := idempotency.Migrate(ctx, db); err != nil {
		return err
	}
	return outbox.Migrate(ctx, db, 0)
}

// insertOrder records a pending order and its lines through tx.
// orderByKey finds the order user placed under the Idempotency-Key key.
func orderByKey(ctx context.Context, db *sql.DB, user, key string) (id string, found bool, err error) {
	err = db.QueryRowContext(ctx, `SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2`, user, key).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fault.Wrap(err, fault.Internal, "could not look the order up by its Idempotency-Key")
	}
	return id, true, nil
}

func insertOrder(ctx context.Context, tx *sql.Tx, o Order, idempotencyKey string) error {
	key := sql.NullString{String: idempotencyKey, Valid: idempotencyKey != ""}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO orders (id, user_id, status, total, currency, created_at, updated_at, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
		o.ID, o.UserID, o.Status, o.Total, o.Currency, o.CreatedAt, key); err != nil {
		return fmt.Errorf("orders: record order %s: %w", o.ID, err)
	}
	for i, l := range o.Items {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO order_lines (order_id, line, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4, $5)`,
			o.ID, i, l.ProductID, l.Quantity, l.UnitPrice); err != nil {
			return fmt.Errorf("orders: record line %d of order %s: %w", i, o.ID, err)
		}
	}
	return nil
}

// setStatus moves a pending order to status, with reason and the
// unavailable dependency for a cancelled one, through tx. It reports
// whether the order was pending: settling a settled order changes
// nothing, so a step called again after a crash settles once.
func setStatus(ctx context.Context, tx *sql.Tx, id string, status Status, reason, dependency string, at time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx,
		`UPDATE orders SET status = $1, reason = $2, dependency = $3, updated_at = $4 WHERE id = $5 AND status = $6`,
		status, reason, dependency, at, id, Pending)
	if err != nil {
		return false, fmt.Errorf("orders: mark order %s %s: %w", id, status, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("orders: mark order %s %s: %w", id, status, err)
	}
	return n == 1, nil
}

const orderColumns = `id, user_id, status, reason, dependency, total, currency, created_at, updated_at`

// loadOrder reads order id with its lines; userID, when not empty, must
// own it. Another user's order is as absent as one that does not exist.
func loadOrder(ctx context.Context, db *sql.DB, id, userID string) (Order, string, error) {
	o, dependency, err := scanOrder(db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && userID != "" && o.UserID != userID) {
		return Order{}, "", fault.New(fault.NotFound, fmt.Sprintf("no order %q is yours; list your orders with GET /v1/orders", id))
	}
	if err != nil {
		return Order{}, "", fault.Wrap(err, fault.Internal, "could not read the order")
	}
	if o.Items, err = loadLines(ctx, db, id); err != nil {
		return Order{}, "", err
	}
	return o, dependency, nil
}

func loadLines(ctx context.Context, db *sql.DB, id string) ([]Line, error) {
	rows, err := db.QueryContext(ctx, `SELECT product_id, quantity, unit_price FROM order_lines WHERE order_id = $1 ORDER BY line`, id)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "could not read the order's lines")
	}
	defer rows.Close()
	var lines []Line
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.ProductID, &l.Quantity, &l.UnitPrice); err != nil {
			return nil, fault.Wrap(err, fault.Internal, "could not read the order's lines")
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fault.Wrap(err, fault.Internal, "could not read the order's lines")
	}
	return lines, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanOrder(row scanner) (Order, string, error) {
	var o Order
	var dependency string
	if err := row.Scan(&o.ID, &o.UserID, &o.Status, &o.Reason, &dependency, &o.Total, &o.Currency, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return Order{}, "", err
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, dependency, nil
}

// listOrders returns up to limit orders older than the one with id
// before (all when empty), newest first, of userID (everyone's when
// empty), each with its lines.
func listOrders(ctx context.Context, db *sql.DB, userID, before string, limit int) ([]Order, error) {
	q := `SELECT ` + orderColumns + ` FROM orders WHERE (CAST($1 AS TEXT) = '' OR user_id = $1) AND (CAST($2 AS TEXT) = '' OR id < $2) ORDER BY id DESC LIMIT $3`
	rows, err := db.QueryContext(ctx, q, userID, before, limit)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "could not list orders")
	}
	var out []Order
	for rows.Next() {
		o, _, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, fault.Wrap(err, fault.Internal, "could not list orders")
		}
		out = append(out, o)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "could not list orders")
	}
	for i := range out {
		if out[i].Items, err = loadLines(ctx, db, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
