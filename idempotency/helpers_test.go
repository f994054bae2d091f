package idempotency_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

const (
	issuer   = "https://users.test"
	audience = "orders"
)

// eachDB runs f on a migrated SQLite database and on a migrated
// PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "idempotency.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		migrateDB(t, db)
		f(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db := testenv.Postgres(t, "idempotency")()
		migrateDB(t, db)
		f(t, db)
	})
}

func migrateDB(t *testing.T, db *sql.DB) {
	t.Helper()
	if err := idempotency.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	// A second run, as at every start, finds nothing to do.
	if err := idempotency.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

// clock is a settable clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// server is a store's middleware on the routes of a small orders API,
// behind a real token verifier, over loopback.
type server struct {
	url    string
	store  *idempotency.Store
	signer *auth.Signer
	calls  *atomic.Int64
}

// serve mounts h, wrapped by a store over db made with opts, on
// POST /v1/orders, POST /v1/carts and GET /v1/orders.
func serve(t *testing.T, db *sql.DB, h http.HandlerFunc, opts ...idempotency.Option) server {
	t.Helper()
	signer, err := auth.NewSigner(issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(signer, issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	store, err := idempotency.New(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	calls := new(atomic.Int64)
	counted := func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	for _, pattern := range []string{"POST /v1/orders", "POST /v1/carts", "GET /v1/orders"} {
		router.Handle(pattern, store.Handler(http.HandlerFunc(counted)))
	}
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return server{url: srv.URL, store: store, signer: signer, calls: calls}
}

// created is a handler that answers 201 with the caller, the body it
// was sent and how many orders it has made, a Location, and a cookie
// that is not to be replayed.
func created() http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c, _ := auth.ClaimsFrom(r.Context())
		id := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", fmt.Sprintf("/v1/orders/%d", id))
		w.Header().Set("Set-Cookie", "seen=yes")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"order": id, "subject": c.Subject, "body": string(body)})
	}
}

// token signs a token for subject.
func (s server) token(t *testing.T, subject string) string {
	t.Helper()
	tok, err := s.signer.Sign(auth.Claims{Subject: subject}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status  int
	header  http.Header
	body    string
	problem thttp.Problem
}

// request describes one request to the server.
type request struct {
	method, path string
	key          string // the Idempotency-Key field value; none when empty
	token        string
	body         string
	header       http.Header
}

func (s server) do(t testing.TB, rq request) reply {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	if rq.path == "" {
		rq.path = "/v1/orders"
	}
	req, err := http.NewRequest(rq.method, s.url+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	if rq.key != "" {
		req.Header.Set(idempotency.Header, rq.key)
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == thttp.ProblemContentType {
		if err := json.Unmarshal(body, &r.problem); err != nil {
			t.Fatalf("problem body %q: %v", body, err)
		}
	}
	return r
}

// wantProblem checks that r is a problem+json answer of status whose
// detail mentions each of words.
func wantProblem(t *testing.T, r reply, status int, words ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != thttp.ProblemContentType {
		t.Fatalf("Content-Type %q, want %q", ct, thttp.ProblemContentType)
	}
	for _, w := range words {
		if !strings.Contains(r.problem.Detail, w) {
			t.Errorf("problem detail %q does not mention %q", r.problem.Detail, w)
		}
	}
}

// rows counts the stored keys.
func rows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM tailor_idempotency`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
