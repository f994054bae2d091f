// Package testenv gives messaging's tests the real parts they run
// against: the NATS server on 127.0.0.1:4222 (or TAILOR_TEST_NATS), an
// embedded one, SQLite files and fresh PostgreSQL schemas on
// 127.0.0.1:5432 (or TAILOR_TEST_POSTGRES). A missing server follows the
// module's one rule (package internal/testenv): it fails the test in CI
// and skips it elsewhere; go test -short skips what needs an external
// server, outside CI.
package testenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/sqlite"
)

// NATSURL is the external server the tests use.
func NATSURL() string {
	return cmp.Or(os.Getenv("TAILOR_TEST_NATS"), "nats://127.0.0.1:4222")
}

// External connects to the external NATS server.
func External(t testing.TB) *nats.Conn {
	t.Helper()
	testenv.Short(t, "NATS")
	nc, err := nats.Connect(NATSURL(), nats.Timeout(5*time.Second))
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("NATS at %s is unreachable: %v; "+
			"start it with scripts/services.sh (it runs nats-server -js on 127.0.0.1:4222) or point TAILOR_TEST_NATS at a server with JetStream",
			NATSURL(), err))
	}
	t.Cleanup(nc.Close)
	return nc
}

// Embedded starts an embedded server with its store in a test folder,
// listening on a free loopback port when listen is true.
func Embedded(t testing.TB, listen bool) *embedded.Server {
	t.Helper()
	cfg := embedded.Config{StoreDir: filepath.Join(t.TempDir(), "nats")}
	if listen {
		cfg.Listen = "127.0.0.1:0"
	}
	srv, err := embedded.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop(context.Background()) })
	return srv
}

// JetStream returns nc's JetStream context.
func JetStream(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Name returns a name no other test uses: letters and digits.
func Name(prefix string) string {
	return prefix + strings.ToUpper(rand.Text()[:10])
}

// Stream creates a stream of its own for the test, holding
// "<subject>.>", and deletes it, and its dead-letter stream, afterwards.
func Stream(t testing.TB, js jetstream.JetStream) (stream, subject string) {
	t.Helper()
	stream = Name("T")
	subject = strings.ToLower(stream)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := messaging.EnsureStream(ctx, js, stream, []string{subject + ".>"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		js.DeleteStream(ctx, stream)
		js.DeleteStream(ctx, stream+"_DEADLETTER")
	})
	return stream, subject
}

// SQLite opens a new SQLite database in a test folder.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres makes a fresh schema in the test database and returns a way to
// open handles on it; see [testenv.Postgres].
func Postgres(t testing.TB) func() *sql.DB {
	t.Helper()
	return testenv.Postgres(t, "messaging")
}

// Databases lists the two kinds of database, each as a function that
// makes a fresh one and returns a way to open handles on it.
func Databases() []struct {
	Name  string
	Fresh func(t testing.TB) func() *sql.DB
} {
	return []struct {
		Name  string
		Fresh func(t testing.TB) func() *sql.DB
	}{
		{"sqlite", func(t testing.TB) func() *sql.DB {
			db := SQLite(t)
			return func() *sql.DB { return db }
		}},
		{"postgres", Postgres},
	}
}

// Eventually polls cond until it holds or 30s pass. It is for waiting on
// real servers, never for timing assertions.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 30s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
