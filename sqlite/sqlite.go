// Package sqlite opens SQLite databases the way a tailor service needs them,
// with the pure-Go driver modernc.org/sqlite (no cgo).
//
// Start with [Open]; it returns a plain [*sql.DB], ready for
// [github.com/tailorkit/tailor/migrate.Up]:
//
//	db, err := sqlite.Open("data/catalog.db")
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//
// Importing this package registers modernc.org/sqlite's "sqlite" driver with
// database/sql.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// BusyTimeout is how long a connection opened by [Open] waits for another
// writer to finish before it fails with SQLITE_BUSY.
const BusyTimeout = 5 * time.Second

// Open opens the SQLite database file at path, creating it and its parent
// folder if they are missing, and checks that it can be used. The database
// is set up for a service:
//
//   - journal_mode WAL: readers do not block the writer, nor the writer
//     readers.
//   - busy_timeout [BusyTimeout]: a writer waits for another one, in this
//     process or another, instead of failing at once.
//   - foreign_keys on: REFERENCES constraints are enforced (SQLite leaves
//     them off by default).
//   - transactions begin IMMEDIATE (read-only ones excepted): a read-write
//     transaction takes the write lock when it starts, so it waits for
//     another writer instead of failing when it first writes.
//   - synchronous stays FULL, SQLite's default: a committed write survives
//     a power cut.
//   - one open connection: SQLite runs one writer at a time, and one
//     connection makes the writes of the service queue in the pool rather
//     than fail with SQLITE_BUSY. A caller must therefore not use db while
//     it holds rows or a transaction of it: read the rows out, or go on in
//     the transaction, or that use waits until its context ends.
//
// The errors of Open name the path and say what to check.
func Open(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf(`sqlite: empty database path; pass a file path such as "data/catalog.db"`)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: database path %q contains '?', which the driver reads as the start of its parameters; pick a path without it", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create the folder of database %q: %w; check that the parent folder is writable", path, err)
		}
	}
	dsn := path + fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate", BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	// One connection, kept open for good: SetMaxOpenConns lowers the idle
	// limit to match, and database/sql closes no connection for age or
	// idleness by default.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w; check that the path names a file (not a folder) that this process may read and write", path, err)
	}
	return db, nil
}
