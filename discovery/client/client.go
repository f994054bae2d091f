package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"go.opentelemetry.io/otel/metric"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
)

// Option configures a [Client]. A nil Option is ignored.
type Option func(*config)

type config struct {
	balancer  Balancer
	policy    resilience.PolicyConfig
	breaker   resilience.BreakerConfig
	telemetry *observability.Telemetry
}

// WithBalancer sets how the client spreads calls. Default [P2C].
func WithBalancer(b Balancer) Option {
	return func(c *config) {
		if b != nil {
			c.balancer = b
		}
	}
}

// WithPolicy sets the resilience policy around every call of every route:
// timeout, retries with a budget, a breaker for the service as a whole, a
// bulkhead. Its Name defaults to the service's. The default is
// PolicyConfig{Retry: &RetryConfig{}}: up to 3 attempts of calls marked
// with [resilience.WithIdempotent], each on an instance not tried yet.
func WithPolicy(cfg resilience.PolicyConfig) Option {
	return func(c *config) { c.policy = cfg }
}

// WithInstanceBreaker configures the circuit breaker each instance gets.
// The default is resilience's zero BreakerConfig: an instance is ejected
// after 5 consecutive failures (or half of 20 calls in 10 s) and probed
// again after 5 s. Only failures that are the callee's (unavailable,
// deadline exceeded, internal) count; see [resilience.Classify].
func WithInstanceBreaker(cfg resilience.BreakerConfig) Option {
	return func(c *config) { c.breaker = cfg }
}

// WithTelemetry makes the client report to tel: every breaker's state
// (the policy's and each instance's, named "service/host:port") as
// tailor.breaker.state and tailor.breaker.transitions, retries, calls a
// mechanism refused, the retry budget's refusals and the number of
// instances in rotation (tailor.discovery.instances), and logs to tel's
// logger the instances that join, leave, are ejected and come back, with
// the callee under the key "peer.service". It also lists those breakers,
// the instances, the policy's retry budget and bulkhead with tel
// ([observability.Telemetry.Breakers],
// [observability.Telemetry.Instances], [observability.Telemetry.Budgets],
// [observability.Telemetry.Bulkheads]) for an operator's dashboard, until
// an instance leaves or the client is closed, and its calls count in
// [observability.Telemetry.Calls] and [observability.Telemetry.Rejections].
// A nil tel is ignored. Default: nothing is reported.
func WithTelemetry(tel *observability.Telemetry) Option {
	return func(c *config) {
		if tel != nil {
			c.telemetry = tel
		}
	}
}

// Client calls the routes of one service by name. It watches the
// service's healthy instances once, and every route made with
// [Client.Endpoint] shares its rotation, its [Balancer], the circuit
// breaker of each instance and one resilience policy:
//
//	policy ▸ balancer ▸ instance's breaker ▸ route's transport endpoint
//
// An instance whose breaker is open is out of rotation (outlier ejection)
// until a probe succeeds, without waiting for the registry's health
// check; a breaker that refuses a call sends it to another instance at
// once. So does an instance that cannot be reached (the connection to it
// is refused, say, as when its process has died): nothing was sent, so
// the call goes on to another instance whatever it does, idempotent or
// not, and fails with the connection's error only once no instance is
// left to try; the instance is out of rotation for [UnreachableFor]. A retry made by the policy goes to an instance the call
// has not tried yet. A call that finds no instance fails with a fault.Unavailable
// error whose cause is a [*NoInstanceError]; the policy's breaker does not
// count it against the service.
//
// Build one with [New] (the zero value is not usable) and Close it when
// done. It is safe for concurrent use.
type Client struct {
	service    string
	watch      discovery.Instancer
	cfg        config
	logger     *slog.Logger
	middleware endpoint.Middleware // telemetry ▸ policy ▸ telemetry, around a route's call
	epoch      time.Time           // shared by every node, so their figures compare
	metrics    []metric.Registration
	untrack    []func() // stop listing the policy's breaker and the instances with the telemetry

	mu     sync.Mutex // serialises changes of the rotation and of the routes
	routes []*route
	set    atomic.Pointer[nodeSet]
	ready  chan struct{} // closed once the registry has answered or failed

	events chan sd.Event
	done   chan struct{}
	wg     sync.WaitGroup
	close  sync.Once
}

// nodeSet is one version of the rotation; it is never changed once stored.
type nodeSet struct {
	nodes []*Node
	byKey map[string]*Node
	state discovery.State
}

// route is one Factory's share of the rotation: the nodes whose
// endpoints slice holds an endpoint at id.
type route struct {
	id      int
	factory Factory
	nodes   atomic.Pointer[[]*Node]
}

// New starts watching service through r and returns a client for it. Add
// routes with [Client.Endpoint]; call [Client.Close] when done, to stop
// the watch. A nil Option is skipped.
func New(r discovery.Resolver, service string, opts ...Option) (*Client, error) {
	if r == nil {
		return nil, fmt.Errorf("client: New for %q needs a discovery.Resolver; pass the registry (consul.New, memory.New, dns.New)", service)
	}
	if service == "" {
		return nil, errors.New("client: New needs the name of the service to call")
	}
	cfg := config{
		balancer: P2C(),
		policy:   resilience.PolicyConfig{Retry: &resilience.RetryConfig{}},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.policy.Name == "" {
		cfg.policy.Name = service
	}
	w, err := r.Resolve(service)
	if err != nil {
		return nil, err
	}
	c := &Client{
		service: service,
		watch:   w,
		cfg:     cfg,
		logger:  slog.New(slog.DiscardHandler),
		epoch:   time.Now(),
		ready:   make(chan struct{}),
		events:  make(chan sd.Event),
		done:    make(chan struct{}),
	}
	c.set.Store(&nodeSet{state: discovery.State{Service: service}})
	policyOpts := []resilience.Option{resilience.WithClassifier(classify)}
	tel := cfg.telemetry
	if tel != nil {
		c.logger = tel.Logger()
		policyOpts = append(policyOpts, resilience.WithStateChange(tel.BreakerStateChange))
	}
	policy := resilience.NewPolicy(cfg.policy, policyOpts...)
	c.middleware = policy.Middleware()
	if tel != nil {
		call, attempt := tel.CallMiddleware(service), tel.AttemptMiddleware(service)
		c.middleware = func(next endpoint.Endpoint) endpoint.Endpoint {
			return call(policy.Middleware()(attempt(next)))
		}
		if err := c.observe(tel, policy); err != nil {
			w.Stop()
			return nil, err
		}
	}
	c.wg.Add(1)
	go c.run()
	w.Register(c.events) // returns once run has taken the first state
	return c, nil
}

// observe registers the client's gauges with tel.
func (c *Client) observe(tel *observability.Telemetry, policy *resilience.Policy) error {
	reg, err := tel.ObserveInstances(c.service, func() int { return len(c.set.Load().nodes) })
	if err != nil {
		return fmt.Errorf("client: reporting the instances of %q: %w", c.service, err)
	}
	c.metrics = append(c.metrics, reg)
	c.untrack = append(c.untrack, tel.TrackInstances(c.service, c.instanceStatus))
	if b := policy.Breaker(); b != nil {
		c.untrack = append(c.untrack, tel.TrackBreaker(b))
	}
	if b := policy.Bulkhead(); b != nil {
		c.untrack = append(c.untrack, tel.TrackBulkhead(b))
	}
	if b := policy.Budget(); b != nil {
		c.untrack = append(c.untrack, tel.TrackBudget(c.service, b))
		reg, err := tel.ObserveBudget(c.service, b)
		if err != nil {
			c.unobserve()
			return fmt.Errorf("client: reporting the retry budget of %q: %w", c.service, err)
		}
		c.metrics = append(c.metrics, reg)
	}
	return nil
}

func (c *Client) unobserve() {
	for _, reg := range c.metrics {
		_ = reg.Unregister()
	}
	c.metrics = nil
	for _, f := range c.untrack {
		f()
	}
	c.untrack = nil
}

// instanceStatus describes the instances in rotation for the telemetry.
func (c *Client) instanceStatus() []observability.InstanceStatus {
	nodes := c.set.Load().nodes
	now := time.Now()
	out := make([]observability.InstanceStatus, len(nodes))
	for i, n := range nodes {
		inst := n.Instance()
		out[i] = observability.InstanceStatus{
			ID: inst.ID, Addr: inst.HostPort(), Version: inst.Version,
			Ejected: n.Ejected(), InFlight: n.InFlight(), Latency: n.Latency(now),
		}
	}
	return out
}

// classify is the policy's rule for outcomes: [resilience.Classify], except
// that finding no instance to call says nothing of the callee's health.
func classify(ctx context.Context, err error) resilience.Outcome {
	var nie *NoInstanceError
	if errors.As(err, &nie) {
		return resilience.OutcomeIgnored
	}
	return resilience.Classify(ctx, err)
}

// Endpoint returns the endpoint that calls one route of the service, made
// on each instance by f:
//
//	stock := inventory.Endpoint(client.HTTPFactory(http.MethodGet, "/v1/stock/{sku}", encodeSKU, decodeStock))
//
// Call it once per route and keep the endpoint: each call adds a route.
// Wrap the endpoint in further middlewares and adapt it with tailor.Call
// as any go-kit endpoint. Instances f refuses with [ErrProtocol] are left
// out of this route; other errors of f are logged and leave the instance
// out until it registers again. With a nil f every call fails, saying so;
// after Close every call fails with [discovery.ErrStopped].
func (c *Client) Endpoint(f Factory) endpoint.Endpoint {
	if f == nil {
		err := fmt.Errorf("client: the endpoint of %q was made with a nil Factory; pass client.HTTPFactory or client.GRPCFactory", c.service)
		return func(context.Context, any) (any, error) { return nil, err }
	}
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return func(context.Context, any) (any, error) { return nil, discovery.ErrStopped }
	default:
	}
	r := &route{id: len(c.routes), factory: f}
	c.routes = append(c.routes, r)
	set := c.set.Load()
	for _, n := range set.nodes {
		c.addEndpoints(n, []*route{r})
	}
	c.publish(set.nodes)
	c.mu.Unlock()
	inner := c.middleware(func(ctx context.Context, request any) (any, error) { return c.call(ctx, r, request) })
	return func(ctx context.Context, request any) (any, error) {
		if _, ok := ctx.Value(triesKey{c}).(*tries); !ok {
			ctx = context.WithValue(ctx, triesKey{c}, &tries{})
		}
		return inner(ctx, request)
	}
}

// Instances returns the healthy instances the client knows now, whatever
// their protocol; each route calls those its Factory accepts.
func (c *Client) Instances() []discovery.Instance {
	set := c.set.Load()
	out := make([]discovery.Instance, len(set.nodes))
	for k, n := range set.nodes {
		out[k] = n.Instance()
	}
	return out
}

// Close stops the watch, stops reporting to the telemetry and closes every
// instance's connections. Calls after Close fail with
// [discovery.ErrStopped].
func (c *Client) Close() error {
	c.close.Do(func() {
		close(c.done)
		c.watch.Deregister(c.events)
		c.watch.Stop()
		c.wg.Wait()
		c.unobserve()
		for _, n := range c.set.Load().nodes {
			n.untrackBreaker()
			n.closeNow()
		}
	})
	return nil
}

func (c *Client) run() {
	defer c.wg.Done()
	var once sync.Once
	for {
		select {
		case <-c.done:
			return
		case <-c.events:
			st := c.watch.State()
			c.update(st)
			if !st.Updated.IsZero() || st.Err != nil {
				once.Do(func() { close(c.ready) })
			}
		}
	}
}

// update makes the rotation match st, keeping the nodes of instances that
// stayed so their breakers and latency figures live on.
func (c *Client) update(st discovery.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.set.Load()
	next := &nodeSet{state: st, byKey: make(map[string]*Node, len(st.Instances))}
	for _, inst := range st.Instances {
		key := inst.ID + "\x00" + inst.HostPort() + "\x00" + string(protocolOf(inst))
		if n, ok := old.byKey[key]; ok {
			n.inst.Store(&inst)
			next.byKey[key] = n
			next.nodes = append(next.nodes, n)
			continue
		}
		n := c.newNode(inst)
		c.addEndpoints(n, c.routes)
		c.logger.Info("client: instance joined", "peer.service", c.service, "instance", inst.ID, "addr", inst.HostPort())
		next.byKey[key] = n
		next.nodes = append(next.nodes, n)
	}
	c.set.Store(next)
	c.publish(next.nodes)
	for key, n := range old.byKey {
		if _, ok := next.byKey[key]; !ok {
			c.logger.Info("client: instance left", "peer.service", c.service, "instance", n.Instance().ID, "addr", n.Instance().HostPort())
			n.retireNode()
		}
	}
	if st.Err != nil && st.Failures == 1 {
		c.logger.Warn("client: the registry cannot be reached; calling the last known instances",
			"peer.service", c.service, "instances", len(st.Instances), "error", st.Err)
	}
}

// addEndpoints makes n's endpoints for routes, which are the last routes
// of the client; c.mu must be held.
func (c *Client) addEndpoints(n *Node, routes []*route) {
	inst := n.Instance()
	eps := slices.Clone(*n.endpoints.Load())
	for _, r := range routes {
		e, closer, err := r.factory(inst)
		switch {
		case errors.Is(err, ErrProtocol):
			e = nil
		case err != nil:
			c.logger.Warn("client: cannot call an instance; leaving it out", "peer.service", c.service, "instance", inst.ID, "error", err)
			e = nil
		default:
			e = n.breaker.Middleware()(e)
		}
		if closer != nil {
			n.mu.Lock()
			n.closers = append(n.closers, closer)
			n.mu.Unlock()
		}
		eps = append(eps, e)
	}
	n.endpoints.Store(&eps)
}

// publish gives each route the nodes that have an endpoint for it; c.mu
// must be held.
func (c *Client) publish(nodes []*Node) {
	for _, r := range c.routes {
		var in []*Node
		for _, n := range nodes {
			if (*n.endpoints.Load())[r.id] != nil {
				in = append(in, n)
			}
		}
		r.nodes.Store(&in)
	}
}

func (c *Client) newNode(inst discovery.Instance) *Node {
	n := &Node{epoch: c.epoch}
	n.inst.Store(&inst)
	n.endpoints.Store(new([]endpoint.Endpoint))
	name := c.service + "/" + inst.HostPort()
	tel := c.cfg.telemetry
	n.breaker = resilience.NewBreaker(name, c.cfg.breaker,
		resilience.WithStateChange(func(sc resilience.StateChange) {
			n.open.Store(sc.To == resilience.StateOpen)
			if tel != nil {
				tel.BreakerStateChange(sc)
			}
			if sc.To == resilience.StateOpen {
				n.reset()
				c.logger.Warn("client: instance ejected", "peer.service", c.service, "instance", inst.ID, "addr", inst.HostPort(), "reason", sc.Reason)
			} else if sc.From == resilience.StateOpen || sc.From == resilience.StateHalfOpen {
				c.logger.Info("client: instance back in rotation", "peer.service", c.service, "instance", inst.ID, "state", sc.To.String())
			}
		}))
	if tel != nil {
		n.untrack = tel.TrackBreaker(n.breaker)
	}
	return n
}

// UnreachableFor is how long an instance that could not be reached (a
// connection to it refused, say) stays out of rotation, as if its breaker
// had opened, before a call tries it again: a process that died answers
// no call, and its callers need not wait for the registry's health check
// or for its breaker to count failures to stop sending it calls. When
// every instance is out of rotation, a call still tries those that are
// out only for this reason.
const UnreachableFor = 5 * time.Second

// call is the innermost endpoint of the policy: one attempt of route r.
// An instance whose breaker refuses the call costs nothing, so the attempt
// moves on to another at once rather than return the refusal, whose
// Retry-After (the breaker's open time) no caller should wait out.
func (c *Client) call(ctx context.Context, r *route, request any) (any, error) {
	select {
	case <-c.ready:
	default:
		select {
		case <-c.ready:
		case <-c.done:
			return nil, discovery.ErrStopped
		case <-ctx.Done():
			return nil, fault.Wrap(ctx.Err(), fault.KindOf(ctx.Err()), fmt.Sprintf("client: gave up waiting for the first list of %q instances from the registry", c.service))
		}
	}
	select {
	case <-c.done:
		return nil, discovery.ErrStopped
	default:
	}
	set := c.set.Load()
	nodes := *r.nodes.Load()
	t, _ := ctx.Value(triesKey{c}).(*tries)
	var unsent error // why the last instance tried could not be reached
	for {
		n := c.cfg.balancer.Pick(nodes, t.skip)
		if n == nil && t.any() {
			// Every healthy instance was tried: a repeat beats giving up.
			n = c.cfg.balancer.Pick(nodes, t.refused)
		}
		if n == nil {
			// Every instance is out of rotation, some only because a
			// connection to them failed a moment ago: trying one again
			// costs at most another refused connection, and finds an
			// instance that came back on the same address at once.
			n = c.cfg.balancer.Pick(nodes, t.lastResort)
		}
		if n == nil && unsent != nil {
			return nil, unsent
		}
		if n == nil {
			return nil, c.noInstance(set, nodes, t)
		}
		response, err := c.serve(ctx, n, r, request)
		switch {
		case errors.Is(err, resilience.ErrOpen):
			t.add(n, tryRefused)
			continue
		case err != nil && ctx.Err() == nil && notSent(err):
			// Nothing reached the instance: sending the request to
			// another one cannot do anything twice, whatever it does.
			t.add(n, tryUnsent)
			unsent = err
			if n.markUnreachable() {
				inst := n.Instance()
				c.logger.Warn("client: instance unreachable; out of rotation", "peer.service", c.service, "instance", inst.ID, "addr", inst.HostPort(), "for", UnreachableFor, "error", err)
			}
			continue
		}
		t.add(n, tryAnswered)
		return response, err
	}
}

// notSent reports whether err says that the request never reached the
// instance: the connection to it could not be made (a [*net.OpError] of
// Op "dial", such as a refused connection), so nothing was sent.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// serve makes one call on n and feeds its latency to the balancer.
func (c *Client) serve(ctx context.Context, n *Node, r *route, request any) (any, error) {
	n.inFlight.Add(1)
	start := n.elapsed()
	response, err := (*n.endpoints.Load())[r.id](ctx, request)
	if !errors.Is(err, resilience.ErrOpen) {
		end := n.elapsed()
		n.observe(end, time.Duration(end-start), resilience.Classify(ctx, err) == resilience.OutcomeFailure)
	}
	if n.inFlight.Add(-1) == 0 && n.retired.Load() {
		n.closeNow()
	}
	return response, err
}

func (c *Client) noInstance(set *nodeSet, nodes []*Node, t *tries) error {
	e := &NoInstanceError{
		Service:    c.service,
		Registered: set.state.Registered,
		Healthy:    len(set.state.Instances),
		Err:        set.state.Err,
	}
	if e.Err != nil && !set.state.Updated.IsZero() {
		e.Stale = time.Since(set.state.Updated)
	}
	for _, n := range nodes {
		if n.Ejected() || t.ejected(n) {
			e.Ejected++
		} else if t.has(n) {
			e.Tried++
		}
	}
	return fault.Wrap(e, fault.Unavailable, e.Error())
}

type triesKey struct{ c *Client }

// tries records the nodes one call has tried, those whose breaker refused
// it and those it could not reach, so a retry goes elsewhere. The first
// few fit without an allocation. A nil *tries has tried nothing.
type tries struct {
	mu    sync.Mutex
	first [4]try
	nodes []try
}

type try struct {
	n       *Node
	outcome tryOutcome
}

// tryOutcome is what became of one try of a node.
type tryOutcome uint8

const (
	tryAnswered tryOutcome = iota // the call reached the instance
	tryRefused                    // the instance's breaker refused it
	tryUnsent                     // the instance could not be reached
)

func (t *tries) skip(n *Node) bool { return n.Ejected() || t.has(n) }

func (t *tries) has(n *Node) bool {
	return t.find(func(x try) bool { return x.n == n })
}

// refused reports whether n's breaker is open, or refused this call, or n
// could not be reached by it: a node not worth a repeat.
func (t *tries) refused(n *Node) bool {
	return n.Ejected() || t.find(func(x try) bool { return x.n == n && x.outcome != tryAnswered })
}

// lastResort reports whether n is to be left out even when every node is
// out of rotation: this call tried it, or its breaker is open.
func (t *tries) lastResort(n *Node) bool { return n.breakerOpen() || t.has(n) }

// ejected reports whether n's breaker is open or refused this call.
func (t *tries) ejected(n *Node) bool {
	return n.Ejected() || t.find(func(x try) bool { return x.n == n && x.outcome == tryRefused })
}

func (t *tries) add(n *Node, outcome tryOutcome) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.nodes == nil {
		t.nodes = t.first[:0]
	}
	t.nodes = append(t.nodes, try{n, outcome})
	t.mu.Unlock()
}

// any reports whether the call reached a node.
func (t *tries) any() bool {
	return t.find(func(x try) bool { return x.outcome == tryAnswered })
}

func (t *tries) find(match func(try) bool) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.ContainsFunc(t.nodes, match)
}

func (n *Node) retireNode() {
	n.untrackBreaker()
	n.retired.Store(true)
	if n.inFlight.Load() == 0 {
		n.closeNow()
	}
}

func (n *Node) untrackBreaker() {
	if n.untrack != nil {
		n.untrack()
	}
}

func (n *Node) closeNow() {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		closers := n.closers
		n.mu.Unlock()
		for _, cl := range closers {
			_ = cl.Close()
		}
	})
}
