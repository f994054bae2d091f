// Package sqldialect tells PostgreSQL from SQLite for the outbox and the
// inbox, the way package migrate does.
package sqldialect

import (
	"database/sql"
	"fmt"
	"io/fs"
	"reflect"
	"strings"

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
	t := reflect.TypeOf(db.Driver())
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path := ""
	if t != nil {
		path = t.PkgPath()
	}
	switch {
	case strings.HasPrefix(path, "github.com/jackc/pgx/"), path == "github.com/lib/pq":
		return migrate.PostgreSQL, nil
	case path == "modernc.org/sqlite", path == "github.com/mattn/go-sqlite3", strings.HasPrefix(path, "github.com/ncruces/go-sqlite3/"):
		return migrate.SQLite, nil
	}
	return 0, fmt.Errorf("%s: cannot tell the SQL dialect of database driver %T (package %q); set Dialect to migrate.PostgreSQL or migrate.SQLite", pkg, db.Driver(), path)
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
