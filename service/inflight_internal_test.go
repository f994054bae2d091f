package service

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestTrackAllocatesOnce pins that tracking a request with a body costs
// one allocation: the entry, with its watched body inside it.
func TestTrackAllocatesOnce(t *testing.T) {
	body := []byte(`{"sku":"mug-blue"}`)
	rd := readCloser{bytes.NewReader(body)}
	var f inflight
	h := f.track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // the map's first entry
	got := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		r.Body = rd
		h.ServeHTTP(w, r)
	})
	if got > 1 {
		t.Errorf("tracking a request makes %v allocations, want 1", got)
	}
	if n := len(f.list()); n != 0 {
		t.Errorf("%d requests still listed after they were served, want 0", n)
	}
}

// readCloser is a body the test resets between requests; a one-pointer
// struct, so setting it as a request's body allocates nothing.
type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
