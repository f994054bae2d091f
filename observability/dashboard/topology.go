package dashboard

import (
	"net/http"
	"time"

	"github.com/tailorkit/tailor/observability"
)

// edge is one callee's calls: GET /dash/api/topology's "edges".
type edge struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Rejected   int     `json:"rejected"`
	Rate       float64 `json:"rate"`
	ErrorRatio float64 `json:"error_ratio"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
}

type topologyAnswer struct {
	Version       int    `json:"version"`
	WindowSeconds int    `json:"window_seconds"`
	Edges         []edge `json:"edges"`
}

func (db *dashboard) edges(now time.Time) []edge {
	out := []edge{}
	for _, c := range db.tel.Calls(now) {
		out = append(out, edge{
			From: db.service, To: c.Callee, Requests: c.Requests, Errors: c.Errors, Rejected: c.Rejected,
			Rate: c.Rate(), ErrorRatio: c.ErrorRatio(), P50MS: ms(c.P50), P99MS: ms(c.P99),
		})
	}
	return out
}

func (db *dashboard) serveTopology(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, topologyAnswer{Version: Version, WindowSeconds: int(observability.EndpointWindow / time.Second), Edges: db.edges(time.Now())})
}
