package resilience

import "time"

// window counts two quantities (a and b) over a rolling span of time, in
// buckets. Times are offsets from an epoch of the owner's (see [stopwatch]).
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
	if n < 1 {
		n = 1
	}
	b := span / time.Duration(n)
	if b <= 0 {
		b = 1
	}
	return &window{bucket: b, buckets: make([]pair, n), headAt: now}
}

// advance drops the buckets that are older than the span at now.
func (w *window) advance(now time.Duration) {
	elapsed := now - w.headAt
	if elapsed < w.bucket {
		return
	}
	steps := int(elapsed / w.bucket)
	if steps >= len(w.buckets) {
		w.reset(now)
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

func (w *window) reset(now time.Duration) {
	clear(w.buckets)
	w.sum = pair{}
	w.head = 0
	w.headAt = now
}
