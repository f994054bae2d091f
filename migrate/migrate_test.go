package migrate_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/sqlite"
)

// A backend makes fresh, empty databases of one kind.
type backend struct {
	name string
	// fresh makes a new empty database and returns a function that opens
	// a new handle (its own pool of connections) on it. Everything is
	// closed and removed when the test ends.
	fresh func(t *testing.T) (open func() *sql.DB)
	// hasTable reports whether db has a table of that name.
	hasTable func(t *testing.T, db *sql.DB, name string) bool
}

func backends() []backend {
	return []backend{
		{name: "sqlite", fresh: freshSQLite, hasTable: sqliteHasTable},
		{name: "postgres", fresh: freshPostgres, hasTable: postgresHasTable},
	}
}

func freshSQLite(t *testing.T) func() *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	return func() *sql.DB {
		t.Helper()
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("open SQLite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

func sqliteHasTable(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
		t.Fatalf("look up table %s: %v", name, err)
	}
	return n > 0
}

// freshPostgres makes a schema with a random name in the test database and
// opens handles whose search_path is that schema.
func freshPostgres(t *testing.T) func() *sql.DB {
	t.Helper()
	return testenv.Postgres(t, "migrate")
}

func postgresHasTable(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := db.QueryRow("SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatalf("look up table %s: %v", name, err)
	}
	return ok
}

// versions returns the versions recorded in schema_migrations.
func versions(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return vs
}

// files makes a file system from names and contents.
func files(nameContent ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(nameContent); i += 2 {
		fsys[nameContent[i]] = &fstest.MapFile{Data: []byte(nameContent[i+1])}
	}
	return fsys
}

// with returns a copy of fsys with more files.
func with(fsys fstest.MapFS, nameContent ...string) fstest.MapFS {
	out := maps.Clone(fsys)
	maps.Copy(out, files(nameContent...))
	return out
}

const (
	createProducts = "CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL);"
	addStock       = "CREATE TABLE stock (product_id TEXT NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL);"
	addOrders      = "CREATE TABLE orders (id TEXT PRIMARY KEY);\nINSERT INTO products (id, name) VALUES ('p1', 'Pen');"
)

func TestUp(t *testing.T) {
	base := files(
		"0001_create_products.sql", createProducts,
		"0002_add_stock.sql", addStock,
	)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db := b.fresh(t)()
			ctx := context.Background()

			steps := []struct {
				name         string
				fsys         fstest.MapFS
				wantApplied  int
				wantVersions []int64
			}{
				{"fresh database", base, 2, []int64{1, 2}},
				{"again", base, 0, []int64{1, 2}},
				{"a new migration", with(base, "0003_add_orders.sql", addOrders), 1, []int64{1, 2, 3}},
				{"again after the new one", with(base, "0003_add_orders.sql", addOrders), 0, []int64{1, 2, 3}},
			}
			for _, s := range steps {
				got, err := migrate.Up(ctx, db, s.fsys)
				if err != nil {
					t.Fatalf("%s: Up: %v", s.name, err)
				}
				if got != s.wantApplied {
					t.Errorf("%s: applied: got %d, want %d", s.name, got, s.wantApplied)
				}
				if got := versions(t, db); !slices.Equal(got, s.wantVersions) {
					t.Errorf("%s: versions: got %v, want %v", s.name, got, s.wantVersions)
				}
			}
			for _, table := range []string{"products", "stock", "orders"} {
				if !b.hasTable(t, db, table) {
					t.Errorf("table %s: got missing, want created", table)
				}
			}
			var name, checksum string
			var appliedAt any
			if err := db.QueryRow("SELECT name, checksum, applied_at FROM schema_migrations WHERE version = 3").Scan(&name, &checksum, &appliedAt); err != nil {
				t.Fatalf("read record of version 3: %v", err)
			}
			if want := "0003_add_orders.sql"; name != want {
				t.Errorf("name: got %q, want %q", name, want)
			}
			if len(checksum) != 64 {
				t.Errorf("checksum: got %q, want 64 hex digits", checksum)
			}
			if appliedAt == nil {
				t.Errorf("applied_at: got NULL, want the time of applying")
			}
		})
	}
}

func TestUpRefuses(t *testing.T) {
	base := files(
		"0001_create_products.sql", createProducts,
		"0002_add_stock.sql", addStock,
	)
	cases := []struct {
		name    string
		applied fstest.MapFS // applied first, when not nil
		then    fstest.MapFS
		wantErr error
		wantMsg []string // what the message must name
	}{
		{
			name:    "edited migration",
			applied: base,
			then:    with(base, "0002_add_stock.sql", addStock+"\nCREATE INDEX stock_product ON stock (product_id);"),
			wantErr: migrate.ErrChecksumMismatch,
			wantMsg: []string{"0002_add_stock.sql", "version 2", "new migration"},
		},
		{
			name:    "database ahead of the code",
			applied: with(base, "0003_add_orders.sql", addOrders),
			then:    base,
			wantErr: migrate.ErrDatabaseAhead,
			wantMsg: []string{"3 (0003_add_orders.sql)"},
		},
		{
			name:    "new migration below an applied one",
			applied: files("0001_create_products.sql", createProducts, "0003_add_orders.sql", addOrders),
			then:    files("0001_create_products.sql", createProducts, "0002_add_stock.sql", addStock, "0003_add_orders.sql", addOrders),
			wantErr: migrate.ErrOutOfOrder,
			wantMsg: []string{"0002_add_stock.sql", "renumber it above 3"},
		},
		{
			name:    "bad file name",
			then:    with(base, "notes.txt", "remember the milk"),
			wantErr: migrate.ErrBadName,
			wantMsg: []string{"notes.txt", "NNNN_description.sql"},
		},
		{
			name:    "bad file name with a dash",
			then:    with(base, "0003-add-orders.sql", addOrders),
			wantErr: migrate.ErrBadName,
			wantMsg: []string{"0003-add-orders.sql", "NNNN_description.sql"},
		},
		{
			name:    "duplicate version",
			then:    with(base, "002_add_stock_again.sql", addStock),
			wantErr: migrate.ErrDuplicateVersion,
			wantMsg: []string{"0002_add_stock.sql", "002_add_stock_again.sql"},
		},
		{
			name:    "no migrations",
			then:    files("migrations/0001_create_products.sql", createProducts),
			wantErr: migrate.ErrNoMigrations,
			wantMsg: []string{"migrations", "WithDir"},
		},
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					db := b.fresh(t)()
					ctx := context.Background()
					var before []int64
					if tc.applied != nil {
						if _, err := migrate.Up(ctx, db, tc.applied); err != nil {
							t.Fatalf("first Up: %v", err)
						}
						before = versions(t, db)
					}
					n, err := migrate.Up(ctx, db, tc.then)
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Up: got error %v, want %v", err, tc.wantErr)
					}
					for _, want := range tc.wantMsg {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("Up: got error %q, want it to contain %q", err, want)
						}
					}
					if n != 0 {
						t.Errorf("applied: got %d, want 0", n)
					}
					if tc.applied != nil {
						if got := versions(t, db); !slices.Equal(got, before) {
							t.Errorf("versions: got %v, want %v (unchanged)", got, before)
						}
					}
				})
			}
		})
	}
}

func TestUpRollsBackFailingMigration(t *testing.T) {
	good := files(
		"0001_create_products.sql", createProducts,
		"0002_add_stock.sql", "CREATE TABLE partial (id INTEGER);\nINSERT INTO no_such_table (id) VALUES (1);",
		"0003_add_orders.sql", addOrders,
	)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db := b.fresh(t)()
			ctx := context.Background()
			n, err := migrate.Up(ctx, db, good)
			if err == nil {
				t.Fatalf("Up: got no error, want the failure of 0002_add_stock.sql")
			}
			if !strings.Contains(err.Error(), "0002_add_stock.sql") {
				t.Errorf("Up: got error %q, want it to name 0002_add_stock.sql", err)
			}
			if n != 1 {
				t.Errorf("applied: got %d, want 1", n)
			}
			if got, want := versions(t, db), []int64{1}; !slices.Equal(got, want) {
				t.Errorf("versions: got %v, want %v", got, want)
			}
			if b.hasTable(t, db, "partial") {
				t.Errorf("table partial: got created, want rolled back")
			}
			if b.hasTable(t, db, "orders") {
				t.Errorf("table orders: got created, want not applied after a failure")
			}

			fixed := with(good, "0002_add_stock.sql", addStock)
			n, err = migrate.Up(ctx, db, fixed)
			if err != nil {
				t.Fatalf("Up after the fix: %v", err)
			}
			if n != 2 {
				t.Errorf("applied after the fix: got %d, want 2", n)
			}
		})
	}
}

func TestUpConcurrent(t *testing.T) {
	// Instances start at once twice: on a fresh database, where they race
	// to create the migrations table too, and at the next deploy, with
	// more migrations.
	const instances, first, migrations = 4, 6, 12
	all := files("0001_create_runs.sql", "CREATE TABLE runs (version INTEGER NOT NULL);")
	for v := 2; v <= migrations; v++ {
		all[fmt.Sprintf("%04d_step.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"INSERT INTO runs (version) VALUES (%d);\nCREATE TABLE step_%d (id INTEGER);", v, v))}
	}
	deploys := []fstest.MapFS{{}, all}
	for name, f := range all {
		if v, _ := strconv.Atoi(name[:4]); v <= first {
			deploys[0][name] = f
		}
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := b.fresh(t)
			dbs := make([]*sql.DB, instances)
			for i := range dbs {
				dbs[i] = open()
			}
			total := 0
			for d, fsys := range deploys {
				applied, errs := upAtOnce(dbs, fsys)
				for i, err := range errs {
					if err != nil {
						t.Errorf("deploy %d, instance %d: Up: %v", d+1, i, err)
					}
					total += applied[i]
				}
			}
			if total != migrations {
				t.Errorf("applied in all: got %d, want %d (each migration once)", total, migrations)
			}
			counts := map[int]int{}
			rows, err := dbs[0].Query("SELECT version FROM runs")
			if err != nil {
				t.Fatalf("read runs: %v", err)
			}
			defer rows.Close()
			for rows.Next() {
				var v int
				if err := rows.Scan(&v); err != nil {
					t.Fatalf("read runs: %v", err)
				}
				counts[v]++
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read runs: %v", err)
			}
			for v := 2; v <= migrations; v++ {
				if counts[v] != 1 {
					t.Errorf("migration %d: got applied %d times, want once", v, counts[v])
				}
			}
		})
	}
}

// upAtOnce calls Up on every db at the same time, each with a deadline, so
// that an instance stuck waiting for a lock fails instead of hanging.
func upAtOnce(dbs []*sql.DB, fsys fstest.MapFS) (applied []int, errs []error) {
	applied, errs = make([]int, len(dbs)), make([]error, len(dbs))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = migrate.Up(ctx, db, fsys)
		})
	}
	close(start)
	wg.Wait()
	return applied, errs
}

func TestUpReadsCRLFAsLF(t *testing.T) {
	t.Parallel()
	lf := files("0001_create_products.sql", "CREATE TABLE products (\n\tid TEXT PRIMARY KEY\n);\n")
	crlf := files("0001_create_products.sql", "CREATE TABLE products (\r\n\tid TEXT PRIMARY KEY\r\n);\r\n")
	db := freshSQLite(t)()
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, lf); err != nil {
		t.Fatalf("Up: %v", err)
	}
	n, err := migrate.Up(ctx, db, crlf)
	if err != nil {
		t.Fatalf("Up with CRLF line endings: got error %v, want none", err)
	}
	if n != 0 {
		t.Errorf("applied: got %d, want 0", n)
	}
}

func TestUpOptions(t *testing.T) {
	fsys := files(
		"db/migrations/0001_create_products.sql", createProducts,
		"db/migrations/old/0001_ignored.sql", "this is not SQL and is never read",
	)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db := b.fresh(t)()
			n, err := migrate.Up(context.Background(), db, fsys,
				migrate.WithDir("db/migrations"), migrate.WithTable("catalog_migrations"))
			if err != nil {
				t.Fatalf("Up: %v", err)
			}
			if n != 1 {
				t.Errorf("applied: got %d, want 1", n)
			}
			if !b.hasTable(t, db, "catalog_migrations") {
				t.Errorf("table catalog_migrations: got missing, want created")
			}
			if b.hasTable(t, db, "schema_migrations") {
				t.Errorf("table schema_migrations: got created, want only catalog_migrations")
			}
		})
	}
}

func TestUpSetsInTheirOwnTables(t *testing.T) {
	// A service and a library it uses (the outbox, say) migrate one
	// database, each from its own files recorded in its own table; their
	// version numbers overlap, and neither set is ahead of the other.
	service := files("0001_create_products.sql", createProducts, "0002_add_stock.sql", addStock)
	library := files("0001_create_outbox.sql", "CREATE TABLE outbox (seq INTEGER PRIMARY KEY);")
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db := b.fresh(t)()
			ctx := context.Background()
			steps := []struct {
				name  string
				fsys  fstest.MapFS
				opts  []migrate.Option
				wantN int
			}{
				{"service", service, nil, 2},
				{"library", library, []migrate.Option{migrate.WithTable("outbox_migrations")}, 1},
				{"service again", service, nil, 0},
				{"library again", library, []migrate.Option{migrate.WithTable("outbox_migrations")}, 0},
			}
			for _, s := range steps {
				n, err := migrate.Up(ctx, db, s.fsys, s.opts...)
				if err != nil {
					t.Fatalf("%s: Up: %v", s.name, err)
				}
				if n != s.wantN {
					t.Errorf("%s: applied: got %d, want %d", s.name, n, s.wantN)
				}
			}
			if got, want := versions(t, db), []int64{1, 2}; !slices.Equal(got, want) {
				t.Errorf("schema_migrations versions: got %v, want %v", got, want)
			}
			if !b.hasTable(t, db, "outbox") {
				t.Errorf("table outbox: got missing, want created")
			}
		})
	}
}

// unknownConnector is a database driver migrate does not know; it never
// connects.
type unknownConnector struct{}

func (unknownConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("unknown driver: no database")
}
func (c unknownConnector) Driver() driver.Driver { return unknownDriver{} }
func (unknownDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("unknown driver: no database")
}

type unknownDriver struct{}

func TestUpConfigurationErrors(t *testing.T) {
	db := sql.OpenDB(unknownConnector{})
	t.Cleanup(func() { db.Close() })
	fsys := files("0001_create_products.sql", createProducts)
	for _, tc := range []struct {
		name    string
		opts    []migrate.Option
		wantMsg string
	}{
		{"unknown driver", nil, "WithDialect(migrate.PostgreSQL)"},
		{"unknown dialect", []migrate.Option{migrate.WithDialect(migrate.Dialect(9))}, "unknown Dialect(9)"},
		{"bad table name", []migrate.Option{migrate.WithTable("migrations; DROP TABLE products")}, "WithTable"},
		{"missing folder", []migrate.Option{migrate.WithDialect(migrate.SQLite), migrate.WithDir("migrations")}, `folder "migrations"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := migrate.Up(context.Background(), db, fsys, tc.opts...)
			if err == nil {
				t.Fatalf("Up: got no error, want one containing %q", tc.wantMsg)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Up: got error %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}
