// Package pattern carries the route pattern a request matched back out to
// the middlewares around the router.
//
// http.ServeMux records the pattern it matched in the Pattern field of the
// request it was given. A middleware that passes on a copy of the request
// (r.WithContext, as token verification does) keeps the middlewares
// outside it from seeing that field. The response writer, though, goes
// down the chain wrapped, not copied: a middleware that needs the pattern
// (telemetry) wraps it in a [Recorder], and the router, innermost,
// [Record]s the pattern through the writer it was given.
package pattern

import "net/http"

// Recorder is a response writer that takes the pattern its request
// matched.
type Recorder interface {
	RecordPattern(p string)
}

// Record gives p to the first [Recorder] among w and the writers it wraps
// (through their Unwrap method, as [http.ResponseController] finds them).
func Record(w http.ResponseWriter, p string) {
	for w != nil {
		if r, ok := w.(Recorder); ok {
			r.RecordPattern(p)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
