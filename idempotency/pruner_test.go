package idempotency_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/sqlite"
)

// The pruner deletes expired keys at Start and then every interval, in
// fake time.
func TestPruner(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		db, err := sqlite.Open(filepath.Join(dir, "pruner.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := idempotency.Migrate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		store, err := idempotency.New(db, idempotency.WithTTL(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		h := store.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		send := func(key string) {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader("{}"))
			req.Header.Set(idempotency.Header, key)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
		send("old")
		time.Sleep(2 * time.Hour) // fake time: "old" has expired
		send("new")

		p := store.Pruner(idempotency.WithInterval(30 * time.Minute))
		if err := p.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(t.Context()); err == nil {
			t.Error("a second Start succeeded; want an error")
		}
		synctest.Wait()
		if n := rows(t, db); n != 1 {
			t.Errorf("%d keys after the first prune, want 1", n)
		}
		time.Sleep(45 * time.Minute) // the prune at 30 minutes finds "new" fresh
		synctest.Wait()
		if n := rows(t, db); n != 1 {
			t.Errorf("%d keys after 45 minutes, want 1", n)
		}
		time.Sleep(30 * time.Minute) // the prune at 60 minutes, when "new" expires
		synctest.Wait()
		if n := rows(t, db); n != 0 {
			t.Errorf("%d keys after their expiry, want 0", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
