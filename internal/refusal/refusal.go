// Package refusal carries a server's refusal of a request (a rate limit
// spent, load shed) out to the middlewares around the one that refused
// it, so that telemetry counts it by reason.
//
// The refusing middleware answers the request itself, with an error
// that the middlewares around it cannot see. The response writer, though,
// goes down the chain wrapped, not copied: a middleware that counts
// refusals wraps it in a [Recorder], and the refusing middleware
// [Record]s its reason through the writer it was given.
package refusal

import (
	"net/http"

	"github.com/tailorkit/tailor/resilience"
)

// Recorder is a response writer that takes the reason its request was
// refused.
type Recorder interface {
	RecordRefusal(r resilience.Rejection)
}

// Record gives r to the first [Recorder] among w and the writers it wraps
// (through their Unwrap method, as [http.ResponseController] finds them).
func Record(w http.ResponseWriter, r resilience.Rejection) {
	for w != nil {
		if rec, ok := w.(Recorder); ok {
			rec.RecordRefusal(r)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
