package dashboard

import "net/http"

// WithService names the service whose dashboard [Mount] serves: the
// snapshot's "service", every topology edge's "from", the one target of
// GET /dash/api/targets, and the "target" and "service" of every event
// of its stream. The service package passes its Config.Name. Default "".
func WithService(name string) Option {
	return func(db *dashboard) { db.service = name }
}

// serveTargets answers the one target a single service is: itself, under
// the base "api".
func (db *dashboard) serveTargets(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, targetsAnswer{Version: Version, Targets: []hubTarget{{ID: db.service, Service: db.service, Base: "api", Up: true}}})
}
