package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/sqlite"
)

// A tool applies the migrations of fsys to db, as a service does when it
// starts, and returns how many it applied.
type tool struct {
	name string
	up   upFunc
}

var tools = []tool{
	{"migrate", func(ctx context.Context, db *sql.DB, fsys fstest.MapFS) (int, error) {
		return migrate.Up(ctx, db, fsys)
	}},
	{"goose", gooseUp},
}

// gooseUp runs goose the way a wrapper in tailor would: its own dialect
// per driver, the session lock on PostgreSQL, no global registry, and the
// files given the "-- +goose Up" line that goose needs.
func gooseUp(ctx context.Context, db *sql.DB, fsys fstest.MapFS) (int, error) {
	d, err := migrate.DialectOf(db)
	if err != nil {
		return 0, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"), goose.WithLogger(goose.NopLogger()),
	}
	dialect := goose.DialectSQLite3
	if d == migrate.PostgreSQL {
		dialect = goose.DialectPostgres
		l, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	annotated := fstest.MapFS{}
	for name, f := range fsys {
		annotated[name] = &fstest.MapFile{Data: append([]byte("-- +goose Up\n"), f.Data...)}
	}
	p, err := goose.NewProvider(dialect, db, annotated, opts...)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	return len(res), err
}

func files(nameContent ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(nameContent); i += 2 {
		fsys[nameContent[i]] = &fstest.MapFile{Data: []byte(nameContent[i+1])}
	}
	return fsys
}

// steps returns n migrations: a table, then n-1 that each insert a row
// into it and create a table, so a migration applied twice shows.
func steps(n int) fstest.MapFS {
	fsys := files("0001_create_runs.sql", "CREATE TABLE runs (version INTEGER NOT NULL);")
	for v := 2; v <= n; v++ {
		fsys[fmt.Sprintf("%04d_step.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"INSERT INTO runs (version) VALUES (%d);\nCREATE TABLE step_%d (id INTEGER);", v, v))}
	}
	return fsys
}

// freshSQLite returns a function that opens a handle on a new SQLite file.
func freshSQLite(tb testing.TB) func() *sql.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bench.db")
	return func() *sql.DB {
		db, err := sqlite.Open(path)
		if err != nil {
			tb.Fatalf("open SQLite: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		return db
	}
}

// freshPostgres makes a new schema in the test database and returns a
// function that opens a handle on it and one that empties it.
func freshPostgres(tb testing.TB) (open func() *sql.DB, reset func()) {
	tb.Helper()
	testenv.Short(tb, "PostgreSQL")
	dsn := cmp.Or(os.Getenv("TAILOR_TEST_POSTGRES"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("TAILOR_TEST_POSTGRES is not a valid PostgreSQL connection string: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { admin.Close() })
	schema := strings.ToLower("migrate_bench_" + rand.Text()[:12])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		testenv.Missing(tb, fmt.Sprintf("PostgreSQL at %s:%d is unusable: %v; start it with scripts/services.sh or point TAILOR_TEST_POSTGRES at a running server", cfg.Host, cfg.Port, err))
	}
	tb.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	open = func() *sql.DB {
		c := cfg.Copy()
		c.RuntimeParams["search_path"] = schema
		db := stdlib.OpenDB(*c)
		tb.Cleanup(func() { db.Close() })
		return db
	}
	reset = func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE; CREATE SCHEMA " + schema); err != nil {
			tb.Fatalf("empty schema %s: %v", schema, err)
		}
	}
	return open, reset
}

// TestBehaviour runs each case with both tools on SQLite and shows where
// goose departs from what tailor's services rely on. If goose changes, a
// case fails here, and the choice in migrate's package doc deserves
// another look.
func TestBehaviour(t *testing.T) {
	base := files(
		"0001_create_products.sql", "CREATE TABLE products (id TEXT PRIMARY KEY);",
		"0002_add_stock.sql", "CREATE TABLE stock (product_id TEXT NOT NULL);",
	)
	edited := files(
		"0001_create_products.sql", "CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT);",
		"0002_add_stock.sql", "CREATE TABLE stock (product_id TEXT NOT NULL);",
	)
	older := files("0001_create_products.sql", "CREATE TABLE products (id TEXT PRIMARY KEY);")
	gap := files(
		"0001_create_products.sql", "CREATE TABLE products (id TEXT PRIMARY KEY);",
		"0003_add_orders.sql", "CREATE TABLE orders (id TEXT PRIMARY KEY);",
	)
	filled := files(
		"0001_create_products.sql", "CREATE TABLE products (id TEXT PRIMARY KEY);",
		"0002_add_stock.sql", "CREATE TABLE stock (product_id TEXT NOT NULL);",
		"0003_add_orders.sql", "CREATE TABLE orders (id TEXT PRIMARY KEY);",
	)
	cases := []struct {
		name         string
		first, then  fstest.MapFS
		want         map[string]error // per tool; nil: no error
		wantAnyError map[string]bool  // per tool: an error that errors.Is cannot classify
	}{
		{
			name: "applied migration edited", first: base, then: edited,
			want: map[string]error{"migrate": migrate.ErrChecksumMismatch, "goose": nil},
		},
		{
			name: "database ahead of the code", first: base, then: older,
			want: map[string]error{"migrate": migrate.ErrDatabaseAhead, "goose": nil},
		},
		{
			name: "new migration below an applied one", first: gap, then: filled,
			want:         map[string]error{"migrate": migrate.ErrOutOfOrder},
			wantAnyError: map[string]bool{"goose": true},
		},
	}
	for _, tc := range cases {
		for _, tl := range tools {
			t.Run(tc.name+"/"+tl.name, func(t *testing.T) {
				t.Parallel()
				db := freshSQLite(t)()
				ctx := context.Background()
				if _, err := tl.up(ctx, db, tc.first); err != nil {
					t.Fatalf("first Up: %v", err)
				}
				_, err := tl.up(ctx, db, tc.then)
				if tc.wantAnyError[tl.name] {
					if err == nil || classified(err) {
						t.Errorf("Up: got error %v, want one no exported error classifies", err)
					}
					return
				}
				want := tc.want[tl.name]
				if (want == nil) != (err == nil) || !errors.Is(err, want) {
					t.Errorf("Up: got error %v, want %v", err, want)
				}
			})
		}
	}

	t.Run("plain SQL file", func(t *testing.T) {
		t.Parallel()
		db := freshSQLite(t)()
		if _, err := migrate.Up(context.Background(), db, base); err != nil {
			t.Errorf("migrate.Up: %v", err)
		}
		other := freshSQLite(t)()
		p, err := goose.NewProvider(goose.DialectSQLite3, other, base,
			goose.WithDisableGlobalRegistry(true), goose.WithLogger(goose.NopLogger()))
		if err != nil {
			t.Fatalf("goose.NewProvider: %v", err)
		}
		if n, err := p.Up(context.Background()); err == nil {
			t.Errorf("goose Up: applied %d, want an error for the missing -- +goose Up line", len(n))
		}
	})
}

// classified reports whether err is one of the errors migrate or goose
// export.
func classified(err error) bool {
	for _, target := range []error{
		migrate.ErrOutOfOrder, migrate.ErrDatabaseAhead, migrate.ErrChecksumMismatch,
		goose.ErrVersionNotFound, goose.ErrAlreadyApplied, goose.ErrNotApplied,
		goose.ErrNoMigrations, goose.ErrNoNextVersion, goose.ErrNoCurrentVersion,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// TestConcurrentStartSQLite starts four instances at once on one SQLite
// file with twelve migrations: with migrate each starts; with goose some
// fail on a migration another instance has just applied.
func TestConcurrentStartSQLite(t *testing.T) {
	for _, tl := range tools {
		t.Run(tl.name, func(t *testing.T) {
			t.Parallel()
			open := freshSQLite(t)
			// The migrations table exists, so only the migrations race.
			if _, err := tl.up(context.Background(), open(), steps(1)); err != nil {
				t.Fatalf("first Up: %v", err)
			}
			errs := concurrentStart(t, open, tl.up, 4, steps(12))
			switch {
			case tl.name == "migrate" && len(errs) > 0:
				t.Errorf("instances that failed to start: got %d (%v), want 0", len(errs), errs[0])
			case tl.name == "goose" && len(errs) == 0:
				t.Errorf("instances that failed to start: got 0, want some; goose may serialise SQLite now")
			}
		})
	}
}

// TestConcurrentStartPostgres starts four instances at once on one
// PostgreSQL schema: with both tools each starts and each migration is
// applied once; BenchmarkConcurrentStart measures how long they take.
func TestConcurrentStartPostgres(t *testing.T) {
	for _, tl := range tools {
		t.Run(tl.name, func(t *testing.T) {
			t.Parallel()
			open, _ := freshPostgres(t)
			if _, err := tl.up(context.Background(), open(), steps(1)); err != nil {
				t.Fatalf("first Up: %v", err)
			}
			if errs := concurrentStart(t, open, tl.up, 4, steps(12)); len(errs) > 0 {
				t.Errorf("instances that failed to start: got %d (%v), want 0", len(errs), errs[0])
			}
		})
	}
}

// BenchmarkConcurrentStart measures four instances of a service starting
// at once on PostgreSQL, where the migrations table exists and eleven
// migrations are pending: the time until the last instance is ready.
func BenchmarkConcurrentStart(b *testing.B) {
	for _, tl := range tools {
		b.Run(tl.name, func(b *testing.B) {
			open, reset := freshPostgres(b)
			dbs := make([]*sql.DB, 4)
			for i := range dbs {
				dbs[i] = open()
			}
			for b.Loop() {
				b.StopTimer()
				reset()
				if _, err := tl.up(context.Background(), dbs[0], steps(1)); err != nil {
					b.Fatalf("first Up: %v", err)
				}
				b.StartTimer()
				for _, err := range upAtOnce(dbs, tl.up, steps(12)) {
					if err != nil {
						b.Fatalf("Up: %v", err)
					}
				}
			}
		})
	}
}

// BenchmarkUpToDate measures the start of one instance on a database that
// has all twelve migrations: what every start but a deploy's costs.
func BenchmarkUpToDate(b *testing.B) {
	backends := []struct {
		name  string
		fresh func(testing.TB) func() *sql.DB
	}{
		{"sqlite", freshSQLite},
		{"postgres", func(tb testing.TB) func() *sql.DB { open, _ := freshPostgres(tb); return open }},
	}
	for _, be := range backends {
		for _, tl := range tools {
			b.Run(be.name+"/"+tl.name, func(b *testing.B) {
				db := be.fresh(b)()
				ctx := context.Background()
				if _, err := tl.up(ctx, db, steps(12)); err != nil {
					b.Fatalf("first Up: %v", err)
				}
				for b.Loop() {
					if n, err := tl.up(ctx, db, steps(12)); err != nil || n != 0 {
						b.Fatalf("Up: got (%d, %v), want (0, nil)", n, err)
					}
				}
			})
		}
	}
}

type upFunc = func(context.Context, *sql.DB, fstest.MapFS) (int, error)

// concurrentStart opens n handles, has up apply fsys on all of them at
// once, checks that each migration ran once, and returns the errors of the
// instances that failed.
func concurrentStart(tb testing.TB, open func() *sql.DB, up upFunc, n int, fsys fstest.MapFS) []error {
	tb.Helper()
	dbs := make([]*sql.DB, n)
	for i := range dbs {
		dbs[i] = open()
	}
	var failed []error
	for _, err := range upAtOnce(dbs, up, fsys) {
		if err != nil {
			failed = append(failed, err)
		}
	}
	var twice int
	if err := dbs[0].QueryRow("SELECT count(*) - count(DISTINCT version) FROM runs").Scan(&twice); err != nil {
		tb.Fatalf("read runs: %v", err)
	}
	if twice != 0 {
		tb.Errorf("migrations applied more than once: got %d, want 0", twice)
	}
	return failed
}

// upAtOnce runs up on each db at once, with a deadline so that an instance
// stuck on a lock fails instead of hanging, and returns their errors.
func upAtOnce(dbs []*sql.DB, up upFunc, fsys fstest.MapFS) []error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			_, errs[i] = up(ctx, db, fsys)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
