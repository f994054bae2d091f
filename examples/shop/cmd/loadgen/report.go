package main

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Outcomes of an order other than an HTTP status.
const (
	outcomeConfirmed = "confirmed"
	outcomePending   = "pending (202)"
	outcomeTransport = "transport error"
	outcomeDropped   = "not sent (in-flight cap)"
)

// cancelled is the outcome of an order cancelled for reason.
func cancelled(reason string) string { return "cancelled: " + reason }

// httpStatus is the outcome of an order answered with an error status.
func httpStatus(code int) string { return fmt.Sprintf("HTTP %d", code) }

// tally counts the orders' outcomes and the latencies of the placed ones
// (answered 201 or 202). It is safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	all      Histogram // every placed order's latency
	second   Histogram // since the last progress line
	outcomes map[string]int64
	ids      []string // a uniform sample of the placed orders, up to cap(ids)
	rand     *rand.Rand
}

// newTally keeps up to keep placed orders' ids, chosen at random.
func newTally(keep int) *tally {
	return &tally{outcomes: map[string]int64{}, ids: make([]string, 0, keep), rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// add counts one order's outcome; latency and id count only when placed.
func (t *tally) add(outcome string, latency time.Duration, placed bool, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outcomes[outcome]++
	if !placed {
		return
	}
	t.all.Record(latency)
	t.second.Record(latency)
	// Reservoir sampling: each placed order is kept with the same
	// chance, so the sample spans the whole run.
	switch n := t.all.Count(); {
	case id == "" || cap(t.ids) == 0:
	case len(t.ids) < cap(t.ids):
		t.ids = append(t.ids, id)
	default:
		if j := t.rand.Int64N(n); j < int64(cap(t.ids)) {
			t.ids[j] = id
		}
	}
}

// progress writes one line: the rate and latencies of the last interval
// and of the whole run, and the counts of the outcomes; it starts the
// next interval.
func (t *tally) progress(w io.Writer, elapsed, interval time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	last := float64(t.second.Count()) / interval.Seconds()
	overall := float64(t.all.Count()) / elapsed.Seconds()
	fmt.Fprintf(w, "%6s  orders/s %7.1f last, %7.1f overall  p50/p99 %s/%s last, %s/%s overall  %s\n",
		elapsed.Round(time.Second), last, overall,
		ms(t.second.Quantile(0.5)), ms(t.second.Quantile(0.99)),
		ms(t.all.Quantile(0.5)), ms(t.all.Quantile(0.99)), countsLine(t.outcomes))
	t.second = Histogram{}
}

// countsLine lists the outcomes by name.
func countsLine(outcomes map[string]int64) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(outcomes)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, outcomes[k])
	}
	return b.String()
}

// ms shows d in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// summary is what a run measured.
type summary struct {
	Elapsed  time.Duration
	Latency  *Histogram       // of the placed orders
	Outcomes map[string]int64 // every order sent or dropped, by outcome
	Steps    map[string]*Histogram
	Sampled  int // orders whose history Steps come from
}

// stepOrder lists the saga's steps first, in the order they run, then
// the whole saga.
var stepOrder = []string{"reserve", "charge", "confirm", sagaWhole}

// sagaWhole names the span from a saga's start to its last event.
const sagaWhole = "saga (start to last event)"

// write prints s for a reader: totals, rate, latency quantiles, outcomes
// and the saga's steps.
func (s summary) write(w io.Writer) {
	var sent int64
	for _, n := range s.Outcomes {
		sent += n
	}
	placed := s.Latency.Count()
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(placed) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "orders: %d attempted, %d placed (201 or 202) in %s: %.1f orders/s\n", sent, placed, s.Elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "latency of placed orders: p50 %s  p90 %s  p99 %s  max %s\n",
		ms(s.Latency.Quantile(0.5)), ms(s.Latency.Quantile(0.9)), ms(s.Latency.Quantile(0.99)), ms(s.Latency.Max()))
	fmt.Fprintln(w, "outcomes:")
	for _, k := range slices.Sorted(maps.Keys(s.Outcomes)) {
		fmt.Fprintf(w, "  %-40s %8d  %5.1f%%\n", k, s.Outcomes[k], 100*float64(s.Outcomes[k])/float64(sent))
	}
	if s.Sampled == 0 {
		return
	}
	fmt.Fprintf(w, "saga steps (from the history of %d placed orders; a step's time is from its start to its end, retries included):\n", s.Sampled)
	fmt.Fprintf(w, "  %-28s %6s %9s %9s %9s\n", "step", "n", "p50", "p99", "max")
	for _, name := range stepOrder {
		h := s.Steps[name]
		if h == nil {
			continue
		}
		fmt.Fprintf(w, "  %-28s %6d %9s %9s %9s\n", name, h.Count(), ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Max()))
	}
}

// historyEvent is one entry of an order's saga history, as
// GET /v1/orders/{id} shows it.
type historyEvent struct {
	Step  string    `json:"step"`
	Kind  string    `json:"kind"`
	Began time.Time `json:"began"`
	At    time.Time `json:"at"`
}

// addHistory records the time of each step the history shows done or
// failed, and of the whole saga, in steps.
func addHistory(steps map[string]*Histogram, history []historyEvent) {
	if len(history) == 0 {
		return
	}
	record := func(name string, d time.Duration) {
		if steps[name] == nil {
			steps[name] = &Histogram{}
		}
		steps[name].Record(d)
	}
	first, last := history[0].At, history[0].At
	for _, e := range history {
		if !e.Began.IsZero() && e.Began.Before(first) {
			first = e.Began
		}
		if e.At.After(last) {
			last = e.At
		}
		if e.Step != "" && (e.Kind == "step_done" || e.Kind == "step_failed") {
			record(e.Step, e.At.Sub(e.Began))
		}
	}
	record(sagaWhole, last.Sub(first))
}
