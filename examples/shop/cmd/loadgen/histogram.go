package main

import (
	"math"
	"math/bits"
	"time"
)

// subBits is the number of bits of a value a Histogram keeps below its
// highest one: 128 buckets per power of two, so a quantile is within 1%
// of the recorded value.
const subBits = 7

// subBuckets is the number of buckets per power of two.
const subBuckets = 1 << subBits

// Histogram counts durations in buckets whose width grows with the value,
// in the manner of an HDR histogram: a quantile it reports is at most 1%
// above the true one, whatever the range, in a fixed 64 KiB. The zero
// value is an empty histogram ready to use. It is not safe for concurrent
// use.
type Histogram struct {
	counts [64 * subBuckets]int64
	n      int64
	max    time.Duration
}

// bucket is the index of the bucket that counts v, 0 or more.
func bucket(v time.Duration) int {
	u := uint64(max(v, 0))
	if u < subBuckets {
		return int(u)
	}
	shift := bits.Len64(u) - subBits - 1
	return (shift+1)*subBuckets + int(u>>shift) - subBuckets
}

// upper is the largest value bucket i counts.
func upper(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	shift := i/subBuckets - 1
	top := uint64(i%subBuckets + subBuckets)
	return time.Duration((top+1)<<shift - 1)
}

// Record counts one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of durations recorded.
func (h *Histogram) Count() int64 { return h.n }

// Max is the longest duration recorded, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile is the duration that a fraction q (0 to 1) of the recorded
// ones do not exceed, to within 1% above, and never more than Max; 0 when
// the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
