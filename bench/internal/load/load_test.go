package load

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"p50 of 100", sorted, 0.50, 50 * time.Millisecond},
		{"p99 of 100", sorted, 0.99, 99 * time.Millisecond},
		{"p99 of 1", sorted[:1], 0.99, time.Millisecond},
		{"p0 is the least", sorted, 0, time.Millisecond},
		{"empty", nil, 0.5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.in, c.q); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
