package assembly

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/sqlite"
)

// OpenDatabase opens the database url names, creating it when it is
// missing:
//
//   - a PostgreSQL URL, postgres://user@host:5432/name?sslmode=disable
//     (or postgresql://): the database is created on that server when it
//     does not exist, through the server's "postgres" database. Several
//     instances that start at once may all try; the ones that lose the
//     race find it made, which is no error;
//   - anything else is the path of an SQLite file, made with its folder
//     when missing (see sqlite.Open).
//
// The database is opened, not migrated. A PostgreSQL handle keeps at
// most [PostgresConns] connections, all of them open between requests.
// Errors never show the URL's password.
func OpenDatabase(ctx context.Context, url string) (*sql.DB, error) {
	if !IsPostgres(url) {
		return sqlite.Open(url)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL URL is malformed: %w; use a form like postgres://postgres@127.0.0.1:5432/shop_orders?sslmode=disable", err)
	}
	if err := createDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(PostgresConns)
	db.SetMaxIdleConns(PostgresConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL database %q at %s:%d: %w", cfg.Database, cfg.Host, cfg.Port, err)
	}
	return db, nil
}

// PostgresConns is how many connections a service's handle keeps at most
// to its PostgreSQL database, and keeps open between requests: enough for
// its concurrent transactions, while a server's default limit of 100 holds
// the shop's eight services, two instances of three of them, with room to
// spare. database/sql's default (no limit, two idle) opened and closed a
// session for most orders under load, which cost PostgreSQL more CPU than
// the orders themselves (deploy/README.md, Capacity).
const PostgresConns = 10

// IsPostgres reports whether url is a PostgreSQL URL rather than an
// SQLite path.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// createDatabase creates cfg's database unless it exists.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	where := fmt.Sprintf("PostgreSQL at %s:%d (user %s)", cfg.Host, cfg.Port, cfg.User)
	if cfg.Database == "" {
		return fmt.Errorf("%s: the URL names no database; add one, as in postgres://%s@%s:%d/shop_orders", where, cfg.User, cfg.Host, cfg.Port)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx) // it exists
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name: no such database
		return fmt.Errorf("%s: %w; is the server running, and may this user connect?", where, err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("%s: database %q is missing, and creating it needs the database \"postgres\": %w", where, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err == nil || raceLost(err) {
		return nil
	}
	return fmt.Errorf("%s: creating database %q: %w; may this user create databases (CREATEDB)?", where, cfg.Database, err)
}

// raceLost reports whether CREATE DATABASE failed because another
// session created the database at the same time: duplicate_database, or
// the unique index of the catalog when both got past that check at once.
func raceLost(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "42P04" || pgErr.Code == "23505" && pgErr.ConstraintName == "pg_database_datname_index"
}
