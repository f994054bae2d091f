package idempotency_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func TestReplay(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		s := serve(t, db, created())
		alice := s.token(t, "alice")
		first := s.do(t, request{key: "order-1", token: alice, body: `{"sku":"tee"}`})
		if first.status != http.StatusCreated {
			t.Fatalf("first: status %d, want 201; body %s", first.status, first.body)
		}
		if v := first.header.Get(idempotency.ReplayedHeader); v != "" {
			t.Errorf("first: %s %q, want none", idempotency.ReplayedHeader, v)
		}
		// The same key, quoted as a Structured Field string, is the same key.
		for _, key := range []string{"order-1", `"order-1"`} {
			again := s.do(t, request{key: key, token: alice, body: `{"sku":"tee"}`})
			if again.status != first.status || again.body != first.body {
				t.Errorf("replay with %s: %d %s, want %d %s", key, again.status, again.body, first.status, first.body)
			}
			for _, h := range []string{"Content-Type", "Location"} {
				if got, want := again.header.Get(h), first.header.Get(h); got != want {
					t.Errorf("replay: %s %q, want %q", h, got, want)
				}
			}
			if v := again.header.Get(idempotency.ReplayedHeader); v != "true" {
				t.Errorf("replay: %s %q, want true", idempotency.ReplayedHeader, v)
			}
			if v := again.header.Get("Set-Cookie"); v != "" {
				t.Errorf("replay: Set-Cookie %q, want none (not a replayed header)", v)
			}
			if again.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
				t.Error("replay: X-Request-Id is the first request's; want the replay's own")
			}
		}
		if n := s.calls.Load(); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
	})
}

func TestKeyReusedForAnotherRequest(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		s := serve(t, db, created(), idempotency.WithScope(func(r *http.Request) string { return r.Header.Get("X-Tenant") }))
		alice := s.token(t, "alice")
		if r := s.do(t, request{key: "k", token: alice, body: `{"sku":"tee"}`}); r.status != http.StatusCreated {
			t.Fatalf("first: status %d, want 201; body %s", r.status, r.body)
		}
		for name, rq := range map[string]request{
			"other body":  {key: "k", token: alice, body: `{"sku":"mug"}`},
			"other route": {path: "/v1/carts", key: "k", token: alice, body: `{"sku":"tee"}`},
			"other query": {path: "/v1/orders?express=1", key: "k", token: alice, body: `{"sku":"tee"}`},
		} {
			t.Run(name, func(t *testing.T) {
				wantProblem(t, s.do(t, rq), http.StatusUnprocessableEntity, `"k"`, "different request", "new key")
			})
		}
		// Anonymous callers of one tenant share its keys; the
		// fingerprint holds the scope, so the same key in another tenant
		// is another key.
		acme := http.Header{"X-Tenant": {"acme"}}
		if r := s.do(t, request{key: "t", header: acme, body: "a"}); r.status != http.StatusCreated {
			t.Fatalf("acme: status %d, want 201", r.status)
		}
		wantProblem(t, s.do(t, request{key: "t", header: acme, body: "b"}), http.StatusUnprocessableEntity, "different request")
		if r := s.do(t, request{key: "t", header: http.Header{"X-Tenant": {"globex"}}, body: "b"}); r.status != http.StatusCreated || r.header.Get(idempotency.ReplayedHeader) != "" {
			t.Errorf("globex: status %d replayed %q, want a fresh 201", r.status, r.header.Get(idempotency.ReplayedHeader))
		}
		if n := s.calls.Load(); n != 3 {
			t.Errorf("handler ran %d times, want 3", n)
		}
	})
}

func TestKeysAreScopedByUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		s := serve(t, db, created())
		alice, bob := s.token(t, "alice"), s.token(t, "bob")
		a := s.do(t, request{key: "same", token: alice, body: "{}"})
		b := s.do(t, request{key: "same", token: bob, body: "{}"})
		if a.status != http.StatusCreated || b.status != http.StatusCreated {
			t.Fatalf("statuses %d and %d, want 201 for both", a.status, b.status)
		}
		if !strings.Contains(a.body, `"alice"`) || !strings.Contains(b.body, `"bob"`) {
			t.Errorf("bodies %s and %s: each user should get the answer made for them", a.body, b.body)
		}
		if b.header.Get(idempotency.ReplayedHeader) != "" {
			t.Error("bob was given alice's answer")
		}
		if again := s.do(t, request{key: "same", token: bob, body: "{}"}); again.body != b.body {
			t.Errorf("bob's replay %s, want %s", again.body, b.body)
		}
		if n := s.calls.Load(); n != 2 {
			t.Errorf("handler ran %d times, want 2", n)
		}
	})
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		const n = 20
		// The handler holds its answer until every other duplicate has
		// had its own, so all of them meet the key in progress.
		others := make(chan struct{}, n)
		make201 := created()
		s := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
			for range n - 1 {
				select {
				case <-others:
				case <-time.After(20 * time.Second):
					t.Error("the other duplicates did not answer while the first ran")
				}
			}
			make201(w, r)
		})
		tok := s.token(t, "alice")
		replies := make([]reply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				replies[i] = s.do(t, request{key: "dup", token: tok, body: `{"sku":"tee"}`})
				if replies[i].status != http.StatusCreated {
					others <- struct{}{}
				}
			})
		}
		wg.Wait()
		var ok, busy int
		for _, r := range replies {
			switch r.status {
			case http.StatusCreated:
				ok++
			case http.StatusConflict:
				busy++
				wantProblem(t, r, http.StatusConflict, "in progress", "Retry-After")
				if v := r.header.Get("Retry-After"); v != "1" {
					t.Errorf("409 with Retry-After %q, want 1", v)
				}
			default:
				t.Errorf("status %d, want 201 or 409; body %s", r.status, r.body)
			}
		}
		if ok != 1 || busy != n-1 {
			t.Errorf("%d answers of 201 and %d of 409, want 1 and %d", ok, busy, n-1)
		}
		if c := s.calls.Load(); c != 1 {
			t.Errorf("handler ran %d times, want 1", c)
		}
		if r := s.do(t, request{key: "dup", token: tok, body: `{"sku":"tee"}`}); r.status != http.StatusCreated || r.header.Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("after the first finished: status %d replayed %q, want a replayed 201", r.status, r.header.Get(idempotency.ReplayedHeader))
		}
	})
}

func TestWhichAnswersAreStored(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		for _, tc := range []struct {
			status int
			stored bool
		}{
			{http.StatusOK, true},
			{http.StatusSeeOther, true},
			{http.StatusBadRequest, true},
			{http.StatusNotFound, true},
			{http.StatusConflict, true},
			{http.StatusUnprocessableEntity, true},
			{http.StatusForbidden, true},
			{http.StatusUnauthorized, false},
			{http.StatusRequestTimeout, false},
			{http.StatusTooManyRequests, false},
			{499, false},
			{http.StatusInternalServerError, false},
			{http.StatusServiceUnavailable, false},
			{http.StatusGatewayTimeout, false},
		} {
			t.Run(http.StatusText(tc.status), func(t *testing.T) {
				first := true
				s := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
					if first {
						first = false
						w.Header().Set("Content-Type", "text/plain")
						w.WriteHeader(tc.status)
						_, _ = w.Write([]byte("first"))
						return
					}
					w.WriteHeader(http.StatusCreated)
					_, _ = w.Write([]byte("second"))
				})
				key := "status-" + strconv.Itoa(tc.status)
				if r := s.do(t, request{key: key, body: "x"}); r.status != tc.status || r.body != "first" {
					t.Fatalf("first: %d %q, want %d %q", r.status, r.body, tc.status, "first")
				}
				r := s.do(t, request{key: key, body: "x"})
				if tc.stored {
					if r.status != tc.status || r.body != "first" || r.header.Get(idempotency.ReplayedHeader) != "true" {
						t.Errorf("retry: %d %q replayed %q, want the first answer replayed", r.status, r.body, r.header.Get(idempotency.ReplayedHeader))
					}
					if c := s.calls.Load(); c != 1 {
						t.Errorf("handler ran %d times, want 1", c)
					}
					return
				}
				if r.status != http.StatusCreated || r.body != "second" {
					t.Errorf("retry: %d %q, want the handler to run again (201 %q)", r.status, r.body, "second")
				}
				if c := s.calls.Load(); c != 2 {
					t.Errorf("handler ran %d times, want 2", c)
				}
			})
		}
	})
}

func TestPanicReleasesKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		first := true
		s := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
			if first {
				first = false
				panic("out of stock table")
			}
			w.WriteHeader(http.StatusCreated)
		})
		wantProblem(t, s.do(t, request{key: "p", body: "x"}), http.StatusInternalServerError)
		if n := rows(t, db); n != 0 {
			t.Errorf("%d keys stored after a panic, want 0", n)
		}
		if r := s.do(t, request{key: "p", body: "x"}); r.status != http.StatusCreated {
			t.Errorf("retry: status %d, want 201", r.status)
		}
	})
}

func TestLargeBodies(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		big := strings.Repeat("x", 100)
		s := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(big))
		}, idempotency.WithMaxBodyBytes(64))
		for range 2 {
			if r := s.do(t, request{key: "big-answer", body: "small"}); r.status != http.StatusOK || r.body != big {
				t.Fatalf("status %d body of %d bytes, want 200 and all %d bytes", r.status, len(r.body), len(big))
			}
		}
		if c := s.calls.Load(); c != 2 {
			t.Errorf("handler ran %d times for an answer too large to store, want 2", c)
		}
		if n := rows(t, db); n != 0 {
			t.Errorf("%d keys stored, want 0", n)
		}
		wantProblem(t, s.do(t, request{key: "big-request", body: big}), http.StatusRequestEntityTooLarge, "64 bytes")
		if c := s.calls.Load(); c != 2 {
			t.Errorf("handler ran for a request body too large to fingerprint")
		}
	})
}

func TestExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		clk := newClock()
		s := serve(t, db, created(), idempotency.WithClock(clk.Now), idempotency.WithTTL(time.Hour))
		first := s.do(t, request{key: "e", body: "x"})
		clk.Add(time.Hour - time.Microsecond)
		if r := s.do(t, request{key: "e", body: "x"}); r.body != first.body {
			t.Fatalf("before expiry: %s, want the replay %s", r.body, first.body)
		}
		clk.Add(time.Microsecond)
		// Expired but not pruned: the key is free.
		if r := s.do(t, request{key: "e", body: "other"}); r.status != http.StatusCreated || r.header.Get(idempotency.ReplayedHeader) != "" {
			t.Fatalf("after expiry: status %d replayed %q, want a fresh 201", r.status, r.header.Get(idempotency.ReplayedHeader))
		}
		s.do(t, request{key: "f", body: "x"})
		if n, err := s.store.Prune(t.Context()); err != nil || n != 0 {
			t.Fatalf("Prune = %d, %v; want 0 (nothing expired)", n, err)
		}
		clk.Add(time.Hour)
		if n, err := s.store.Prune(t.Context()); err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want 2", n, err)
		}
		if n := rows(t, db); n != 0 {
			t.Errorf("%d keys left after the prune, want 0", n)
		}
		if c := s.calls.Load(); c != 3 {
			t.Errorf("handler ran %d times, want 3", c)
		}
	})
}

func TestLeaseExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		clk := newClock()
		entered, finish := make(chan struct{}), make(chan struct{})
		var calls int
		s := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 {
				// The request that stalls, as one in a process that died.
				close(entered)
				<-finish
				_, _ = w.Write([]byte("late"))
				return
			}
			_, _ = w.Write([]byte("retried"))
		}, idempotency.WithClock(clk.Now), idempotency.WithLease(30*time.Second))
		stalled := make(chan reply)
		go func() { stalled <- s.do(t, request{key: "l", body: "x"}) }()
		<-entered
		wantProblem(t, s.do(t, request{key: "l", body: "x"}), http.StatusConflict, "in progress")
		clk.Add(30 * time.Second)
		if r := s.do(t, request{key: "l", body: "x"}); r.status != http.StatusOK || r.body != "retried" {
			t.Fatalf("after the lease: %d %q, want the handler to run again", r.status, r.body)
		}
		close(finish)
		if r := <-stalled; r.body != "late" {
			t.Errorf("the stalled request got %q, want its own answer", r.body)
		}
		// The late answer does not replace the one made under the lease.
		if r := s.do(t, request{key: "l", body: "x"}); r.body != "retried" || r.header.Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("replay %q (replayed %q), want %q", r.body, r.header.Get(idempotency.ReplayedHeader), "retried")
		}
	})
}

func TestMissingKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		optional := serve(t, db, created())
		for range 2 {
			if r := optional.do(t, request{body: "x"}); r.status != http.StatusCreated {
				t.Fatalf("without a key: status %d, want 201", r.status)
			}
		}
		if c := optional.calls.Load(); c != 2 {
			t.Errorf("handler ran %d times without keys, want 2", c)
		}
		required := serve(t, db, created(), idempotency.Required())
		wantProblem(t, required.do(t, request{body: "x"}), http.StatusBadRequest, "Idempotency-Key", "UUID")
		if r := required.do(t, request{method: http.MethodGet}); r.status != http.StatusCreated {
			t.Errorf("GET without a key: status %d, want it to pass", r.status)
		}
		if c := required.calls.Load(); c != 1 {
			t.Errorf("handler ran %d times, want 1 (the GET)", c)
		}
		if n := rows(t, db); n != 0 {
			t.Errorf("%d keys stored, want 0", n)
		}
	})
}

func TestInvalidKey(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		s := serve(t, db, created(), idempotency.Required())
		for name, tc := range map[string]struct {
			header http.Header
			word   string
		}{
			"too long":          {http.Header{idempotency.Header: {strings.Repeat("k", 256)}}, "255"},
			"too long quoted":   {http.Header{idempotency.Header: {`"` + strings.Repeat("k", 256) + `"`}}, "255"},
			"space":             {http.Header{idempotency.Header: {"two words"}}, "double quotes"},
			"non-ASCII":         {http.Header{idempotency.Header: {"ключ"}}, "ASCII"},
			"twice":             {http.Header{idempotency.Header: {"a", "b"}}, "2 times"},
			"empty string":      {http.Header{idempotency.Header: {`""`}}, "empty"},
			"unterminated":      {http.Header{idempotency.Header: {`"abc`}}, "closing quote"},
			"after closing":     {http.Header{idempotency.Header: {`"abc";x=1`}}, "after its closing quote"},
			"bad escape":        {http.Header{idempotency.Header: {`"a\b"`}}, "backslash"},
			"control in quotes": {http.Header{idempotency.Header: {"\"a\tb\""}}, "printable ASCII"},
		} {
			t.Run(name, func(t *testing.T) {
				wantProblem(t, s.do(t, request{header: tc.header, body: "x"}), http.StatusBadRequest, "Idempotency-Key", tc.word)
			})
		}
		if c := s.calls.Load(); c != 0 {
			t.Errorf("handler ran %d times, want 0", c)
		}
	})
}

func TestStoreUnavailable(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "unmigrated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := serve(t, db, created())
	r := s.do(t, request{key: "k", body: "x"})
	wantProblem(t, r, http.StatusServiceUnavailable, "retry later")
	if v := r.header.Get("Retry-After"); v != "1" {
		t.Errorf("Retry-After %q, want 1", v)
	}
	if c := s.calls.Load(); c != 0 {
		t.Errorf("handler ran %d times without a store, want 0", c)
	}
}

// Installed router-wide, the middleware sees no route pattern yet; the
// request target still tells requests apart, and safe methods pass.
func TestRouterWide(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sql.DB) {
		store, err := idempotency.New(db)
		if err != nil {
			t.Fatal(err)
		}
		router := thttp.NewRouter(thttp.WithMiddleware(store.Middleware()))
		var calls atomic.Int64
		h := func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %d", r.URL.Path, calls.Add(1))
		}
		router.HandleFunc("POST /v1/orders", h)
		router.HandleFunc("POST /v1/carts", h)
		router.HandleFunc("GET /healthz", h)
		srv := httptest.NewServer(router)
		t.Cleanup(srv.Close)
		s := server{url: srv.URL, calls: &calls}
		first := s.do(t, request{key: "rw", body: "x"})
		if again := s.do(t, request{key: "rw", body: "x"}); again.body != first.body || again.header.Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("replay %q, want %q replayed", again.body, first.body)
		}
		wantProblem(t, s.do(t, request{path: "/v1/carts", key: "rw", body: "x"}), http.StatusUnprocessableEntity, "different request")
		for range 2 {
			s.do(t, request{method: http.MethodGet, path: "/healthz", key: "rw"})
		}
		if c := calls.Load(); c != 3 {
			t.Errorf("handler ran %d times, want 3", c)
		}
	})
}

// A body limit set before the middleware is answered with its own size.
func TestBodyLimitedBefore(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "limited.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrateDB(t, db)
	store, err := idempotency.New(db)
	if err != nil {
		t.Fatal(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, 10)
			next.ServeHTTP(w, r)
		})
	}))
	var calls atomic.Int64
	router.Handle("POST /v1/orders", store.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })))
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	s := server{url: srv.URL, calls: &calls}
	wantProblem(t, s.do(t, request{key: "k", body: strings.Repeat("x", 11)}), http.StatusRequestEntityTooLarge, "10 bytes")
	if c := calls.Load(); c != 0 {
		t.Errorf("handler ran %d times, want 0", c)
	}
}
