package dashboard

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Default values of [HubConfig].
const (
	DefaultHubTimeout   = 5 * time.Second
	DefaultHubReconnect = time.Second
	DefaultHubRefresh   = 2 * time.Second
)

// maxProxiedBody bounds the body of a request the hub passes on to a
// target.
const maxProxiedBody = 1 << 20

// Target is a service's admin listener that a [Hub] shows beside those it
// finds in its registry.
type Target struct {
	// ID names the target in the hub's paths; unique in the hub.
	// Default Addr.
	ID string
	// Service is the service it belongs to. Default ID.
	Service string
	// Addr is the admin listener's host:port. Required.
	Addr string
}

// HubConfig configures a [Hub]. The zero value is a hub with no target.
type HubConfig struct {
	// Resolver is the registry the services are found in; nil finds none,
	// leaving Targets.
	Resolver discovery.Resolver
	// Services are the names of the services to show, each watched in
	// Resolver: every instance is a target.
	Services []string
	// Targets are admin listeners to show besides, such as a gateway's,
	// which is not registered.
	Targets []Target
	// Token is the admin token: the hub sends it to every target
	// (Authorization: Bearer), and asks it of its own clients on every
	// route but the page's files ([IsPage]). Empty sends and asks none.
	Token string
	// AdminAddr returns the host:port of an instance's admin listener, and
	// false when it has none. Default [discovery.Instance.AdminAddr],
	// which reads Meta["admin"]; a registry whose instances are the admin
	// listeners themselves, such as DNS SRV records of a port named
	// "admin", uses [discovery.Instance.HostPort].
	AdminAddr func(discovery.Instance) (string, bool)
	// Timeout bounds a proxied request (other than a stream) and the
	// check of whether a target is up. Default [DefaultHubTimeout].
	Timeout time.Duration
	// Reconnect is how long the merged stream waits before connecting
	// again to a target whose stream ended. Default [DefaultHubReconnect].
	Reconnect time.Duration
	// Refresh is how often the merged stream looks for targets that came
	// or went. Default [DefaultHubRefresh].
	Refresh time.Duration
	// Logger logs targets that cannot be reached. Default: none.
	Logger *slog.Logger
}

// Hub is the dashboard of several services: it lists the admin listeners
// of the instances it finds in a registry and of static targets, passes
// requests on to each, and merges their streams (see the package doc,
// "Hub"). Build one with [NewHub]; it is an [http.Handler], safe for
// concurrent use. Call Close when done with it.
type Hub struct {
	cfg       HubConfig
	router    *thttp.Router
	client    *http.Client
	transport *http.Transport
	watches   []discovery.Instancer
	log       *slog.Logger
}

// hubTarget is a target as the hub lists it; addr is "" for an instance
// that names no admin listener.
type hubTarget struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Base    string `json:"base"`
	Up      bool   `json:"up"`
	Addr    string `json:"addr,omitempty"`
	Error   string `json:"error,omitempty"`
}

type targetsAnswer struct {
	Version int         `json:"version"`
	Targets []hubTarget `json:"targets"`
}

// targetEvent is the merged stream's event "target": a target's stream
// was cut, or came back.
type targetEvent struct {
	Version int       `json:"version"`
	Target  string    `json:"target"`
	Service string    `json:"service"`
	Up      bool      `json:"up"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// NewHub starts watching cfg.Services in cfg.Resolver and returns the hub
// serving them. It is an error if a static target has no Addr, if two have
// the same ID, or if a service cannot be watched.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.AdminAddr == nil {
		cfg.AdminAddr = discovery.Instance.AdminAddr
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHubTimeout
	}
	if cfg.Reconnect <= 0 {
		cfg.Reconnect = DefaultHubReconnect
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultHubRefresh
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	targets := make([]Target, len(cfg.Targets))
	for k, t := range cfg.Targets {
		if t.Addr == "" {
			return nil, fmt.Errorf("dashboard: hub target %d (%q) has no Addr; give its admin listener's host:port", k, t.ID)
		}
		if t.ID == "" {
			t.ID = t.Addr
		}
		if t.Service == "" {
			t.Service = t.ID
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("dashboard: two hub targets are called %q; give each its own ID", t.ID)
		}
		seen[t.ID] = true
		targets[k] = t
	}
	cfg.Targets = targets
	if len(cfg.Services) > 0 && cfg.Resolver == nil {
		return nil, fmt.Errorf("dashboard: the hub is asked for the services %q but has no Resolver to find them in", cfg.Services)
	}
	tr := thttp.NewTransport()
	tr.Proxy = nil // admin listeners are reached directly
	h := &Hub{cfg: cfg, transport: tr, client: &http.Client{Transport: tr}, log: log}
	for _, s := range slices.Compact(slices.Sorted(slices.Values(cfg.Services))) {
		w, err := cfg.Resolver.Resolve(s)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("dashboard: cannot watch %q: %w", s, err)
		}
		h.watches = append(h.watches, w)
	}
	h.router = thttp.NewRouter(thttp.WithLogger(log), thttp.WithMiddleware(h.auth))
	h.router.HandleFunc("GET /dash/api/targets", h.serveTargets)
	h.router.HandleFunc("GET /dash/api/stream", h.serveStream)
	h.router.HandleFunc("GET /dash/api/t/{id}/{rest...}", h.proxy)
	h.router.HandleFunc("PUT /dash/api/t/{id}/{rest...}", h.proxy)
	h.router.HandleFunc("POST /dash/api/t/{id}/{rest...}", h.proxy)
	newPage().mount(h.router)
	return h, nil
}

// ServeHTTP serves the hub's routes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// Router returns the hub's router, to add routes to; they need the
// hub's token when it has one.
func (h *Hub) Router() *thttp.Router { return h.router }

// Close stops the hub's watches and closes its idle connections. Streams
// still open end when their clients leave.
func (h *Hub) Close() error {
	for _, w := range h.watches {
		w.Stop()
	}
	h.transport.CloseIdleConnections()
	return nil
}

// auth refuses, with 401, a /dash/api/ request without the token, when
// one is set; the page's files need none.
func (h *Hub) auth(next http.Handler) http.Handler {
	if h.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + h.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsPage(r) &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			thttp.WriteError(w, r, fault.New(fault.Unauthenticated,
				"the dashboard needs the admin token; send Authorization: Bearer <token> with the token the hub was started with"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// targets lists the static targets, then every instance of every watched
// service, by ID; an instance whose ID a target before it took is left
// out.
func (h *Hub) targets() []hubTarget {
	out := []hubTarget{}
	seen := map[string]bool{}
	add := func(t hubTarget) {
		if seen[t.ID] {
			return
		}
		seen[t.ID] = true
		t.Base = "api/t/" + url.PathEscape(t.ID)
		out = append(out, t)
	}
	for _, t := range h.cfg.Targets {
		add(hubTarget{ID: t.ID, Service: t.Service, Addr: t.Addr})
	}
	for _, w := range h.watches {
		for _, inst := range w.State().Instances {
			t := hubTarget{ID: inst.ID, Service: inst.Service}
			if addr, ok := h.cfg.AdminAddr(inst); ok {
				t.Addr = addr
			} else {
				t.Error = fmt.Sprintf("the instance names no admin listener; register it with Meta[%q] (discovery.Instance.WithAdmin)", discovery.MetaAdmin)
			}
			add(t)
		}
	}
	return out
}

func (h *Hub) target(id string) (hubTarget, bool) {
	for _, t := range h.targets() {
		if t.ID == id {
			return t, true
		}
	}
	return hubTarget{}, false
}

// request builds a request to the target's admin path, with the token.
func (h *Hub) request(ctx context.Context, t hubTarget, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr+path, nil)
	if err != nil {
		return nil, err
	}
	if h.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.cfg.Token)
	}
	return req, nil
}

// check reports whether t answers GET /dash/api/breakers, and why not.
func (h *Hub) check(ctx context.Context, t hubTarget) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := h.request(ctx, t, "/dash/api/breakers")
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach its admin listener at %s: %w", t.Addr, unwrapURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("its admin listener at %s refused the token (401); start the hub with the services' TAILOR_ADMIN_TOKEN", t.Addr)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("its admin listener at %s answered %s; does it serve the dashboard?", t.Addr, resp.Status)
	}
	return nil
}

// unwrapURL drops the method and URL a *url.Error repeats.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// serveTargets lists the targets, each checked at once, in parallel.
func (h *Hub) serveTargets(w http.ResponseWriter, r *http.Request) {
	ts := h.targets()
	var wg sync.WaitGroup
	for k := range ts {
		if ts[k].Addr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.check(r.Context(), ts[k]); err != nil {
				ts[k].Error = err.Error()
				return
			}
			ts[k].Up = true
		}()
	}
	wg.Wait()
	writeJSON(w, targetsAnswer{Version: Version, Targets: ts})
}

// badGateway writes a 502 problem whose detail names the target and what
// went wrong: the operator reading it runs the hub.
func badGateway(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("Content-Type", thttp.ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	_ = json.NewEncoder(w).Encode(thttp.Problem{
		Title: http.StatusText(http.StatusBadGateway), Status: http.StatusBadGateway, Detail: detail,
		Kind: fault.Unavailable.String(), RequestID: requestid.FromContext(r.Context()),
	})
}

// proxy passes GET, PUT and POST /dash/api/t/{id}/{rest...} on to the target's
// /dash/api/{rest...}, with the token instead of the client's.
func (h *Hub) proxy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, ok := h.target(id)
	if !ok {
		thttp.WriteError(w, r, fault.New(fault.NotFound, fmt.Sprintf("the hub has no target %q; GET /dash/api/targets lists them", id)))
		return
	}
	if t.Addr == "" {
		badGateway(w, r, fmt.Sprintf("target %q (%s): %s", t.ID, t.Service, t.Error))
		return
	}
	// The rest of the path as the client escaped it, so that a breaker
	// named "payments/127.0.0.1:80" stays one segment.
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/dash/api/t/"), "/")
	unescaped, err := url.PathUnescape(rest)
	if err != nil {
		thttp.WriteError(w, r, fault.New(fault.InvalidArgument, fmt.Sprintf("the path %q is not validly escaped", r.URL.EscapedPath())))
		return
	}
	if rest != "stream" {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxProxiedBody)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &url.URL{Scheme: "http", Host: t.Addr, Path: "/dash/api/" + unescaped, RawPath: "/dash/api/" + rest, RawQuery: pr.In.URL.RawQuery}
			pr.Out.Host = t.Addr
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
			if h.cfg.Token != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+h.cfg.Token)
			}
		},
		Transport:     h.transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.log.Warn("dashboard: target unreachable", slog.String("target", t.ID), slog.String("addr", t.Addr), slog.Any("error", err))
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				thttp.WriteError(w, r, fault.New(fault.InvalidArgument, fmt.Sprintf("the body is larger than the %d bytes the hub passes on", maxProxiedBody)))
				return
			}
			badGateway(w, r, fmt.Sprintf("target %q (%s) cannot be reached at %s: %v; GET /dash/api/targets says which targets are up", t.ID, t.Service, t.Addr, unwrapURL(err)))
		},
	}
	rp.ServeHTTP(w, r)
}

// withTarget returns data, a JSON object, with "target" set to target and
// "service" to service when it has none or "".
func withTarget(data []byte, target, service string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("dashboard: an event's data is null, not an object")
	}
	t, _ := json.Marshal(target)
	obj["target"] = t
	if v, ok := obj["service"]; !ok || string(v) == `""` {
		s, _ := json.Marshal(service)
		obj["service"] = s
	}
	return json.Marshal(obj)
}

// serveStream merges the streams of every target: each event's data gains
// "target" (and "service"), and an event "target" says when a target's
// stream is cut or comes back. A target's stream that ends is opened
// again after cfg.Reconnect; targets that come or go are picked up every
// cfg.Refresh. It ends when the client leaves.
func (h *Hub) serveStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	events := make(chan sseEvent, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before Wait: the readers stop first
	following := map[string]context.CancelFunc{}
	follow := func() {
		now := map[string]bool{}
		for _, t := range h.targets() {
			if t.Addr == "" {
				continue
			}
			now[t.ID] = true
			if _, ok := following[t.ID]; ok {
				continue
			}
			tctx, stop := context.WithCancel(ctx)
			following[t.ID] = stop
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.follow(tctx, t, events)
			}()
		}
		for id, stop := range following {
			if !now[id] {
				stop()
				delete(following, id)
			}
		}
	}
	follow()
	tick := time.NewTicker(h.cfg.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			follow()
		case e := <-events:
			if writeEvent(w, e) != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// follow reads t's stream into events, each event's data with "target",
// until ctx ends, connecting again after cfg.Reconnect whenever the
// stream ends or cannot be opened. It sends an event "target" when the
// stream is cut and when it comes back.
func (h *Hub) follow(ctx context.Context, t hubTarget, events chan<- sseEvent) {
	send := func(e sseEvent) bool {
		select {
		case events <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	status := func(up bool, err error) bool {
		e := targetEvent{Version: Version, Target: t.ID, Service: t.Service, Up: up, At: time.Now().UTC()}
		if err != nil {
			e.Error = err.Error()
		}
		data, _ := json.Marshal(e)
		return send(sseEvent{name: "target", data: string(data)})
	}
	wasUp := true // a target is taken to be up until its stream fails
	for {
		err := h.read(ctx, t, func(e sseEvent) bool {
			if !wasUp {
				wasUp = true
				if !status(true, nil) {
					return false
				}
			}
			data, err := withTarget([]byte(e.data), t.ID, t.Service)
			if err != nil {
				return true // not an object: nothing to attribute, skipped
			}
			return send(sseEvent{name: e.name, data: string(data)})
		})
		if ctx.Err() != nil {
			return
		}
		if wasUp {
			wasUp = false
			h.log.Warn("dashboard: target's stream cut", slog.String("target", t.ID), slog.String("addr", t.Addr), slog.Any("error", err))
			if !status(false, err) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(h.cfg.Reconnect):
		}
	}
}

// read opens t's stream and hands each event to each until the stream
// ends, each returns false or ctx ends. It returns why the stream ended.
func (h *Hub) read(ctx context.Context, t hubTarget, each func(sseEvent) bool) error {
	req, err := h.request(ctx, t, "/dash/api/stream")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach its admin listener at %s: %w", t.Addr, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("its admin listener at %s answered the stream with %s", t.Addr, resp.Status)
	}
	rd := newSSEReader(resp.Body)
	for {
		e, err := rd.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("its stream at %s ended", t.Addr)
			}
			return fmt.Errorf("its stream at %s broke: %w", t.Addr, err)
		}
		if !each(e) {
			return ctx.Err()
		}
	}
}
