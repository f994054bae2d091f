package resilience

import "time"

// window counts two quantities (a and b) over a rolling span of time, in
// buckets, for a [Throttle]. Times are offsets from an epoch of its owner's.
// It is not safe for concurrent use; its owner locks it.
type window struct {
	bucket  time.Duration
	buckets []pair
	head    int           // index of the current bucket
	headAt  time.Duration // start of the current bucket
	sum     pair
}

type pair struct{ a, b int64 }

func newWindow(span time.Duration, n int, now time.Duration) *window {
	b := max(span/time.Duration(n), 1)
	return &window{bucket: b, buckets: make([]pair, n), headAt: now}
}

// advance drops the buckets that are older than the span at now.
func (w *window) advance(now time.Duration) {
	steps := int((now - w.headAt) / w.bucket)
	if steps <= 0 {
		return
	}
	if steps >= len(w.buckets) {
		clear(w.buckets)
		w.sum, w.head, w.headAt = pair{}, 0, now
		return
	}
	for range steps {
		w.head = (w.head + 1) % len(w.buckets)
		w.sum.a -= w.buckets[w.head].a
		w.sum.b -= w.buckets[w.head].b
		w.buckets[w.head] = pair{}
	}
	w.headAt += time.Duration(steps) * w.bucket
}

func (w *window) add(now time.Duration, a, b int64) {
	w.advance(now)
	w.buckets[w.head].a += a
	w.buckets[w.head].b += b
	w.sum.a += a
	w.sum.b += b
}

func (w *window) totals(now time.Duration) pair {
	w.advance(now)
	return w.sum
}
