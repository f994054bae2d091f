package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Version is the version of the JSON shapes, in every answer's "version".
const Version = 1

// DefaultInterval is how often the stream sends a snapshot by default.
const DefaultInterval = time.Second

// Option configures [Mount].
type Option func(*dashboard)

// WithInterval sets how often GET /dash/api/stream sends a snapshot.
// Default [DefaultInterval]; d <= 0 keeps it.
func WithInterval(d time.Duration) Option {
	return func(db *dashboard) {
		if d > 0 {
			db.interval = d
		}
	}
}

type dashboard struct {
	tel      *observability.Telemetry
	interval time.Duration
	spans    *spanbuffer.Buffer // nil: no traces
	api      http.Handler       // nil: no explorer
	service  string
}

// Mount registers the page and the API of the package doc on r, reading
// tel. Mount it only on a router that is not public: an admin listener
// behind a token; the page's own files hold no data. Like
// [thttp.Router.Handle], it panics when r already has one of its routes.
func Mount(r *thttp.Router, tel *observability.Telemetry, opts ...Option) {
	db := &dashboard{tel: tel, interval: DefaultInterval}
	for _, o := range opts {
		o(db)
	}
	r.HandleFunc("GET /dash/api/breakers", db.serveBreakers)
	decodeOverride := thttp.DecodeJSON[overrideRequest]()
	r.Handle("PUT /dash/api/breakers/{name}/override", thttp.NewServer(db.setOverride,
		func(ctx context.Context, r *http.Request) (any, error) {
			req, err := decodeOverride(ctx, r)
			if err != nil {
				return nil, err
			}
			return overrideCall{req.(*overrideRequest), r}, nil
		}, encodeJSON))
	r.HandleFunc("GET /dash/api/instances", db.serveInstances)
	r.HandleFunc("GET /dash/api/endpoints", db.serveEndpoints)
	r.HandleFunc("GET /dash/api/messaging", db.serveMessaging)
	r.HandleFunc("GET /dash/api/topology", db.serveTopology)
	r.HandleFunc("GET /dash/api/protection", db.serveProtection)
	r.HandleFunc("GET /dash/api/stream", db.serveStream)
	r.HandleFunc("GET /dash/api/traces", db.serveTraces)
	r.HandleFunc("GET /dash/api/traces/{trace_id}", db.serveTrace)
	r.HandleFunc("GET /dash/api/openapi", db.serveOpenAPI)
	r.Handle("POST /dash/api/try", db.tryHandler())
	newPage().mount(r)
	r.HandleFunc("GET /dash/api/targets", db.serveTargets)
}

type breaker struct {
	Name                string  `json:"name"`
	State               string  `json:"state"`
	Override            string  `json:"override"`
	Requests            int     `json:"requests"`
	Failures            int     `json:"failures"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
	ProbeInMS           float64 `json:"probe_in_ms"`
}

type instance struct {
	ID        string  `json:"id"`
	Addr      string  `json:"addr"`
	Version   string  `json:"version"`
	Ejected   bool    `json:"ejected"`
	InFlight  int     `json:"in_flight"`
	LatencyMS float64 `json:"latency_ms"`
}

type service struct {
	Service   string     `json:"service"`
	Instances []instance `json:"instances"`
}

type endpointStats struct {
	Method     string  `json:"method"`
	Route      string  `json:"route"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Rate       float64 `json:"rate"`
	ErrorRatio float64 `json:"error_ratio"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
}

type breakersAnswer struct {
	Version  int       `json:"version"`
	Breakers []breaker `json:"breakers"`
}

type instancesAnswer struct {
	Version  int       `json:"version"`
	Services []service `json:"services"`
}

type endpointsAnswer struct {
	Version       int             `json:"version"`
	WindowSeconds int             `json:"window_seconds"`
	Endpoints     []endpointStats `json:"endpoints"`
}

type snapshot struct {
	Version       int             `json:"version"`
	At            time.Time       `json:"at"`
	Service       string          `json:"service"`
	Target        string          `json:"target,omitempty"`
	Breakers      []breaker       `json:"breakers"`
	Services      []service       `json:"services"`
	Endpoints     []endpointStats `json:"endpoints"`
	WindowSeconds int             `json:"window_seconds"`
	Messaging     messagingPanel  `json:"messaging"`
	Edges         []edge          `json:"edges"`
	Protection    protection      `json:"protection"`
}

type breakerChange struct {
	Version int       `json:"version"`
	Service string    `json:"service"`
	Target  string    `json:"target,omitempty"`
	Breaker string    `json:"breaker"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func describe(b *resilience.Breaker) breaker {
	st := b.Status()
	return breaker{
		Name: b.Name(), State: st.State.String(), Override: st.Override.String(),
		Requests: st.Requests, Failures: st.Failures, ConsecutiveFailures: st.ConsecutiveFailures,
		ProbeInMS: ms(st.ProbeIn),
	}
}

func (db *dashboard) breakers() []breaker {
	out := []breaker{}
	for _, b := range db.tel.Breakers() {
		out = append(out, describe(b))
	}
	return out
}

func (db *dashboard) services() []service {
	out := []service{}
	for _, s := range db.tel.Instances() {
		svc := service{Service: s.Service, Instances: []instance{}}
		for _, i := range s.Instances {
			svc.Instances = append(svc.Instances, instance{
				ID: i.ID, Addr: i.Addr, Version: i.Version, Ejected: i.Ejected,
				InFlight: i.InFlight, LatencyMS: ms(i.Latency),
			})
		}
		out = append(out, svc)
	}
	return out
}

func (db *dashboard) endpoints(now time.Time) []endpointStats {
	out := []endpointStats{}
	for _, e := range db.tel.Endpoints(now) {
		out = append(out, endpointStats{
			Method: e.Method, Route: e.Route, Requests: e.Requests, Errors: e.Errors,
			Rate: e.Rate(), ErrorRatio: e.ErrorRatio(), P50MS: ms(e.P50), P99MS: ms(e.P99),
		})
	}
	return out
}

func (db *dashboard) snapshot(now time.Time) snapshot {
	return snapshot{
		Version: Version, At: now.UTC(), Service: db.service, Target: db.service,
		Breakers: db.breakers(), Services: db.services(),
		Endpoints: db.endpoints(now), WindowSeconds: int(observability.EndpointWindow / time.Second),
		Edges: db.edges(now), Protection: db.protection(), Messaging: db.messaging(),
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left
}

func encodeJSON(_ context.Context, w http.ResponseWriter, v any) error {
	writeJSON(w, v)
	return nil
}

func (db *dashboard) serveBreakers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, breakersAnswer{Version: Version, Breakers: db.breakers()})
}

func (db *dashboard) serveInstances(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, instancesAnswer{Version: Version, Services: db.services()})
}

func (db *dashboard) serveEndpoints(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, endpointsAnswer{Version: Version, WindowSeconds: int(observability.EndpointWindow / time.Second), Endpoints: db.endpoints(time.Now())})
}

// overrideRequest is the body of PUT /dash/api/breakers/{name}/override.
type overrideRequest struct {
	Override string `json:"override"`
}

// parseOverride returns the override named s.
func parseOverride(s string) (resilience.Override, bool) {
	for _, o := range []resilience.Override{resilience.OverrideAuto, resilience.OverrideForceOpen, resilience.OverrideForceClosed} {
		if o.String() == s {
			return o, true
		}
	}
	return 0, false
}

// Validate refuses an override that is not one of the three.
func (o *overrideRequest) Validate() error {
	if _, ok := parseOverride(o.Override); !ok {
		return fault.Invalid(fault.Violation{Field: "override",
			Description: fmt.Sprintf("%q is not an override; use auto, force-open or force-closed", o.Override)})
	}
	return nil
}

type overrideCall struct {
	req *overrideRequest
	r   *http.Request
}

func (db *dashboard) setOverride(ctx context.Context, request any) (any, error) {
	call := request.(overrideCall)
	name := call.r.PathValue("name")
	o, _ := parseOverride(call.req.Override) // validated
	var found []*resilience.Breaker
	for _, b := range db.tel.Breakers() {
		if b.Name() == name {
			found = append(found, b)
		}
	}
	if len(found) == 0 {
		return nil, fault.New(fault.NotFound, fmt.Sprintf("no breaker is named %q; GET /dash/api/breakers lists them", name))
	}
	out := breakersAnswer{Version: Version, Breakers: []breaker{}}
	for _, b := range found {
		before := b.Status().Override
		b.SetOverride(o)
		db.tel.Logger().LogAttrs(ctx, slog.LevelWarn, "dashboard: breaker override set",
			slog.String("breaker", name), slog.String("from", before.String()), slog.String("to", o.String()),
			slog.String("remote", call.r.RemoteAddr), slog.String("user_agent", call.r.UserAgent()))
		out.Breakers = append(out.Breakers, describe(b))
	}
	return out, nil
}

// serveStream sends snapshots and breaker changes as server-sent events
// until the client leaves or the request's context ends.
func (db *dashboard) serveStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	changes := make(chan resilience.StateChange, 16)
	missed := make(chan struct{}, 1)
	stop := db.tel.WatchBreakers(func(e resilience.StateChange) {
		select {
		case changes <- e:
		default: // the stream is behind: the next snapshot tells the state
			select {
			case missed <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	t := time.NewTicker(db.interval)
	defer t.Stop()
	if !send("snapshot", db.snapshot(time.Now())) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-changes:
			if !send("breaker", breakerChange{Version: Version, Service: db.service, Target: db.service, Breaker: e.Breaker, From: e.From.String(), To: e.To.String(), Reason: e.Reason, At: e.At.UTC()}) {
				return
			}
		case <-missed:
		case <-t.C:
		}
		if !send("snapshot", db.snapshot(time.Now())) {
			return
		}
	}
}
