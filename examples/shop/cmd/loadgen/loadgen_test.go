package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	// 1 ms to 1000 ms, one of each: the q-quantile is q seconds.
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Millisecond},
		{0.5, 500 * time.Millisecond},
		{0.9, 900 * time.Millisecond},
		{0.99, 990 * time.Millisecond},
		{1, time.Second},
	} {
		t.Run(fmt.Sprint(tc.q), func(t *testing.T) {
			got := h.Quantile(tc.q)
			if got < tc.want || float64(got) > 1.01*float64(tc.want) {
				t.Errorf("Quantile(%v) = %s, want %s to 1%% above", tc.q, got, tc.want)
			}
		})
	}
	if got := h.Count(); got != 1000 {
		t.Errorf("Count() = %d, want 1000", got)
	}
	if got := h.Max(); got != time.Second {
		t.Errorf("Max() = %s, want 1s", got)
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	// Each value falls in a bucket whose upper bound is at or above it
	// and within 1%, and buckets grow with the value.
	prev := -1
	for _, v := range []time.Duration{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, time.Hour, 1<<63 - 1} {
		i := bucket(v)
		if i < prev {
			t.Errorf("bucket(%d) = %d, below the bucket of a smaller value, %d", v, i, prev)
		}
		prev = i
		up := upper(i)
		if up < v || float64(up-v) > 0.01*float64(v)+1 {
			t.Errorf("upper(bucket(%d)) = %d, want %d to 1%% above", v, up, v)
		}
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	var h Histogram
	if got := h.Quantile(0.99); got != 0 {
		t.Errorf("empty Quantile(0.99) = %s, want 0", got)
	}
	h.Record(-time.Second)
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("after a negative duration, Quantile(0.5) = %s, want 0", got)
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(5 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 5*time.Millisecond {
		t.Fatalf("after Merge: Count %d, Max %s; want 3, 5ms", a.Count(), a.Max())
	}
	if got := a.Quantile(0.5); got < 3*time.Millisecond || got > 3030*time.Microsecond {
		t.Errorf("after Merge: Quantile(0.5) = %s, want 3ms", got)
	}
}

func TestTallyKeepsASampleOfThePlacedOrders(t *testing.T) {
	tl := newTally(10)
	for i := range 1000 {
		tl.add(outcomeConfirmed, time.Millisecond, true, fmt.Sprint(i))
	}
	tl.add(httpStatus(429), 0, false, "")
	if len(tl.ids) != 10 {
		t.Fatalf("kept %d ids, want 10", len(tl.ids))
	}
	late := 0
	for _, id := range tl.ids {
		var n int
		fmt.Sscan(id, &n)
		if n >= 100 {
			late++
		}
	}
	if late == 0 {
		t.Errorf("kept only the first orders %v, want a sample of the whole run", tl.ids)
	}
	if tl.all.Count() != 1000 || tl.outcomes["HTTP 429"] != 1 || tl.outcomes[outcomeConfirmed] != 1000 {
		t.Errorf("counted %d placed and %v, want 1000 placed, 1000 confirmed, one 429", tl.all.Count(), tl.outcomes)
	}
}

func TestTallyProgressStartsANewInterval(t *testing.T) {
	tl := newTally(0)
	for range 5 {
		tl.add(outcomeConfirmed, 10*time.Millisecond, true, "x")
	}
	var out bytes.Buffer
	tl.progress(&out, 2*time.Second, time.Second)
	tl.progress(&out, 3*time.Second, time.Second)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"orders/s     5.0 last,     2.5 overall", "orders/s     0.0 last,     1.7 overall"} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "confirmed 5") {
			t.Errorf("line %d = %q, want it to contain %q and \"confirmed 5\"", i, lines[i], want)
		}
	}
}

func TestAddHistoryTimesEachStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	history := []historyEvent{
		{Kind: "started", At: at(0)},
		{Step: "reserve", Kind: "step_done", Began: at(1), At: at(5)},
		{Step: "charge", Kind: "step_failed", Began: at(5), At: at(205)},
		{Step: "reserve", Kind: "step_compensated", Began: at(206), At: at(210)},
	}
	steps := map[string]*Histogram{}
	addHistory(steps, history)
	for name, want := range map[string]time.Duration{"reserve": 4 * time.Millisecond, "charge": 200 * time.Millisecond, sagaWhole: 210 * time.Millisecond} {
		h := steps[name]
		if h == nil || h.Count() != 1 || h.Max() != want {
			t.Errorf("step %q: %v, want one of %s", name, h, want)
		}
	}
	if steps["confirm"] != nil {
		t.Errorf("a step the saga never reached was timed: %v", steps["confirm"])
	}
}

func TestSummaryWrite(t *testing.T) {
	var lat Histogram
	for range 8 {
		lat.Record(10 * time.Millisecond)
	}
	lat.Record(100 * time.Millisecond)
	lat.Record(200 * time.Millisecond)
	steps := map[string]*Histogram{}
	addHistory(steps, []historyEvent{{Step: "charge", Kind: "step_done", Began: time.Unix(0, 0), At: time.Unix(0, 0).Add(3 * time.Millisecond)}})
	var out bytes.Buffer
	summary{
		Elapsed:  2 * time.Second,
		Latency:  &lat,
		Outcomes: map[string]int64{outcomeConfirmed: 9, cancelled("payment declined"): 1, httpStatus(429): 10},
		Steps:    steps,
		Sampled:  1,
	}.write(&out)
	got := out.String()
	for _, want := range []string{
		"20 attempted, 10 placed (201 or 202) in 2s: 5.0 orders/s",
		"p50 10.0ms  p90 100.", // within 1% above
		"p99 200.0ms  max 200.0ms",
		"cancelled: payment declined", "5.0%",
		"HTTP 429", "50.0%",
		"history of 1 placed orders",
		"charge",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "reserve") {
		t.Errorf("summary shows a step with no times:\n%s", got)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	t.Setenv("SHOP_ADMIN_PASSWORD", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no password", []string{"-duration", "1s"}, "SHOP_ADMIN_PASSWORD"},
		{"stock", []string{"-admin-password", "x", "-stock", "2000000"}, "-stock must be from 1 to 1000000"},
		{"rate", []string{"-admin-password", "x", "-rate", "-1"}, "-rate must be 0 or more"},
		{"faults", []string{"-admin-password", "x", "-payments-failure-rate", "1.5"}, "-payments-failure-rate"},
		{"arguments", []string{"extra"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error saying %q", tc.args, err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("run(%q) wrote %q to stdout, want nothing", tc.args, stdout.String())
			}
		})
	}
}

func ExampleHistogram() {
	var h Histogram
	for _, ms := range []int{12, 15, 11, 240, 13} {
		h.Record(time.Duration(ms) * time.Millisecond)
	}
	fmt.Println(h.Count(), h.Quantile(0.5).Round(time.Millisecond), h.Max())
	// Output: 5 13ms 240ms
}

// fakeShop answers the routes loadgen calls as the shop does, and
// remembers what it was asked.
type fakeShop struct {
	mu       sync.Mutex
	faults   []string // bodies of PUT /v1/admin/payments/faults
	stock    map[string]int64
	emails   map[string]bool
	keys     map[string]bool
	orders   int
	reads    int
	tokenBad bool // an order placed with another token than a user's
}

func (f *fakeShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/json")
	switch route := r.Method + " " + r.URL.Path; {
	case route == "POST /v1/sessions":
		fmt.Fprintf(w, `{"token":"token-%s"}`, in["email"])
	case route == "GET /v1/admin/payments/faults":
		fmt.Fprint(w, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`)
	case route == "PUT /v1/admin/payments/faults":
		f.faults = append(f.faults, string(body))
		fmt.Fprint(w, string(body))
	case route == "POST /v1/products":
		id := fmt.Sprintf("p%d", len(f.stock)+1)
		f.stock[id] = int64(in["stock"].(float64))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
	case strings.HasPrefix(route, "GET /v1/products/"):
		fmt.Fprintf(w, `{"stock":{"available":%d}}`, f.stock[r.PathValue("id")])
	case route == "POST /v1/users":
		f.emails[in["email"].(string)] = true
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{}`)
	case route == "POST /v1/orders":
		f.keys[r.Header.Get("Idempotency-Key")] = true
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer token-loadgen-") {
			f.tokenBad = true
		}
		f.orders++
		switch f.orders % 4 {
		case 0:
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"o%d","status":"cancelled","reason":"payment declined"}`, f.orders)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"o%d","status":"confirmed"}`, f.orders)
		}
	case strings.HasPrefix(route, "GET /v1/orders/"):
		f.reads++
		fmt.Fprint(w, `{"history":[{"kind":"started","at":"2026-01-01T00:00:00Z"},
			{"step":"reserve","kind":"step_done","began":"2026-01-01T00:00:00Z","at":"2026-01-01T00:00:00.004Z"}]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestRunPlacesOrdersAndSummarises(t *testing.T) {
	f := &fakeShop{stock: map[string]int64{}, emails: map[string]bool{}, keys: map[string]bool{}}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/products/{id}", f)
	mux.Handle("/", f)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	args := []string{"-addr", srv.URL, "-admin-password", "secret", "-users", "3", "-products", "2", "-stock", "500",
		"-rate", "0", "-concurrency", "2", "-duration", "300ms", "-saga-sample", "5",
		"-payments-failure-rate", "0.2", "-payments-latency", "200ms"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.stock) != 2 || f.stock["p1"] != 500 || len(f.emails) != 3 {
		t.Errorf("created products %v and users %v, want 2 of 500 units and 3 users", f.stock, f.emails)
	}
	wantFaults := []string{`{"failure_rate":0.2,"latency_ms":200,"unavailable_rate":0}`, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`}
	if !slices.Equal(f.faults, wantFaults) {
		t.Errorf("payments faults set to %q, want %q (set, then put back)", f.faults, wantFaults)
	}
	if f.orders < 4 || len(f.keys) != f.orders || f.tokenBad {
		t.Errorf("%d orders with %d Idempotency-Keys (users' tokens only: %v), want at least 4, each with its own key", f.orders, len(f.keys), !f.tokenBad)
	}
	if f.reads != 5 {
		t.Errorf("read the history of %d orders, want 5", f.reads)
	}
	got := stdout.String()
	for _, want := range []string{"HTTP 429", "cancelled: payment declined", "confirmed", "history of 5 placed orders", "reserve"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(stderr.String(), "orders/s") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
}

// FuzzAddHistory feeds GET /v1/orders/{id} answers of any shape to the
// step timing: it never panics, and times each step done or failed once,
// and the whole saga once.
func FuzzAddHistory(f *testing.F) {
	f.Add([]byte(`{"history":[{"kind":"started","at":"2026-01-01T00:00:00Z"},{"step":"charge","kind":"step_done","began":"2026-01-01T00:00:00Z","at":"2026-01-01T00:00:01Z"}]}`))
	f.Add([]byte(`{"history":[{"step":"reserve","kind":"step_failed","began":"2026-01-01T00:00:02Z","at":"2026-01-01T00:00:01Z"}]}`))
	f.Add([]byte(`{"history":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o struct {
			History []historyEvent `json:"history"`
		}
		if json.Unmarshal(data, &o) != nil {
			return
		}
		steps := map[string]*Histogram{}
		addHistory(steps, o.History)
		var timed, want int64
		for _, e := range o.History {
			if e.Step != "" && (e.Kind == "step_done" || e.Kind == "step_failed") {
				want++
			}
		}
		for name, h := range steps {
			if name != sagaWhole {
				timed += h.Count()
			}
		}
		if timed != want {
			t.Errorf("timed %d steps, want %d", timed, want)
		}
		if whole := steps[sagaWhole]; len(o.History) > 0 && (whole == nil || whole.Count() != 1) {
			t.Errorf("the whole saga timed %v, want once", whole)
		}
	})
}
