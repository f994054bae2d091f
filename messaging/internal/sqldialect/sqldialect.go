// Package sqldialect tells PostgreSQL from SQLite for the outbox and the
// inbox, and applies their migrations.
package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/tailorkit/tailor/migrate"
)

// Detect returns d when it is set, or the dialect of db's driver.
func Detect(db *sql.DB, d migrate.Dialect, pkg string) (migrate.Dialect, error) {
	switch d {
	case migrate.PostgreSQL, migrate.SQLite:
		return d, nil
	case 0:
	default:
		return 0, fmt.Errorf("%s: unknown %v; set Dialect to migrate.PostgreSQL or migrate.SQLite", pkg, d)
	}
	d, err := migrate.DialectOf(db)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", pkg, err)
	}
	return d, nil
}

// Sub returns the folder of migrations for d in fsys: "postgres" or
// "sqlite".
func Sub(fsys fs.FS, d migrate.Dialect) fs.FS {
	dir := "migrations/sqlite"
	if d == migrate.PostgreSQL {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the folders are embedded; a missing one is a build bug
	}
	return sub
}

// Migrate applies the migrations in fsys for d (or db's dialect), recording
// them in table; pkg names the caller in errors.
func Migrate(ctx context.Context, db *sql.DB, d migrate.Dialect, fsys fs.FS, table, pkg string) error {
	d, err := Detect(db, d, pkg)
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, db, Sub(fsys, d), migrate.WithTable(table), migrate.WithDialect(d)); err != nil {
		return fmt.Errorf("%s: %w", pkg, err)
	}
	return nil
}
