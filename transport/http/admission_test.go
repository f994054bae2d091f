package http_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// countingBody records whether anything read the request body.
type countingBody struct {
	io.Reader
	read bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.read = true
	return b.Reader.Read(p)
}

func (b *countingBody) Close() error { return nil }

func byClient(r *http.Request) string { return r.Header.Get("X-Client") }

// readBody is a handler that reads the whole body, as a decoder does.
var readBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
})

func TestRateLimitRefusesPerKeyBeforeTheBody(t *testing.T) {
	l := resilience.NewRateLimiter("api", resilience.RateLimitConfig{Rate: 1, Burst: 1})
	h := thttp.RateLimit(l, byClient)(readBody)
	tests := []struct {
		name       string
		client     string
		wantStatus int
	}{
		{"first of a", "a", http.StatusOK},
		{"second of a", "a", http.StatusTooManyRequests},
		{"first of b", "b", http.StatusOK},
		{"second of b", "b", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{Reader: strings.NewReader(`{"sku":"mug"}`)}
			r := httptest.NewRequest(http.MethodPost, "/orders", body)
			r.Header.Set("X-Client", tt.client)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				return
			}
			checkRefusal(t, w)
			if body.read {
				t.Error("got the body read, want the request refused before it")
			}
			if got := w.Body.String(); !strings.Contains(got, `for \"`+tt.client+`\"`) {
				t.Errorf("got body %s, want it to name the key %q", got, tt.client)
			}
		})
	}
}

func TestRateLimitNilKeySharesOneBucket(t *testing.T) {
	l := resilience.NewRateLimiter("api", resilience.RateLimitConfig{Rate: 1, Burst: 2})
	h := thttp.RateLimit(l, nil)(readBody)
	var got []int
	for _, client := range []string{"a", "b", "c"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Client", client)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got = append(got, w.Code)
	}
	if want := "[200 200 429]"; fmt.Sprint(got) != want {
		t.Errorf("got statuses %v, want %s", got, want)
	}
}

func TestShedRefusesBeyondTheLimitBeforeTheBody(t *testing.T) {
	s := resilience.NewShedder("api", resilience.ShedConfig{InitialLimit: 1, MinLimit: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	h := thttp.Shed(s)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	var wg sync.WaitGroup
	wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) })
	<-entered

	body := &countingBody{Reader: strings.NewReader("{}")}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/orders", body))
	close(release)
	wg.Wait()
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got status %d, want 503", w.Code)
	}
	checkRefusal(t, w)
	if body.read {
		t.Error("got the body read, want the request shed before it")
	}
	if got := s.InFlight(); got != 0 {
		t.Errorf("got %d in flight after both requests ended, want 0", got)
	}
}

func checkRefusal(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if got := w.Header().Get("Content-Type"); got != thttp.ProblemContentType {
		t.Errorf("got Content-Type %q, want %q", got, thttp.ProblemContentType)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("got Retry-After %q, want 1", got)
	}
}

// A rate limit per client in front of a server: the second request of a
// client within a second is refused with 429 and told when to come back.
func ExampleRateLimit() {
	limiter := resilience.NewRateLimiter("orders", resilience.RateLimitConfig{Rate: 1, Burst: 1})
	byAPIKey := func(r *http.Request) string { return r.Header.Get("X-Api-Key") }
	h := thttp.RateLimit(limiter, byAPIKey)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "order placed")
	}))

	for range 2 {
		r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader("{}"))
		r.Header.Set("X-Api-Key", "k-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d Retry-After: %q\n", w.Code, w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 Retry-After: ""
	// 429 Retry-After: "1"
}

// Adaptive load shedding in front of a server: requests beyond the
// concurrency limit are refused with 503 before their body is read.
func ExampleShed() {
	shedder := resilience.NewShedder("orders", resilience.ShedConfig{InitialLimit: 4, MinLimit: 4})
	h := thttp.Shed(shedder)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "order placed")
	}))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader("{}")))
	fmt.Println(w.Code, shedder.InFlight())
	// Output:
	// 200 0
}
