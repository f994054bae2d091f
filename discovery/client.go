package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	kithttp "github.com/go-kit/kit/transport/http"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// ErrProtocol is wrapped by the errors of [HTTP] and [GRPC] factories
// given an instance of the other protocol. A [Client] leaves such
// instances out quietly, so a service may register its HTTP and gRPC
// listeners under one name and each client calls the ones it speaks.
var ErrProtocol = errors.New("discovery: wrong protocol")

// Factory makes the transport endpoint that calls one instance, and
// optionally a Closer the [Client] closes once the instance has left and
// its calls have finished. Build one with [HTTP] or [GRPC].
type Factory func(inst Instance) (endpoint.Endpoint, io.Closer, error)

// HTTP returns a Factory of HTTP client endpoints (transport/http's
// NewClient) that call method on "http://host:port" + path of each
// instance. enc may extend the URL (r.URL.Path, r.URL.RawQuery) per
// request. Every instance's endpoint shares one connection pool
// (an http.Client on transport/http's NewTransport) unless opts set go-kit's SetClient.
func HTTP(method, path string, enc kithttp.EncodeRequestFunc, dec kithttp.DecodeResponseFunc, opts ...kithttp.ClientOption) Factory {
	opts = append([]kithttp.ClientOption{kithttp.SetClient(&http.Client{Transport: thttp.NewTransport()})}, opts...)
	return func(inst Instance) (endpoint.Endpoint, io.Closer, error) {
		if inst.Protocol == ProtocolGRPC {
			return nil, nil, fmt.Errorf("%w: instance %q of %q speaks gRPC; call it with discovery.GRPC", ErrProtocol, inst.ID, inst.Service)
		}
		e, err := thttp.NewClient(method, "http://"+inst.HostPort()+path, enc, dec, opts...)
		return e, nil, err
	}
}

// GRPC returns a Factory that opens a connection to each instance with
// transport/grpc's NewConn and opts, and makes its endpoint with
// newEndpoint, typically a closure over transport/grpc's NewClient. The
// connection is closed once the instance has left.
func GRPC(newEndpoint func(cc *grpc.ClientConn) endpoint.Endpoint, opts ...grpc.DialOption) Factory {
	return func(inst Instance) (endpoint.Endpoint, io.Closer, error) {
		if inst.Protocol != ProtocolGRPC {
			return nil, nil, fmt.Errorf("%w: instance %q of %q speaks %s, not gRPC; register it with Protocol: discovery.ProtocolGRPC or call it with discovery.HTTP", ErrProtocol, inst.ID, inst.Service, protocolOf(inst))
		}
		cc, err := tgrpc.NewConn(inst.HostPort(), opts...)
		if err != nil {
			return nil, nil, err
		}
		return newEndpoint(cc), cc, nil
	}
}

func protocolOf(inst Instance) Protocol {
	if inst.Protocol == "" {
		return ProtocolHTTP
	}
	return inst.Protocol
}

// Option configures a [Client].
type Option func(*clientConfig)

type clientConfig struct {
	balancer Balancer
	policy   resilience.PolicyConfig
	breaker  resilience.BreakerConfig
	logger   *slog.Logger
}

// WithBalancer sets how the client spreads calls. Default [P2C].
func WithBalancer(b Balancer) Option {
	return func(c *clientConfig) {
		if b != nil {
			c.balancer = b
		}
	}
}

// WithPolicy sets the resilience policy around every call: timeout,
// retries with a budget, a breaker for the service as a whole, a bulkhead.
// Its Name defaults to the service's. The default is
// PolicyConfig{Retry: &RetryConfig{}}: up to 3 attempts of calls marked
// with [resilience.WithIdempotent], each on an instance not tried yet.
func WithPolicy(cfg resilience.PolicyConfig) Option {
	return func(c *clientConfig) { c.policy = cfg }
}

// WithInstanceBreaker configures the circuit breaker each instance gets.
// The default is resilience's zero BreakerConfig: an instance is ejected
// after 5 consecutive failures (or half of 20 calls in 10 s) and probed
// again after 5 s. Only failures that are the callee's (unavailable,
// deadline exceeded, internal) count; see [resilience.Classify].
func WithInstanceBreaker(cfg resilience.BreakerConfig) Option {
	return func(c *clientConfig) { c.breaker = cfg }
}

// WithLogger makes the client log instances that join, leave, are ejected
// and come back. Default: no logs.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// Client calls one service by name: it watches the service's healthy
// instances, picks one per call with its [Balancer], sends the call through
// that instance's circuit breaker and transport endpoint, and wraps it all
// in a resilience policy. Build one with [NewClient] (the zero value is not
// usable) and call through [Client.Endpoint]. It is safe for concurrent use.
type Client struct {
	service  string
	watch    Instancer
	factory  Factory
	cfg      clientConfig
	endpoint endpoint.Endpoint
	epoch    time.Time // shared by every node, so their figures compare

	set   atomic.Pointer[nodeSet]
	ready chan struct{} // closed once the registry has answered or failed

	events chan sd.Event
	done   chan struct{}
	wg     sync.WaitGroup
	close  sync.Once
}

// nodeSet is one version of the rotation; it is never changed once stored.
type nodeSet struct {
	nodes []*Node
	byKey map[string]*Node
	state State
}

// NewClient starts watching service through r and returns a client for it.
// Call [Client.Close] when done, to stop the watch.
func NewClient(r Resolver, service string, f Factory, opts ...Option) (*Client, error) {
	if service == "" {
		return nil, errors.New("discovery: NewClient needs the name of the service to call")
	}
	if f == nil {
		return nil, fmt.Errorf("discovery: NewClient for %q needs a Factory; use discovery.HTTP or discovery.GRPC", service)
	}
	cfg := clientConfig{
		balancer: P2C(),
		policy:   resilience.PolicyConfig{Retry: &resilience.RetryConfig{}},
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
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
		factory: f,
		cfg:     cfg,
		epoch:   time.Now(),
		ready:   make(chan struct{}),
		events:  make(chan sd.Event),
		done:    make(chan struct{}),
	}
	c.set.Store(&nodeSet{state: State{Service: service}})
	policy := resilience.NewPolicy(cfg.policy)
	inner := policy.Middleware()(c.call)
	c.endpoint = func(ctx context.Context, request any) (any, error) {
		if _, ok := ctx.Value(triesKey{c}).(*tries); !ok {
			// Each retry goes to an instance not tried yet.
			ctx = resilience.WithFailover(context.WithValue(ctx, triesKey{c}, &tries{}))
		}
		return inner(ctx, request)
	}
	c.wg.Add(1)
	go c.run()
	w.Register(c.events) // returns once run has taken the first state
	return c, nil
}

// Endpoint returns the endpoint that calls the service. Wrap it in further
// middlewares and adapt it with tailor.Call as any go-kit endpoint.
func (c *Client) Endpoint() endpoint.Endpoint { return c.endpoint }

// Instances returns the instances in rotation now.
func (c *Client) Instances() []Instance {
	set := c.set.Load()
	out := make([]Instance, len(set.nodes))
	for k, n := range set.nodes {
		out[k] = n.Instance()
	}
	return out
}

// Close stops the watch and closes every instance's connections. Calls
// after Close fail with [ErrStopped].
func (c *Client) Close() error {
	c.close.Do(func() {
		close(c.done)
		c.watch.Deregister(c.events)
		c.watch.Stop()
		c.wg.Wait()
		for _, n := range c.set.Load().nodes {
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
func (c *Client) update(st State) {
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
		n, err := c.newNode(inst)
		if errors.Is(err, ErrProtocol) {
			continue
		}
		if err != nil {
			c.cfg.logger.Warn("discovery: cannot call an instance; leaving it out", "service", c.service, "instance", inst.ID, "error", err)
			continue
		}
		c.cfg.logger.Info("discovery: instance joined", "service", c.service, "instance", inst.ID, "addr", inst.HostPort())
		next.byKey[key] = n
		next.nodes = append(next.nodes, n)
	}
	c.set.Store(next)
	for key, n := range old.byKey {
		if _, ok := next.byKey[key]; !ok {
			c.cfg.logger.Info("discovery: instance left", "service", c.service, "instance", n.Instance().ID, "addr", n.Instance().HostPort())
			n.retireNode()
		}
	}
	if st.Err != nil && st.Failures == 1 {
		c.cfg.logger.Warn("discovery: the registry cannot be reached; calling the last known instances",
			"service", c.service, "instances", len(st.Instances), "error", st.Err)
	}
}

func (c *Client) newNode(inst Instance) (*Node, error) {
	e, closer, err := c.factory(inst)
	if err != nil {
		return nil, err
	}
	n := &Node{closer: closer, epoch: c.epoch}
	n.inst.Store(&inst)
	name := c.service + "/" + inst.HostPort()
	n.breaker = resilience.NewBreaker(name, c.cfg.breaker,
		resilience.WithStateChange(func(sc resilience.StateChange) {
			n.open.Store(sc.To == resilience.StateOpen)
			if sc.To == resilience.StateOpen {
				n.reset()
				c.cfg.logger.Warn("discovery: instance ejected", "service", c.service, "instance", inst.ID, "addr", inst.HostPort(), "reason", sc.Reason)
			} else if sc.From == resilience.StateOpen || sc.From == resilience.StateHalfOpen {
				c.cfg.logger.Info("discovery: instance back in rotation", "service", c.service, "instance", inst.ID, "state", sc.To.String())
			}
		}))
	n.endpoint = n.breaker.Middleware()(e)
	return n, nil
}

// call is the innermost endpoint of the policy: one attempt on one node.
func (c *Client) call(ctx context.Context, request any) (any, error) {
	select {
	case <-c.ready:
	default:
		select {
		case <-c.ready:
		case <-c.done:
			return nil, ErrStopped
		case <-ctx.Done():
			return nil, fault.Wrap(ctx.Err(), fault.KindOf(ctx.Err()), fmt.Sprintf("discovery: gave up waiting for the first list of %q instances from the registry", c.service))
		}
	}
	select {
	case <-c.done:
		return nil, ErrStopped
	default:
	}
	set := c.set.Load()
	t, _ := ctx.Value(triesKey{c}).(*tries)
	var n *Node
	if t != nil {
		n = c.cfg.balancer.Pick(set.nodes, t.skip)
		if n == nil && t.count() > 0 {
			// Every healthy instance was tried: a repeat beats giving up.
			n = c.cfg.balancer.Pick(set.nodes, (*Node).Ejected)
		}
		if n != nil {
			t.add(n)
		}
	} else {
		n = c.cfg.balancer.Pick(set.nodes, (*Node).Ejected)
	}
	if n == nil {
		return nil, c.noInstance(set, t)
	}
	n.inFlight.Add(1)
	start := n.elapsed()
	response, err := n.endpoint(ctx, request)
	if !errors.Is(err, resilience.ErrOpen) {
		end := n.elapsed()
		n.observe(end, time.Duration(end-start), resilience.Classify(ctx, err) == resilience.OutcomeFailure)
	}
	if n.inFlight.Add(-1) == 0 && n.retired.Load() {
		n.closeNow()
	}
	return response, err
}

func (c *Client) noInstance(set *nodeSet, t *tries) error {
	e := &NoInstanceError{
		Service:    c.service,
		Registered: set.state.Registered,
		Healthy:    len(set.state.Instances),
		Err:        set.state.Err,
	}
	if e.Err != nil && !set.state.Updated.IsZero() {
		e.Stale = time.Since(set.state.Updated)
	}
	for _, n := range set.nodes {
		if n.Ejected() {
			e.Ejected++
		} else if t != nil && t.has(n) {
			e.Tried++
		}
	}
	return fault.Wrap(e, fault.Unavailable, e.Error())
}

type triesKey struct{ c *Client }

// tries records the nodes one call has tried, so a retry goes elsewhere.
// The first few fit without an allocation.
type tries struct {
	mu    sync.Mutex
	first [4]*Node
	nodes []*Node
}

func (t *tries) skip(n *Node) bool { return n.Ejected() || t.has(n) }

func (t *tries) has(n *Node) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Contains(t.nodes, n)
}

func (t *tries) add(n *Node) {
	t.mu.Lock()
	if t.nodes == nil {
		t.nodes = t.first[:0]
	}
	t.nodes = append(t.nodes, n)
	t.mu.Unlock()
}

func (t *tries) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.nodes)
}

func (n *Node) retireNode() {
	n.retired.Store(true)
	if n.inFlight.Load() == 0 {
		n.closeNow()
	}
}

func (n *Node) closeNow() {
	n.closeOnce.Do(func() {
		if n.closer != nil {
			_ = n.closer.Close()
		}
	})
}
