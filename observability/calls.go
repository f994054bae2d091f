package observability

import (
	"cmp"
	"slices"
	"time"
)

// CallStats is what the calls to one callee, made through
// [Telemetry.CallMiddleware], did over the last [EndpointWindow]: one
// edge of the service's topology, seen from the caller.
type CallStats struct {
	Callee string // the name given to CallMiddleware: the service called
	// Requests counts the calls made, retries and all counting as one;
	// Errors those that failed for the callee's reason (unavailable,
	// deadline exceeded, internal: see resilience.Classify); Rejected
	// those a resilience mechanism refused without sending them.
	Requests, Errors, Rejected int
	// P50 and P99 are the median and 99th percentile latencies of the
	// calls not rejected, retries included, each within 25%; 0 without
	// such calls.
	P50, P99 time.Duration
}

// Rate returns the calls per second over the window.
func (s CallStats) Rate() float64 { return float64(s.Requests) / EndpointWindow.Seconds() }

// ErrorRatio returns the share of calls that failed, from 0 to 1; 0
// without calls.
func (s CallStats) ErrorRatio() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// Calls returns, by callee, what the calls made through
// [Telemetry.CallMiddleware] did in the [EndpointWindow] that ends at now
// (pass time.Now()): the callees called in the window, or none unless the
// Telemetry was made with [Config.EndpointStats]. A discovery client made
// with WithTelemetry makes its calls through CallMiddleware.
func (in *Telemetry) Calls(now time.Time) []CallStats {
	if in.calls == nil {
		return nil
	}
	var out []CallStats
	in.calls.each(now, func(callee string, t *tally) {
		out = append(out, CallStats{
			Callee: callee, Requests: t.requests, Errors: t.errors, Rejected: t.rejected,
			P50: t.quantile(0.50), P99: t.quantile(0.99),
		})
	})
	slices.SortFunc(out, func(a, b CallStats) int { return cmp.Compare(a.Callee, b.Callee) })
	return out
}
