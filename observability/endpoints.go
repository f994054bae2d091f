package observability

import (
	"cmp"
	"slices"
	"time"
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

// Endpoints returns what each server route served in the [EndpointWindow]
// that ends at now (pass time.Now()), by route and method: the routes
// that served a request in the window, or none unless the Telemetry was
// made with [Config.EndpointStats].
func (in *Telemetry) Endpoints(now time.Time) []EndpointStats {
	if in.endpoints == nil {
		return nil
	}
	var out []EndpointStats
	in.endpoints.each(now, func(k [2]string, t *tally) {
		out = append(out, EndpointStats{
			Method: k[0], Route: k[1], Requests: t.requests, Errors: t.errors,
			P50: t.quantile(0.50), P99: t.quantile(0.99),
		})
	})
	slices.SortFunc(out, func(a, b EndpointStats) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method))
	})
	return out
}
