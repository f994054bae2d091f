package users_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// cheap makes hashing fast in tests that are not about its cost.
func cheap() users.Option {
	return users.WithParams(users.Params{Memory: 64, Time: 1, Threads: 1})
}

// databases are the two databases every test runs on, each as a function
// that makes a fresh, migrated one.
func databases() []struct {
	name  string
	fresh func(t testing.TB) *sql.DB
} {
	return []struct {
		name  string
		fresh func(t testing.TB) *sql.DB
	}{
		{"sqlite", freshSQLite},
		{"postgres", freshPostgres},
	}
}

func freshSQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := users.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// freshPostgres makes a schema of its own in the test database, migrates
// it and returns a handle on it.
func freshPostgres(t testing.TB) *sql.DB {
	t.Helper()
	db := testenv.Postgres(t, "users")()
	if err := users.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// start serves s on a free loopback port and returns the running service.
func start(t testing.TB, s *users.Service) *servicetest.Running {
	t.Helper()
	svc := servicetest.New(t, service.Config{Name: "users"})
	users.RegisterHTTP(svc.Router(), s)
	return servicetest.Start(t, svc)
}

// newService returns a service over db with cheap hashing, and opts.
func newService(t testing.TB, db *sql.DB, opts ...users.Option) *users.Service {
	t.Helper()
	s, err := users.NewService(users.NewStore(db), append([]users.Option{cheap()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// call sends a request with a JSON body (none when body is "") and an
// optional bearer token, and returns the answer and its body.
func call(t testing.TB, r *servicetest.Running, method, path, body, token string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// problem decodes a problem+json body, failing the test for anything else.
func problem(t testing.TB, resp *http.Response, body []byte) thttp.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
		t.Fatalf("Content-Type = %q (%s), want %q", ct, body, thttp.ProblemContentType)
	}
	var p thttp.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func signUpBody(email, password, name string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": name})
	return string(b)
}

func loginBody(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

// post sends a JSON body and returns the status and body of the answer.
func post(t testing.TB, r *servicetest.Running, path, body string) (int, []byte) {
	t.Helper()
	resp, b := call(t, r, "POST", path, body, "")
	return resp.StatusCode, b
}
