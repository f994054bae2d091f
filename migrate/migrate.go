// Package migrate applies versioned SQL schema migrations when a service
// starts, on [database/sql], for PostgreSQL and SQLite.
//
// Start with [Up]. Keep each change to the schema in its own file named
// NNNN_description.sql, where the number is the version, embed the folder in
// the service, and call Up before serving:
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	applied, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations"))
//
// Up records every migration it applies in a table, schema_migrations by
// default (see [WithTable]), with its version, file name, checksum and the
// time it was applied. It applies the pending migrations in version order,
// each in its own transaction together with its row in that table, so a
// migration is applied whole or not at all. Statements that refuse to run
// inside a transaction (PostgreSQL's CREATE INDEX CONCURRENTLY, for one) and
// transaction control (BEGIN, COMMIT) have no place in a migration file.
//
// An applied migration is never edited: the change goes in a new file. Up
// checks this with a checksum of each file (SHA-256 of its content, with
// CRLF line endings read as LF so a checkout on Windows does not count as an
// edit) and refuses to go on when they differ, with [ErrChecksumMismatch].
// It also refuses a database that has a version no file knows
// ([ErrDatabaseAhead]) and a new file numbered below the last applied
// version ([ErrOutOfOrder]).
//
// Several instances of a service may start at once. On PostgreSQL, Up holds
// a session advisory lock (pg_advisory_lock) while it works, on a key derived
// from the schema and table name, so the instances take turns and each
// migration is applied once; an instance waits for the lock as long as its
// context allows. On SQLite, each migration's transaction starts
// with BEGIN IMMEDIATE, which takes the database's write lock, and checks
// again under that lock that no one applied the migration meanwhile; the
// database should have a busy timeout so that a second writer waits instead
// of failing at once (databases opened with
// [github.com/tailorkit/tailor/sqlite.Open] have one).
//
// Up tells the two dialects apart by the database driver: pgx, lib/pq,
// modernc.org/sqlite, mattn/go-sqlite3 and ncruces/go-sqlite3 are known.
// For a driver it does not know, such as one wrapped for tracing, name the
// dialect with [WithDialect].
//
// # Why not goose
//
// The package stays small and does not wrap github.com/pressly/goose/v3,
// because goose (v3.30) behaves differently where tailor's services rely on
// the behaviour above: it runs SQL files only with a "-- +goose Up" line, so
// every existing migration file would change; it keeps no checksum, so an
// edited applied migration passes unnoticed; it goes on without error when
// the database is ahead of the code; its out-of-order error can be told
// apart only by its text; on SQLite it neither locks nor checks again in
// a migration's transaction, so instances that start at once fail on a
// migration another has just applied; and its PostgreSQL lock is polled
// (every 5 seconds by default) rather than waited for. The tests in the
// module at migrate/bench show each difference side by side, with the
// figures in its README.
package migrate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Errors that Up wraps, so callers can tell them apart with [errors.Is]. The
// message of each error Up returns names the file and version at fault and
// says what to do.
var (
	// ErrBadName: a file in the migration folder is not named
	// NNNN_description.sql.
	ErrBadName = errors.New("migrate: bad migration file name")
	// ErrDuplicateVersion: two files have the same version number.
	ErrDuplicateVersion = errors.New("migrate: duplicate migration version")
	// ErrNoMigrations: the migration folder holds no migration file, which
	// usually means a wrong go:embed pattern or a wrong WithDir.
	ErrNoMigrations = errors.New("migrate: no migration files")
	// ErrChecksumMismatch: a file was edited after its migration was
	// applied.
	ErrChecksumMismatch = errors.New("migrate: checksum mismatch")
	// ErrOutOfOrder: a pending migration has a lower version than one
	// already applied.
	ErrOutOfOrder = errors.New("migrate: migration out of order")
	// ErrDatabaseAhead: the database has a migration applied that no file
	// knows, typically because a newer version of the service migrated it.
	// Up applies nothing then. During a rolling deploy an older instance
	// meets this; one that knows the newer schema stays compatible with it
	// may log the error and go on serving.
	ErrDatabaseAhead = errors.New("migrate: database is ahead of the code")
)

// Dialect is the SQL dialect of a database. The zero value means: tell it
// from the database driver.
type Dialect uint8

// The dialects Up speaks.
const (
	PostgreSQL Dialect = iota + 1
	SQLite
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case PostgreSQL:
		return "PostgreSQL"
	case SQLite:
		return "SQLite"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// Option changes how [Up] works. The zero configuration reads the migrations
// at the root of the file system, records them in schema_migrations and
// tells the dialect from the driver.
type Option func(*config)

type config struct {
	dir     string
	table   string
	dialect Dialect
}

// WithDir names the folder of the file system that holds the migration
// files, such as "migrations" for files embedded with
// //go:embed migrations/*.sql. The default is the root ("."). Sub-folders
// of it are ignored.
func WithDir(dir string) Option {
	return func(c *config) { c.dir = dir }
}

// WithTable names the table that records the applied migrations; the
// default is schema_migrations. The name is a plain SQL identifier (letters,
// digits and underscores, not starting with a digit), optionally qualified
// with a schema: "catalog.schema_migrations".
func WithTable(name string) Option {
	return func(c *config) { c.table = name }
}

// WithDialect names the SQL dialect of the database, for drivers Up does not
// recognise (see the package documentation).
func WithDialect(d Dialect) Option {
	return func(c *config) { c.dialect = d }
}

// Up applies the migrations of fsys that db has not applied yet, in version
// order, and returns how many it applied, also when it fails part way: the
// migrations before the failing one stay applied, the failing one is rolled
// back whole. Up returns 0 and no error when the database is up to date.
//
// Up checks the migration files and the applied ones before it applies
// anything; see the package documentation for the checks and the errors
// they return. It is safe to call from several processes or goroutines at
// once on one database.
func Up(ctx context.Context, db *sql.DB, fsys fs.FS, opts ...Option) (applied int, err error) {
	cfg := config{dir: ".", table: "schema_migrations"}
	for _, opt := range opts {
		opt(&cfg)
	}
	if !validTable(cfg.table) {
		return 0, fmt.Errorf("migrate: table name %q is not a plain SQL identifier (letters, digits and underscores, optionally schema-qualified as schema.table); pass another name to WithTable", cfg.table)
	}
	dialect := cfg.dialect
	if dialect == 0 {
		if dialect, err = DialectOf(db); err != nil {
			return 0, err
		}
	} else if dialect != PostgreSQL && dialect != SQLite {
		return 0, fmt.Errorf("migrate: unknown %v; pass migrate.PostgreSQL or migrate.SQLite to WithDialect", dialect)
	}
	files, err := load(fsys, cfg.dir)
	if err != nil {
		return 0, err
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: connect to the %v database: %w", dialect, err)
	}
	defer conn.Close()
	r := &runner{conn: conn, dialect: dialect, table: cfg.table, dir: cfg.dir}

	if dialect == PostgreSQL {
		unlock, err := r.lock(ctx)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	// SQLite takes timestamptz as a type name and stores the UTC text
	// CURRENT_TIMESTAMP gives; PostgreSQL the instant.
	create := "CREATE TABLE IF NOT EXISTS " + r.table + ` (
	version    bigint PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return 0, fmt.Errorf("migrate: create table %s: %w; check that the database user may create tables", r.table, err)
	}
	records, err := r.records(ctx)
	if err != nil {
		return 0, err
	}
	pending, err := plan(files, records, cfg.dir)
	if err != nil {
		return 0, err
	}
	for _, m := range pending {
		ok, err := r.apply(ctx, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied++
		}
	}
	return applied, nil
}

// migration is one migration file, or one row of the migrations table
// (which has no body).
type migration struct {
	version  int64
	file     string // the file name, without the folder
	body     string
	checksum string
}

// load reads the migration files of dir, sorted by version.
func load(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: read migration folder %q: %w; check WithDir and the go:embed pattern", dir, err)
	}
	var (
		files   []migration
		folders []string
		byVer   = map[int64]string{}
	)
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
			continue
		}
		name := e.Name()
		version, ok := parseName(name)
		if !ok {
			return nil, fmt.Errorf("%w: %s does not match NNNN_description.sql (a version number, an underscore, a description of letters, digits, '_' or '-', and .sql); rename it, or move it out of the migration folder", ErrBadName, path.Join(dir, name))
		}
		if other, dup := byVer[version]; dup {
			return nil, fmt.Errorf("%w: %s and %s both have version %d; give one of them the next free number", ErrDuplicateVersion, path.Join(dir, other), path.Join(dir, name), version)
		}
		byVer[version] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", path.Join(dir, name), err)
		}
		body := strings.ReplaceAll(string(b), "\r\n", "\n")
		sum := sha256.Sum256([]byte(body))
		files = append(files, migration{version: version, file: name, body: body, checksum: hex.EncodeToString(sum[:])})
	}
	if len(files) == 0 {
		hint := "check the go:embed pattern and WithDir"
		if len(folders) > 0 {
			hint = fmt.Sprintf("it has the folder(s) %s: name the one with the migrations in WithDir", strings.Join(folders, ", "))
		}
		return nil, fmt.Errorf("%w in folder %q (want files named NNNN_description.sql); %s", ErrNoMigrations, dir, hint)
	}
	slices.SortFunc(files, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	return files, nil
}

// parseName returns the version of a file named NNNN_description.sql.
func parseName(name string) (version int64, ok bool) {
	stem, ok := strings.CutSuffix(name, ".sql")
	if !ok {
		return 0, false
	}
	digits, desc, ok := strings.Cut(stem, "_")
	if !ok || digits == "" || desc == "" || len(digits) > 18 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		version = version*10 + int64(c-'0')
	}
	for _, c := range desc {
		if !isLetterOrDigit(c) && c != '_' && c != '-' {
			return 0, false
		}
	}
	return version, true
}

// plan checks the files against the applied records and returns the
// migrations to apply.
func plan(files, records []migration, dir string) ([]migration, error) {
	byVersion := make(map[int64]migration, len(files))
	for _, m := range files {
		byVersion[m.version] = m
	}
	var unknown []string
	applied := make(map[int64]bool, len(records))
	var highest migration
	for _, r := range records {
		applied[r.version] = true
		if r.version >= highest.version {
			highest = r
		}
		m, ok := byVersion[r.version]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%d (%s)", r.version, r.file))
			continue
		}
		if m.checksum != r.checksum {
			return nil, checksumError(m, r.checksum, dir)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: it has version(s) %s applied, and folder %q holds no file for them; run the version of the service that has these migrations, or restore their files", ErrDatabaseAhead, strings.Join(unknown, ", "), dir)
	}
	var pending []migration
	for _, m := range files {
		if applied[m.version] {
			continue
		}
		if len(records) > 0 && m.version < highest.version {
			return nil, fmt.Errorf("%w: %s (version %d) is not applied, but the later version %d (%s) is; renumber it above %d", ErrOutOfOrder, path.Join(dir, m.file), m.version, highest.version, highest.file, highest.version)
		}
		pending = append(pending, m)
	}
	return pending, nil
}

func checksumError(m migration, applied, dir string) error {
	return fmt.Errorf("%w: %s (version %d) was edited after it was applied (checksum %.12s in the file, %.12s in the database); restore the file as it was applied and put the change in a new migration", ErrChecksumMismatch, path.Join(dir, m.file), m.version, m.checksum, applied)
}

// runner applies migrations on one connection.
type runner struct {
	conn    *sql.Conn
	dialect Dialect
	table   string
	dir     string
}

// lock takes the PostgreSQL advisory lock of the migrations table and
// returns the function that releases it.
func (r *runner) lock(ctx context.Context) (unlock func(), err error) {
	qualified := r.table
	if !strings.Contains(qualified, ".") {
		var schema sql.NullString
		if err := r.conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("migrate: read the current schema: %w", err)
		}
		qualified = schema.String + "." + qualified
	}
	h := fnv.New64a()
	h.Write([]byte("tailor/migrate:" + qualified))
	key := int64(h.Sum64())
	if _, err := r.conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, fmt.Errorf("migrate: take the migration lock (pg_advisory_lock(%d)) for %s: %w; another instance may be applying migrations, or a session still holds the lock (see pg_locks)", key, qualified, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := r.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			// Closing the session releases its locks.
			r.discard()
		}
	}, nil
}

// discard closes the connection instead of returning it to the pool, for a
// connection left in an unknown state.
func (r *runner) discard() {
	r.conn.Raw(func(any) error { return driver.ErrBadConn })
}

func (r *runner) records(ctx context.Context) ([]migration, error) {
	rows, err := r.conn.QueryContext(ctx, "SELECT version, name, checksum FROM "+r.table+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("migrate: read table %s: %w", r.table, err)
	}
	defer rows.Close()
	var records []migration
	for rows.Next() {
		var rec migration
		if err := rows.Scan(&rec.version, &rec.file, &rec.checksum); err != nil {
			return nil, fmt.Errorf("migrate: read table %s: %w", r.table, err)
		}
		records = append(records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read table %s: %w", r.table, err)
	}
	return records, nil
}

// apply applies m in a transaction with its record, unless someone applied
// it meanwhile, and reports whether it did.
func (r *runner) apply(ctx context.Context, m migration) (ok bool, err error) {
	file := path.Join(r.dir, m.file)
	begin := "BEGIN"
	if r.dialect == SQLite {
		// Take the write lock now, so that the check below and the
		// migration see the same database.
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := r.conn.ExecContext(ctx, begin); err != nil {
		hint := ""
		if r.dialect == SQLite {
			hint = "; another process may be writing: open the database with a busy timeout (sqlite.Open sets one) so that Up waits for it"
		}
		return false, fmt.Errorf("migrate: begin the transaction for %s: %w%s", file, err, hint)
	}
	committed := false
	defer func() {
		if !committed {
			r.rollback(ctx)
		}
	}()

	// Both dialects take $n placeholders.
	var sum string
	err = r.conn.QueryRowContext(ctx, "SELECT checksum FROM "+r.table+" WHERE version = $1", m.version).Scan(&sum)
	switch {
	case err == nil:
		if sum != m.checksum {
			return false, checksumError(m, sum, r.dir)
		}
		return false, nil // another instance applied it
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("migrate: read table %s: %w", r.table, err)
	}

	if strings.TrimSpace(m.body) != "" {
		if _, err := r.conn.ExecContext(ctx, m.body); err != nil {
			return false, fmt.Errorf("migrate: apply %s (version %d): %w; it was rolled back: fix the file and start again", file, m.version, err)
		}
	}
	insert := "INSERT INTO " + r.table + " (version, name, checksum) VALUES ($1, $2, $3)"
	if _, err := r.conn.ExecContext(ctx, insert, m.version, m.file, m.checksum); err != nil {
		return false, fmt.Errorf("migrate: record %s (version %d) in table %s: %w", file, m.version, r.table, err)
	}
	if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, fmt.Errorf("migrate: commit %s (version %d): %w", file, m.version, err)
	}
	committed = true
	return true, nil
}

// rollback ends the open transaction, even when ctx is done; a connection it
// cannot roll back is discarded, which ends the transaction too.
func (r *runner) rollback(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := r.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		r.discard()
	}
}

// DialectOf tells db's dialect from its driver's package: pgx and lib/pq
// are PostgreSQL; modernc.org/sqlite, mattn/go-sqlite3 and
// ncruces/go-sqlite3 are SQLite. Any other driver, such as one wrapped for
// tracing, is an error that says to name the dialect.
func DialectOf(db *sql.DB) (Dialect, error) {
	drv := db.Driver()
	t := reflect.TypeOf(drv)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := ""
	if t != nil {
		pkg = t.PkgPath()
	}
	switch {
	case strings.HasPrefix(pkg, "github.com/jackc/pgx/"), pkg == "github.com/lib/pq":
		return PostgreSQL, nil
	case pkg == "modernc.org/sqlite", pkg == "github.com/mattn/go-sqlite3", strings.HasPrefix(pkg, "github.com/ncruces/go-sqlite3/"):
		return SQLite, nil
	}
	return 0, fmt.Errorf("migrate: cannot tell the SQL dialect of database driver %T (package %q); pass WithDialect(migrate.PostgreSQL) or WithDialect(migrate.SQLite)", drv, pkg)
}

// validTable reports whether name is an identifier, optionally qualified by
// a schema.
func validTable(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || (p[0] >= '0' && p[0] <= '9') {
			return false
		}
		for _, c := range p {
			if !isLetterOrDigit(c) && c != '_' {
				return false
			}
		}
	}
	return true
}

func isLetterOrDigit(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
