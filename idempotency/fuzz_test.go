package idempotency_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/sqlite"
)

// FuzzHandler sends any key and body twice: whatever they are, the
// answer is the handler's, a replay of it, or a 4xx problem, never a
// server error, and a stored answer is replayed whole.
func FuzzHandler(f *testing.F) {
	db, err := sqlite.Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if err := idempotency.Migrate(context.Background(), db); err != nil {
		f.Fatal(err)
	}
	store, err := idempotency.New(db, idempotency.Required(), idempotency.WithMaxBodyBytes(256))
	if err != nil {
		f.Fatal(err)
	}
	h := store.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	f.Add("k", []byte("body"))
	f.Add(`"k"`, []byte("other body"))
	f.Add("", []byte(nil))
	f.Add(`"\"`, []byte("x"))
	f.Add("ключ", []byte(strings.Repeat("x", 300)))
	f.Fuzz(func(t *testing.T, key string, body []byte) {
		send := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(string(body)))
			req.Pattern = "POST /v1/orders"
			req.Header[idempotency.Header] = []string{key}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		first, second := send(), send()
		for _, w := range []*httptest.ResponseRecorder{first, second} {
			if w.Code >= 500 {
				t.Fatalf("key %q: status %d, body %s", key, w.Code, w.Body)
			}
		}
		if first.Code == http.StatusOK && first.Header().Get(idempotency.ReplayedHeader) == "" {
			if second.Code != http.StatusOK || second.Body.String() != string(body) || second.Header().Get(idempotency.ReplayedHeader) != "true" {
				t.Fatalf("key %q: second answer %d %q replayed %q, want the first replayed", key, second.Code, second.Body, second.Header().Get(idempotency.ReplayedHeader))
			}
		}
		if first.Code != http.StatusOK && first.Code != second.Code {
			t.Fatalf("key %q: refused with %d, then answered %d", key, first.Code, second.Code)
		}
	})
}
