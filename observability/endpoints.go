package observability

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"
	"time"
)

// EndpointWindow is the span [Telemetry.Endpoints] reports on: the last
// minute, kept in one-second buckets.
const EndpointWindow = 60 * time.Second

const (
	windowBuckets = int64(EndpointWindow / time.Second)
	// latencyBins hold latencies on a log scale, four bins per doubling
	// from 1 µs (so a quantile is within 25% of the truth) up to 2^30 µs,
	// about 18 minutes; longer ones land in the last bin.
	latencyBins = 120
)

// EndpointStats is what one server route served over the last
// [EndpointWindow].
type EndpointStats struct {
	Method string // the HTTP method, or "_OTHER"
	Route  string // the route template: "/v1/orders/{id}"
	// Requests counts the requests answered; Errors those answered with a
	// 5xx status (a 4xx is the client's and not counted).
	Requests, Errors int
	// P50 and P99 are the median and 99th percentile latencies, each
	// within 25%; 0 without requests.
	P50, P99 time.Duration
}

// Rate returns the requests per second over the window.
func (s EndpointStats) Rate() float64 { return float64(s.Requests) / EndpointWindow.Seconds() }

// ErrorRatio returns the share of requests that failed, from 0 to 1; 0
// without requests.
func (s EndpointStats) ErrorRatio() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// endpointStats keeps one window per method and route.
type endpointStats struct {
	routes cache[[2]string, *routeWindow]
}

func (e *endpointStats) record(method, route string, end time.Time, d time.Duration, failed bool) {
	k := [2]string{method, route}
	w, ok := e.routes.lookup(k)
	if !ok {
		w = e.routes.keep(k, new(routeWindow))
	}
	w.record(end.Unix(), d, failed)
}

// routeWindow is the last minute of one route, one bucket per second,
// reused round robin. A request costs one uncontended lock and three
// increments.
type routeWindow struct {
	mu      sync.Mutex
	buckets [windowBuckets]bucket
}

type bucket struct {
	sec              int64 // the Unix second it counts
	requests, errors uint32
	bins             [latencyBins]uint32
}

func (w *routeWindow) record(sec int64, d time.Duration, failed bool) {
	i := latencyBin(d)
	w.mu.Lock()
	b := &w.buckets[sec%windowBuckets]
	if b.sec != sec {
		*b = bucket{sec: sec}
	}
	b.requests++
	if failed {
		b.errors++
	}
	b.bins[i]++
	w.mu.Unlock()
}

// sum adds up the buckets of the window that ends with second now.
func (w *routeWindow) sum(now int64) (requests, errors int, bins [latencyBins]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.buckets {
		b := &w.buckets[k]
		if b.sec <= now-windowBuckets || b.sec > now || b.requests == 0 {
			continue
		}
		requests += int(b.requests)
		errors += int(b.errors)
		for i, n := range b.bins {
			bins[i] += int(n)
		}
	}
	return requests, errors, bins
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

// quantile returns the latency below which a share q of the n requests
// counted in bins fall.
func quantile(bins *[latencyBins]int, n int, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := max(int(q*float64(n)+0.5), 1)
	seen := 0
	for i, c := range bins {
		seen += c
		if seen >= rank {
			return binMiddle(i)
		}
	}
	return binMiddle(latencyBins - 1)
}

// Endpoints returns what each server route served in the [EndpointWindow]
// that ends at now (pass time.Now()), by route and method: the routes
// that served a request in the window, or none unless the Telemetry was
// made with [Config.EndpointStats].
func (in *Telemetry) Endpoints(now time.Time) []EndpointStats {
	if in.endpoints == nil {
		return nil
	}
	var out []EndpointStats
	if m := in.endpoints.routes.m.Load(); m != nil {
		for k, w := range *m {
			requests, errors, bins := w.sum(now.Unix())
			if requests == 0 {
				continue
			}
			out = append(out, EndpointStats{
				Method: k[0], Route: k[1], Requests: requests, Errors: errors,
				P50: quantile(&bins, requests, 0.50), P99: quantile(&bins, requests, 0.99),
			})
		}
	}
	slices.SortFunc(out, func(a, b EndpointStats) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method))
	})
	return out
}
