package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/sqlite"
)

func TestOpenSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "folder", "app.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
	} {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s: got %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
	if got, want := db.Stats().MaxOpenConnections, 1; got != want {
		t.Errorf("MaxOpenConnections: got %d, want %d", got, want)
	}
}

func TestOpenEnforcesForeignKeys(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "fk.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE parents (id INTEGER PRIMARY KEY);
		CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents(id));`); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO children (id, parent_id) VALUES (1, 42)"); err == nil {
		t.Errorf("insert child of a missing parent: got no error, want a foreign key error")
	}
}

func TestOpenConcurrentWriters(t *testing.T) {
	// Two handles on one file stand for two processes: each waits for the
	// other's write lock instead of failing with SQLITE_BUSY.
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, "CREATE TABLE counter (n INTEGER NOT NULL)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := a.ExecContext(ctx, "INSERT INTO counter (n) VALUES (0)"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	const rounds = 50
	errs := make(chan error, 2)
	for _, db := range []*sql.DB{a, b} {
		go func() {
			for range rounds {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				if _, err := tx.ExecContext(ctx, "UPDATE counter SET n = ?", n+1); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	var n int
	if err := a.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
		t.Fatalf("read counter: %v", err)
	}
	if n != 2*rounds {
		t.Errorf("counter: got %d, want %d (a lost update)", n, 2*rounds)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"question mark", filepath.Join(dir, "what?.db")},
		{"parent is a file", filepath.Join(file, "app.db")},
		{"path is a folder", dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlite.Open(tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got no error, want one", tc.path)
			}
			if tc.path != "" && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("Open(%q): got error %q, want it to name the path", tc.path, err)
			}
		})
	}
}
