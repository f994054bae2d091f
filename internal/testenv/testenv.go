// Package testenv holds the one rule tailor's integration tests follow
// when a real server they need (PostgreSQL, NATS, Consul, Prometheus) is
// missing: in CI (CI=true, as .ci/run sets it) the test fails and says
// how to start the server; elsewhere it is skipped, so that
// go test ./... on a laptop without the servers still runs everything
// else.
//
// Start with [Missing]: call it where a test finds its server unreachable,
// with a reason that says how to start it. [Short] skips such tests under
// go test -short outside CI; [CI] tells the two apart for the rare test
// that needs to know.
package testenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// CI reports whether the tests run in CI: the CI environment variable
// holds a true value as strconv.ParseBool reads it ("1", "true", "TRUE").
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Missing reports that what a test needs is not there: it fails the test
// in CI and skips it elsewhere. why says what is missing and how to get
// it, for instance "NATS at 127.0.0.1:4222 is unreachable: ...; start it
// with scripts/services.sh".
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatal(why)
	}
	t.Skip(why + " (skipped outside CI; CI=true makes this a failure)")
}

// Short skips a test that needs a real server under go test -short,
// outside CI; CI never skips it.
func Short(t testing.TB, what string) {
	t.Helper()
	if testing.Short() && !CI() {
		t.Skipf("%s tests skipped with -short (CI never skips them)", what)
	}
}

// PostgresURL is the PostgreSQL server the tests use: TAILOR_TEST_POSTGRES,
// or the local one scripts/services.sh starts.
func PostgresURL() string {
	return cmp.Or(os.Getenv("TAILOR_TEST_POSTGRES"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// Postgres makes a schema with a random name, starting with prefix, in
// the test database, and returns a function that opens handles (each its
// own pool) whose search_path is that schema, so tests that each have
// their own schema can run in parallel. The schema is dropped when the
// test ends. A server that cannot be reached is [Missing].
func Postgres(t testing.TB, prefix string) func() *sql.DB {
	t.Helper()
	Short(t, "PostgreSQL")
	cfg, err := pgx.ParseConfig(PostgresURL())
	if err != nil {
		t.Fatalf("TAILOR_TEST_POSTGRES is not a valid PostgreSQL connection string: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Missing(t, fmt.Sprintf("PostgreSQL at %s:%d (user %s, database %s) is unreachable: %v; "+
			"start it with scripts/services.sh or point TAILOR_TEST_POSTGRES at a running server",
			cfg.Host, cfg.Port, cfg.User, cfg.Database, err))
	}
	schema := strings.ToLower(prefix + "_test_" + rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return func() *sql.DB {
		c := cfg.Copy()
		c.RuntimeParams["search_path"] = schema
		db := stdlib.OpenDB(*c)
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// Crowd waits until no other test, in this process or another, holds
// the crowd lock (a file lock on tailor-test-crowd.lock in the temporary
// directory), and holds it until t ends. A test that starts a whole
// shop's worth of services or processes takes it first: go test runs two
// packages at once, and two such tests together pass PostgreSQL's
// max_connections (100 by default, each service keeping a pool) and, on
// a small machine, starve each other of the CPU their timings assume.
func Crowd(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "tailor-test-crowd.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("opening the crowd lock: %v", err)
	}
	// The lock belongs to the open file: closing it, when the test ends,
	// lets the next test in.
	t.Cleanup(func() { f.Close() })
	began := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("taking the crowd lock %s: %v", f.Name(), err)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Logf("waited %s for another test's shop to stop", waited.Round(time.Millisecond))
	}
}
