// Package consul registers service instances in Consul and watches them,
// on github.com/hashicorp/consul/api.
//
// Start with [New]: a [Registry] is a [discovery.Registrar] and a
// [discovery.Resolver], so it plugs into [discovery.NewRegistration] and
// the call-by-name client of package
// [github.com/tailorkit/tailor/discovery/client].
//
// Registration comes with a health check, an HTTP check of the instance's
// /readyz (a gRPC health check for gRPC instances) or a TTL check the
// Registry keeps passing with a heartbeat, and with
// DeregisterCriticalServiceAfter, so an instance that died without
// deregistering is removed by Consul. Tags, version, zone, protocol and
// metadata go into the service's tags and meta.
//
// Watches use blocking queries on /v1/health/service with the last index
// and a bounded wait. They avoid the failure modes of go-kit's Consul
// instancer: errors back off exponentially with jitter
// (github.com/cenkalti/backoff/v5; no hot loop while Consul is down), an
// index that goes backwards or comes back as zero is reset, queries are
// spaced at least MinQueryInterval apart, and while Consul cannot be
// reached the watch keeps serving the last known instances, logs the
// outage once and counts the failures in [discovery.State].
//
// The agent's address, ACL token and TLS settings come from the standard
// environment (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL,
// CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
// CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY), as the consul CLI reads
// them; [Config] fields override them. The ACL token and any user and
// password in the agent's address never appear in the registry's errors
// or logs: they read "[redacted]".
package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/tailorkit/tailor/discovery"
)

// Compile-time checks that the registry and its watches meet the contracts.
var (
	_ discovery.Registrar = (*Registry)(nil)
	_ discovery.Resolver  = (*Registry)(nil)
)

// Defaults for the zero values of Config and Check.
const (
	DefaultCheckPath               = "/readyz"
	DefaultCheckInterval           = 10 * time.Second
	DefaultCheckTimeout            = 2 * time.Second
	DefaultDeregisterCriticalAfter = time.Minute
	DefaultWait                    = time.Minute
	DefaultMinBackoff              = 250 * time.Millisecond
	DefaultMaxBackoff              = 30 * time.Second
	DefaultMinQueryInterval        = 50 * time.Millisecond
)

// Config configures a Registry. The zero value talks to the agent the
// CONSUL_* environment names (127.0.0.1:8500 without one), registers
// instances with an HTTP check of /readyz every 10 s, and watches with
// one-minute blocking queries.
type Config struct {
	// Address is the agent's HTTP API: "127.0.0.1:8500" or
	// "https://consul.internal:8501". Default: CONSUL_HTTP_ADDR, or
	// 127.0.0.1:8500.
	Address string
	// Token is the ACL token. Default: CONSUL_HTTP_TOKEN.
	Token string
	// HTTPClient, when set, makes the requests instead of a client built
	// from the CONSUL_* TLS settings.
	HTTPClient *http.Client
	// Check is the health check each registered instance gets.
	Check Check
	// Wait bounds each blocking query: Consul answers after at most this
	// long even when nothing changed. Default 1 min; Consul caps it at
	// 10 min.
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed query: it
	// doubles with each failure in a row, from MinBackoff up to
	// MaxBackoff, and is drawn between half and one and a half times that
	// (jitter), so many watchers do not retry in step. Defaults 250 ms and
	// 30 s.
	MinBackoff, MaxBackoff time.Duration
	// MinQueryInterval is the least time between the starts of two
	// queries of one watch, a guard against a query that keeps returning
	// at once. Default 50 ms.
	MinQueryInterval time.Duration
}

// Check is the health check an instance is registered with. The zero
// value is a check the agent runs every 10 s, bounded by 2 s (GET /readyz,
// or the gRPC health service for gRPC instances), with removal after
// 1 min critical; every field's default is in its doc.
type Check struct {
	// TTL, when positive, makes it a TTL check: the Registry reports the
	// instance passing every TTL/3 while it is registered, and Consul
	// marks it critical when TTL passes without a report (the process
	// died or hung). Zero makes it an HTTP check (a gRPC health check for
	// instances with Protocol grpc), run by the agent.
	TTL time.Duration
	// Path is the HTTP check's path. Default "/readyz".
	Path string
	// Interval is how often the agent runs the HTTP or gRPC check.
	// Default 10 s; Consul runs checks at most once a second.
	Interval time.Duration
	// Timeout bounds each HTTP or gRPC check. Default 2 s.
	Timeout time.Duration
	// DeregisterCriticalAfter is how long a check may stay critical
	// before Consul removes the instance. Default 1 min, which is also
	// Consul's minimum; negative turns it off.
	DeregisterCriticalAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Check.Path == "" {
		c.Check.Path = DefaultCheckPath
	}
	if c.Check.Interval <= 0 {
		c.Check.Interval = DefaultCheckInterval
	}
	if c.Check.Timeout <= 0 {
		c.Check.Timeout = DefaultCheckTimeout
	}
	if c.Check.DeregisterCriticalAfter == 0 {
		c.Check.DeregisterCriticalAfter = DefaultDeregisterCriticalAfter
	}
	if c.Wait <= 0 {
		c.Wait = DefaultWait
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.MinQueryInterval <= 0 {
		c.MinQueryInterval = DefaultMinQueryInterval
	}
	return c
}

// Option configures a Registry. A nil Option is ignored.
type Option func(*Registry)

// WithLogger makes the registry log watch outages and recoveries, with
// the watched service under "peer.service", and failed heartbeats, by
// instance ID; the logger's own "service" is left to the service that
// owns it. Default: no logs.
func WithLogger(l *slog.Logger) Option {
	return func(r *Registry) {
		if l != nil {
			r.logger = l
		}
	}
}

// Registry registers instances with a Consul agent and watches services.
// Build one with [New]; the zero value is not usable. It is safe for
// concurrent use. Close it to stop heartbeats and watches.
type Registry struct {
	cfg     Config
	api     agent
	logger  *slog.Logger
	secrets *strings.Replacer // blanks the token and the address's password in error text

	mu         sync.Mutex
	heartbeats map[string]context.CancelFunc // by instance ID
	watches    map[*Instancer]struct{}
	closed     bool
	wg         sync.WaitGroup
}

// New returns a registry for the agent cfg names. It does not contact the
// agent: an agent that is down shows up as errors from Register and in
// watches' states. A nil Option is skipped.
func New(cfg Config, opts ...Option) (*Registry, error) {
	cfg = cfg.withDefaults()
	ac := api.DefaultConfig()
	if cfg.Address != "" {
		ac.Address = cfg.Address
	}
	if cfg.Token != "" {
		ac.Token = cfg.Token
	}
	if cfg.HTTPClient != nil {
		ac.HttpClient = cfg.HTTPClient
	}
	secrets := secretsOf(ac)
	cfg.Address = stripUserinfo(ac.Address)
	client, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul: cannot build a client for the agent at %q: %s; check CONSUL_HTTP_ADDR and the CONSUL_* TLS settings",
			cfg.Address, secrets.Replace(err.Error()))
	}
	r := newRegistry(cfg, apiAgent{client}, opts...)
	r.secrets = secrets
	return r, nil
}

func newRegistry(cfg Config, a agent, opts ...Option) *Registry {
	r := &Registry{
		cfg:        cfg.withDefaults(),
		api:        a,
		logger:     slog.New(slog.DiscardHandler),
		secrets:    strings.NewReplacer(),
		heartbeats: make(map[string]context.CancelFunc),
		watches:    make(map[*Instancer]struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// secretsOf returns a replacer that blanks what of ac must stay secret:
// the ACL token and the user and password of the address or of HttpAuth.
func secretsOf(ac *api.Config) *strings.Replacer {
	var pairs []string
	add := func(s string) {
		if s != "" {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	add(ac.Token)
	if userinfo := userinfoOf(ac.Address); userinfo != "" {
		add(userinfo) // before its parts, so the whole is blanked at once
		if _, password, ok := strings.Cut(userinfo, ":"); ok {
			add(password)
		}
	}
	if ac.HttpAuth != nil {
		add(ac.HttpAuth.Password)
	}
	return strings.NewReplacer(pairs...)
}

// userinfoOf returns the "user:password" of an address such as
// "https://user:password@consul:8501", or "".
func userinfoOf(address string) string {
	if _, rest, ok := strings.Cut(address, "://"); ok {
		address = rest
	}
	host, _, _ := strings.Cut(address, "/")
	if userinfo, _, ok := strings.Cut(host, "@"); ok {
		return userinfo
	}
	return ""
}

// stripUserinfo returns address without its user and password.
func stripUserinfo(address string) string {
	userinfo := userinfoOf(address)
	if userinfo == "" {
		return address
	}
	return strings.Replace(address, userinfo+"@", "", 1)
}

// redact returns err with the registry's secrets blanked out of its text.
func (r *Registry) redact(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if clean := r.secrets.Replace(text); clean != text {
		return &redactedError{text: clean, err: err}
	}
	return err
}

// redactedError is an error of the Consul API whose text held a secret.
// Its text is blanked; Unwrap still gives the error for errors.Is and
// errors.As.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// Register registers inst with its health check, replacing an instance of
// the same ID. The check starts passing, since [discovery.Registration]
// registers only once the service is ready; the agent's first check or a
// missed heartbeat corrects it.
func (r *Registry) Register(ctx context.Context, inst discovery.Instance) error {
	if err := inst.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return discovery.ErrStopped
	}
	reg := r.registration(inst)
	if err := r.api.register(ctx, reg); err != nil {
		return fmt.Errorf("consul: registering instance %q of %q with the agent at %s: %w; is the agent running (CONSUL_HTTP_ADDR)?", inst.ID, inst.Service, r.address(), r.redact(err))
	}
	if r.cfg.Check.TTL > 0 {
		r.startHeartbeat(inst)
	}
	return nil
}

func (r *Registry) registration(inst discovery.Instance) *api.AgentServiceRegistration {
	meta := maps.Clone(inst.Meta)
	if meta == nil {
		meta = make(map[string]string, 3)
	}
	protocol := inst.Protocol
	if protocol == "" {
		protocol = discovery.ProtocolHTTP
	}
	meta["protocol"] = string(protocol)
	if inst.Version != "" {
		meta["version"] = inst.Version
	}
	if inst.Zone != "" {
		meta["zone"] = inst.Zone
	}
	check := &api.AgentServiceCheck{
		CheckID: checkID(inst.ID),
		Name:    "tailor: " + inst.Service + " readiness",
		Status:  api.HealthPassing,
	}
	c := r.cfg.Check
	if c.DeregisterCriticalAfter > 0 {
		check.DeregisterCriticalServiceAfter = c.DeregisterCriticalAfter.String()
	}
	host := inst.Address
	if host == "" {
		host = "127.0.0.1" // the agent runs beside the instance
	}
	switch {
	case c.TTL > 0:
		check.TTL = c.TTL.String()
		check.Notes = "heartbeat from the instance every " + (c.TTL / 3).String()
	case protocol == discovery.ProtocolGRPC:
		check.GRPC = discovery.Instance{Address: host, Port: inst.Port}.HostPort()
		check.Interval, check.Timeout = c.Interval.String(), c.Timeout.String()
	default:
		check.HTTP = "http://" + discovery.Instance{Address: host, Port: inst.Port}.HostPort() + c.Path
		check.Method = http.MethodGet
		check.Interval, check.Timeout = c.Interval.String(), c.Timeout.String()
	}
	return &api.AgentServiceRegistration{
		ID:      inst.ID,
		Name:    inst.Service,
		Address: inst.Address,
		Port:    inst.Port,
		Tags:    inst.Tags,
		Meta:    meta,
		Check:   check,
	}
}

func checkID(instanceID string) string { return "service:" + instanceID + ":tailor" }

// Deregister removes the instance with inst's ID and stops its heartbeat.
func (r *Registry) Deregister(ctx context.Context, inst discovery.Instance) error {
	r.stopHeartbeat(inst.ID)
	var status api.StatusError
	if err := r.api.deregister(ctx, inst.ID); errors.As(err, &status) && status.Code == http.StatusNotFound {
		return nil // not registered (any more): the goal is reached
	} else if err != nil {
		return fmt.Errorf("consul: deregistering instance %q of %q from the agent at %s: %w; it leaves once its check fails for %s", inst.ID, inst.Service, r.address(), r.redact(err), r.cfg.Check.DeregisterCriticalAfter)
	}
	return nil
}

// Close stops every heartbeat and watch. Registered instances stay
// registered: deregister them first (a [discovery.Registration] does).
func (r *Registry) Close() error {
	r.mu.Lock()
	r.closed = true
	for id, cancel := range r.heartbeats {
		cancel()
		delete(r.heartbeats, id)
	}
	watches := make([]*Instancer, 0, len(r.watches))
	for w := range r.watches {
		watches = append(watches, w)
	}
	r.mu.Unlock()
	for _, w := range watches {
		w.Stop()
	}
	r.wg.Wait()
	return nil
}

func (r *Registry) address() string {
	if r.cfg.Address != "" {
		return r.cfg.Address
	}
	return "CONSUL_HTTP_ADDR"
}

// startHeartbeat starts inst's heartbeat, unless the registry was closed
// while the registration was on its way to the agent: a heartbeat started
// then would outlive Close.
func (r *Registry) startHeartbeat(inst discovery.Instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if old, ok := r.heartbeats[inst.ID]; ok {
		old()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.heartbeats[inst.ID] = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.heartbeat(ctx, inst)
	}()
}

func (r *Registry) stopHeartbeat(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel, ok := r.heartbeats[id]; ok {
		cancel()
		delete(r.heartbeats, id)
	}
}

// heartbeat reports inst passing every TTL/3 until ctx ends. A failed
// report is retried at the next beat; two more may fail before the TTL
// runs out.
func (r *Registry) heartbeat(ctx context.Context, inst discovery.Instance) {
	every := r.cfg.Check.TTL / 3
	failing := false
	for {
		err := r.api.updateTTL(ctx, checkID(inst.ID), "alive", api.HealthPassing)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			r.logger.Warn("consul: heartbeat failed; the instance turns critical if this lasts "+r.cfg.Check.TTL.String(),
				"instance", inst.ID, "error", r.redact(err))
		case err == nil && failing:
			failing = false
			r.logger.Info("consul: heartbeat delivered again", "instance", inst.ID)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}

// Resolve starts a watch of service's healthy instances: those whose
// checks, and whose node's checks, all pass. The watch is an [*Instancer].
func (r *Registry) Resolve(service string) (discovery.Instancer, error) {
	if service == "" {
		return nil, errors.New("consul: Resolve needs a service name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, discovery.ErrStopped
	}
	w := newInstancer(r, service)
	r.watches[w] = struct{}{}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w.loop()
	}()
	return w, nil
}

// agent is the part of the Consul API the registry uses, so tests can
// stand in for it.
type agent interface {
	register(ctx context.Context, reg *api.AgentServiceRegistration) error
	deregister(ctx context.Context, id string) error
	updateTTL(ctx context.Context, checkID, output, status string) error
	// health returns every instance of service with its checks, and the
	// index of the answer; it blocks while index is current, up to wait.
	health(ctx context.Context, service string, index uint64, wait time.Duration) ([]*api.ServiceEntry, uint64, error)
}

type apiAgent struct{ c *api.Client }

func (a apiAgent) register(ctx context.Context, reg *api.AgentServiceRegistration) error {
	return a.c.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
}

func (a apiAgent) deregister(ctx context.Context, id string) error {
	return a.c.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx))
}

func (a apiAgent) updateTTL(ctx context.Context, checkID, output, status string) error {
	return a.c.Agent().UpdateTTLOpts(checkID, output, status, (&api.QueryOptions{}).WithContext(ctx))
}

func (a apiAgent) health(ctx context.Context, service string, index uint64, wait time.Duration) ([]*api.ServiceEntry, uint64, error) {
	q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
	entries, meta, err := a.c.Health().Service(service, "", false, q.WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	return entries, meta.LastIndex, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// instance turns a Consul entry into an Instance.
func instance(e *api.ServiceEntry) discovery.Instance {
	s := e.Service
	meta := maps.Clone(s.Meta)
	inst := discovery.Instance{
		ID:       s.ID,
		Service:  s.Service,
		Address:  s.Address,
		Port:     s.Port,
		Tags:     s.Tags,
		Version:  meta["version"],
		Zone:     meta["zone"],
		Protocol: discovery.Protocol(meta["protocol"]),
	}
	delete(meta, "version")
	delete(meta, "zone")
	delete(meta, "protocol")
	if len(meta) > 0 {
		inst.Meta = meta
	}
	if inst.Address == "" && e.Node != nil {
		inst.Address = e.Node.Address
	}
	if inst.Protocol == "" {
		inst.Protocol = discovery.ProtocolHTTP
	}
	return inst
}
