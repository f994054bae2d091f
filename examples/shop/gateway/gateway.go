package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/openapi"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The names the gateway finds the shop's services by in the registry.
const (
	UsersService     = "users"
	CatalogService   = "catalog"
	InventoryService = "inventory"
	StatsService     = "stats"
	ReviewsService   = "reviews"
	PaymentsService  = "payments"
	OrdersService    = "orders"
)

// routes are the public routes, each with the service it is passed to;
// the product page, which the gateway builds itself, has none. The
// services' other routes (the inventory's and payments' /internal ones)
// are not reachable from outside. keyed marks the routes whose service
// de-duplicates requests by their Idempotency-Key.
var routes = []struct {
	pattern, service string
	keyed            bool
}{
	{"POST /v1/users", UsersService, false},
	{"POST /v1/sessions", UsersService, false},
	{"GET /v1/users/me", UsersService, false},
	{"GET /v1/products", CatalogService, false},
	{"POST /v1/products", CatalogService, false},
	{productPageRoute, "", false},
	{"GET /v1/products/{id}/reviews", ReviewsService, false},
	{"POST /v1/products/{id}/reviews", ReviewsService, false},
	{"POST /v1/orders", OrdersService, true},
	{"GET /v1/orders", OrdersService, false},
	{"GET /v1/orders/{id}", OrdersService, false},
	{"PUT /v1/admin/stock/{product_id}", InventoryService, false},
	{"GET /v1/admin/payments", PaymentsService, false},
	{"GET /v1/admin/payments/faults", PaymentsService, false},
	{"PUT /v1/admin/payments/faults", PaymentsService, false},
	{"GET /v1/stats", StatsService, false},
}

// Defaults of [Config].
const (
	// DefaultTimeout bounds each call to a service, retries included.
	DefaultTimeout = 5 * time.Second
	// DefaultIPRate is the per-IP rate limit, in requests a second; its
	// bursts are of twice as many.
	DefaultIPRate = 20
	// DefaultUserRate is the per-user rate limit, in requests a second; its
	// bursts are of twice as many.
	DefaultUserRate = 10
	// DefaultMaxBodyBytes bounds a request body: 1 MiB.
	DefaultMaxBodyBytes = thttp.DefaultMaxBodyBytes
	// MaxResponseBytes bounds the answer the gateway reads from a service:
	// 8 MiB. A longer one is a failure of that service.
	MaxResponseBytes = 8 << 20
)

// Config configures a [Gateway]. Resolver and Verifier are required; every
// other field has a default, written beside it.
type Config struct {
	// Resolver finds the services' instances by name: the in-process
	// registry (discovery/memory) or Consul.
	Resolver discovery.Resolver
	// Verifier checks the bearer tokens the users service issues: an
	// auth.Verifier for users.Issuer and users.Audience over the users
	// service's Signer in one process, or over auth.NewRemoteKeys at its
	// users.JWKSPath. A request with a token it refuses is answered 401
	// before any service is called; a request without a token passes on,
	// anonymous.
	Verifier *auth.Verifier
	// Telemetry observes the calls to the services (spans, trace context
	// sent on, metrics of each client, breaker and retry). Nil observes
	// nothing.
	Telemetry *observability.Telemetry
	// Logger receives what the gateway notices: services that fail, and
	// answers it cannot read. Default: Telemetry's logger, or none.
	Logger *slog.Logger

	// Timeout bounds each call to a service, retries included. Default
	// [DefaultTimeout].
	Timeout time.Duration
	// InstanceBreaker configures the circuit breaker of each instance of
	// each service. Default: resilience's zero BreakerConfig, which ejects
	// an instance after 5 failures in a row (or half of 20 calls in 10 s)
	// and probes it again after 5 s.
	InstanceBreaker resilience.BreakerConfig

	// PerIP limits the requests of each client IP address. A zero Rate
	// means [DefaultIPRate] (20 a second), a zero Burst twice the Rate
	// (40), and a negative Rate turns the limit off. MaxKeys and
	// IdleTimeout default as in resilience.RateLimitConfig.
	PerIP resilience.RateLimitConfig
	// PerUser limits the requests of each authenticated user (the verified
	// token's subject), on top of PerIP. A zero Rate means
	// [DefaultUserRate] (10 a second), a zero Burst twice the Rate (20),
	// and a negative Rate turns the limit off.
	PerUser resilience.RateLimitConfig
	// TrustedProxies are the networks of proxies in front of the gateway
	// whose X-Forwarded-For header it believes. A request from one of them
	// is counted against the last address of X-Forwarded-For that is not a
	// trusted proxy. Default none: the client IP is always the TCP peer's,
	// so a client cannot choose its own bucket.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes bounds a request's body; a longer one is answered 413
	// before any service is called. Default [DefaultMaxBodyBytes].
	MaxBodyBytes int64

	// Docs are the services' OpenAPI documents (made with their
	// DescribeHTTP functions). The gateway merges the operations it serves
	// into one public document, served at GET /openapi.json, with its own
	// product page in place of the catalog's GET /v1/products/{id}. A route
	// that no document describes is left out of it, and logged at New.
	Docs []*openapi.Document
}

// Gateway is the shop's one public entry: it serves the public routes
// (see the package doc) by calling the services found in the registry.
// Build one with [New], serve it with [Gateway.Register] and [Close] it
// when done. It is safe for concurrent use.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	maxBody int64
	trusted []netip.Prefix
	perIP   *resilience.RateLimiter // nil when off
	perUser *resilience.RateLimiter // nil when off
	doc     *openapi.Document

	clients map[string]*client.Client    // by service name
	call    map[string]endpoint.Endpoint // by service name
}

// New returns a gateway for cfg. It starts watching the seven services in
// cfg.Resolver; none has to be running yet.
func New(cfg Config) (*Gateway, error) {
	switch {
	case cfg.Resolver == nil:
		return nil, errors.New("gateway: Config.Resolver is required; pass the registry the services register in (memory.New, consul.New)")
	case cfg.Verifier == nil:
		return nil, errors.New("gateway: Config.Verifier is required; pass an auth.Verifier for the tokens the users service issues")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("gateway: Config.Timeout is %v; give a positive duration, or 0 for %v", cfg.Timeout, DefaultTimeout)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("gateway: Config.MaxBodyBytes is %d; give a positive size, or 0 for %d", cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	g := &Gateway{cfg: cfg, maxBody: cfg.MaxBodyBytes, trusted: cfg.TrustedProxies,
		clients: map[string]*client.Client{}, call: map[string]endpoint.Endpoint{}}
	if g.maxBody == 0 {
		g.maxBody = DefaultMaxBodyBytes
	}
	switch {
	case cfg.Logger != nil:
		g.log = cfg.Logger
	case cfg.Telemetry != nil:
		g.log = cfg.Telemetry.Logger()
	default:
		g.log = slog.New(slog.DiscardHandler)
	}
	g.perIP = newLimiter("gateway per IP", cfg.PerIP, DefaultIPRate)
	g.perUser = newLimiter("gateway per user", cfg.PerUser, DefaultUserRate)

	doc, undocumented, err := mergeDocs(cfg.Docs)
	if err != nil {
		return nil, err
	}
	for _, route := range undocumented {
		g.log.Warn("gateway: no document describes a route; it is left out of /openapi.json", "route", route)
	}
	g.doc = doc

	h := &http.Client{
		Transport: thttp.NewTransport(),
		// A redirect is the service's answer, for the client to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	opts := []kithttp.ClientOption{kithttp.SetClient(h)}
	if cfg.Telemetry != nil {
		opts = append(opts, cfg.Telemetry.HTTPClientOptions()...)
	}
	policy := resilience.PolicyConfig{Timeout: cfg.Timeout, Retry: &resilience.RetryConfig{}}
	for _, name := range []string{UsersService, CatalogService, InventoryService, OrdersService, PaymentsService, ReviewsService, StatsService} {
		c, err := client.New(cfg.Resolver, name,
			client.WithPolicy(policy),
			client.WithInstanceBreaker(cfg.InstanceBreaker),
			client.WithTelemetry(cfg.Telemetry))
		if err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("gateway: watching %q: %w", name, err)
		}
		g.clients[name] = c
		g.call[name] = c.Endpoint(forward(name, opts))
	}
	return g, nil
}

// newLimiter builds the limiter cfg describes, with rate as its default
// rate and bursts of twice the rate, or nil when cfg turns it off.
func newLimiter(name string, cfg resilience.RateLimitConfig, rate float64) *resilience.RateLimiter {
	if cfg.Rate < 0 {
		return nil
	}
	if cfg.Rate == 0 {
		cfg.Rate = rate
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Ceil(2*cfg.Rate)))
	}
	return resilience.NewRateLimiter(name, cfg)
}

// Register serves the gateway's routes on r (see the package doc). Every
// route is rate limited and has its bearer token verified before it calls
// a service.
func (g *Gateway) Register(r *thttp.Router) {
	for _, route := range routes {
		h := http.HandlerFunc(g.productPage)
		if route.service != "" {
			h = g.proxy(route.service, route.keyed).ServeHTTP
		}
		r.Handle(route.pattern, g.admit(h))
	}
	r.Handle("GET /openapi.json", g.admit(g.doc.Handler()))
}

// Document returns the public OpenAPI document the gateway serves at
// GET /openapi.json.
func (g *Gateway) Document() *openapi.Document { return g.doc }

// Close stops watching the services and closes their connections. Calls
// after Close are answered 503.
func (g *Gateway) Close() error {
	var errs []error
	for _, c := range g.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
