package idempotency_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// BenchmarkHandler measures whole requests over loopback, side by side:
// without a key (the handler alone), with a new key each time (claim and
// store), and with a key already answered (replay).
func BenchmarkHandler(b *testing.B) {
	for _, dbCase := range []struct {
		name string
		open func(b *testing.B) *sql.DB
	}{
		{"sqlite", func(b *testing.B) *sql.DB {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) *sql.DB { return testenv.Postgres(b, "idempotency_bench")() }},
	} {
		b.Run(dbCase.name, func(b *testing.B) {
			db := dbCase.open(b)
			if err := idempotency.Migrate(context.Background(), db); err != nil {
				b.Fatal(err)
			}
			store, err := idempotency.New(db)
			if err != nil {
				b.Fatal(err)
			}
			router := thttp.NewRouter()
			router.Handle("POST /v1/orders", store.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_, _ = io.Copy(w, r.Body)
			})))
			srv := httptest.NewServer(router)
			b.Cleanup(srv.Close)
			body := `{"items":[{"product_id":"tee","quantity":2}]}`
			post := func(b *testing.B, key string) {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/orders", strings.NewReader(body))
				if key != "" {
					req.Header.Set(idempotency.Header, key)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("status %d, want 201", resp.StatusCode)
				}
			}
			b.Run("no-key", func(b *testing.B) {
				for b.Loop() {
					post(b, "")
				}
			})
			b.Run("new-key", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					post(b, b.Name()+strconv.Itoa(i))
				}
			})
			b.Run("replay", func(b *testing.B) {
				post(b, "replayed")
				for b.Loop() {
					post(b, "replayed")
				}
			})
		})
	}
}
