package observability

import (
	"math/bits"
	"sync"
	"time"
)

// EndpointWindow is the span [Telemetry.Endpoints] and [Telemetry.Calls]
// report on: the last minute, kept in one-second buckets.
const EndpointWindow = 60 * time.Second

const (
	windowBuckets = int64(EndpointWindow / time.Second)
	// latencyBins hold latencies on a log scale, four bins per doubling
	// from 1 µs (so a quantile is within 25% of the truth) up to 2^30 µs,
	// about 18 minutes; longer ones land in the last bin.
	latencyBins = 120
)

// outcome is how a request or a call ended, as its window counts it.
type outcome uint8

const (
	outcomeOK       outcome = iota
	outcomeFailed           // the server's or the callee's fault
	outcomeRejected         // refused by a resilience mechanism, never sent: not timed
)

// windows keeps one window per key: a route, a callee. The zero value is
// empty; it is safe for concurrent use.
type windows[K comparable] struct {
	m cache[K, *window]
}

// get returns k's window, made the first time.
func (ws *windows[K]) get(k K) *window {
	if w, ok := ws.m.lookup(k); ok {
		return w
	}
	return ws.m.keep(k, new(window))
}

// record counts one request or call of k that ended at end, after d.
func (ws *windows[K]) record(k K, end time.Time, d time.Duration, o outcome) {
	ws.get(k).record(end.Unix(), d, o)
}

// each calls f with the tally of every window that counted something in
// the window ending at now.
func (ws *windows[K]) each(now time.Time, f func(K, *tally)) {
	m := ws.m.m.Load()
	if m == nil {
		return
	}
	for k, w := range *m {
		if t := w.sum(now.Unix()); t.requests > 0 {
			f(k, &t)
		}
	}
}

// window is the last minute of one key, one bucket per second, reused
// round robin. A record costs one uncontended lock and three increments.
type window struct {
	mu      sync.Mutex
	buckets [windowBuckets]bucket
}

type bucket struct {
	sec                        int64 // the Unix second it counts
	requests, errors, rejected uint32
	bins                       [latencyBins]uint32
}

func (w *window) record(sec int64, d time.Duration, o outcome) {
	i := latencyBin(d)
	w.mu.Lock()
	b := &w.buckets[sec%windowBuckets]
	if b.sec != sec {
		*b = bucket{sec: sec}
	}
	b.requests++
	switch o {
	case outcomeFailed:
		b.errors++
		b.bins[i]++
	case outcomeRejected:
		b.rejected++
	default:
		b.bins[i]++
	}
	w.mu.Unlock()
}

// tally is what a window counted: every request, the failed and the
// rejected ones among them, and the latencies of those not rejected.
type tally struct {
	requests, errors, rejected int
	bins                       [latencyBins]int
}

// sum adds up the buckets of the window that ends with second now.
func (w *window) sum(now int64) tally {
	var t tally
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.buckets {
		b := &w.buckets[k]
		if b.sec <= now-windowBuckets || b.sec > now || b.requests == 0 {
			continue
		}
		t.requests += int(b.requests)
		t.errors += int(b.errors)
		t.rejected += int(b.rejected)
		for i, n := range b.bins {
			t.bins[i] += int(n)
		}
	}
	return t
}

// quantile returns the latency below which a share q of the timed
// requests fall; 0 without any.
func (t *tally) quantile(q float64) time.Duration {
	n := t.requests - t.rejected
	if n <= 0 {
		return 0
	}
	rank := max(int(q*float64(n)+0.5), 1)
	seen := 0
	for i, c := range t.bins {
		seen += c
		if seen >= rank {
			return binMiddle(i)
		}
	}
	return binMiddle(latencyBins - 1)
}

// latencyBin returns the bin of d: bins 0 to 3 hold 0, 1, 2 and 3 µs;
// above, each doubling is split in four.
func latencyBin(d time.Duration) int {
	v := uint64(max(d, 0) / time.Microsecond)
	if v < 4 {
		return int(v)
	}
	e := bits.Len64(v) - 1 // 2^e <= v < 2^(e+1), e >= 2
	i := (e-1)*4 + int(v>>(e-2)) - 4
	return min(i, latencyBins-1)
}

// binMiddle returns the middle of bin i's range.
func binMiddle(i int) time.Duration {
	if i < 4 {
		return time.Duration(i) * time.Microsecond
	}
	e, m := i/4+1, uint64(i%4+4)
	lo, hi := m<<(e-2), (m+1)<<(e-2)
	return time.Duration((lo+hi)/2) * time.Microsecond
}
