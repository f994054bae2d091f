// Package dns finds a service's instances in DNS: SRV records, or the
// A/AAAA records of a name served on a known port, looked up again on an
// interval. It lets services run on Kubernetes, or behind any DNS-based
// registry, without a Consul agent.
//
// Start with [New]: a [Resolver] is a [discovery.Resolver], so it plugs
// into the call-by-name client of package
// [github.com/tailorkit/tailor/discovery/client] like the Consul and
// memory registries do:
//
//	reg, err := dns.New(dns.Config{})
//	...
//	inventory, err := client.New(reg, "inventory")
//
// DNS is read-only: a Resolver is not a [discovery.Registrar], and a
// service found through it registers nothing itself. On Kubernetes the
// platform registers pods: a headless Service (clusterIP: None) publishes
// one record per ready pod, and takes a pod out of DNS as soon as it is
// terminating or its readiness probe fails; point the probe at the
// service's /readyz, which fails as soon as the service starts draining.
// With the headless Service
//
//	apiVersion: v1
//	kind: Service
//	metadata: {name: inventory, namespace: shop}
//	spec:
//	  clusterIP: None
//	  selector: {app: inventory}
//	  ports: [{name: http, port: 8080}]
//
// the cluster's DNS serves the SRV records
// _http._tcp.inventory.shop.svc.cluster.local, one per ready pod, and
// inventory.shop.svc.cluster.local resolves to the ready pods' addresses.
//
// # Names
//
// [Config].Name maps the name callers use ("inventory") to what is looked
// up; by default the service name itself. What it returns picks the
// lookup:
//
//   - "host:port", such as "inventory.shop.svc.cluster.local:8080":
//     the A and AAAA records of host, each address an instance on port;
//   - a name whose first label starts with an underscore, such as
//     "_http._tcp.inventory.shop.svc.cluster.local": its SRV records,
//     each target's address an instance on the record's port;
//   - any other name, such as "inventory": the SRV records of
//     "_http._tcp." and the name, Kubernetes' record for a port named
//     "http". Inside the namespace the resolver's search list completes
//     "_http._tcp.inventory" to the Service's full name, so the zero
//     Config finds the Services of the caller's own namespace.
//
// Instances found through SRV records of a port named "grpc" (or
// "grpc-" and more, as Kubernetes and Istio name them) have Protocol
// [discovery.ProtocolGRPC]; every other instance has
// [discovery.ProtocolHTTP], so a gRPC service is found through the SRV
// records of its port. SRV priorities and weights are not used: every
// target is an instance, and the client's balancer spreads the calls.
//
// A port named "admin" (ports: [{name: http, port: 8080}, {name: admin,
// port: 9100}]) publishes each pod's admin listener as the SRV records
// _admin._tcp.<service>: a Resolver whose Name returns "_admin._tcp." +
// service finds them, each instance an admin listener, as `tailor dash
// --dns` does (see the observability/dashboard package's Hub).
//
// # Refresh
//
// A watch looks its name up at once and then every [Config].Refresh
// (default 5 s). Neither the watch nor Go's resolver caches answers, but
// the DNS server may: a change shows within the records' TTL (5 s for
// CoreDNS's Kubernetes records) plus Refresh. TTLs are not read, as
// net.Resolver does not report them. A name that does not exist (NXDOMAIN) or has no
// records is an answer: the service has no instances, and a client's
// calls fail saying that no instance of the service is registered. A
// lookup that fails (a timeout, a refused query, a server failure) keeps
// the last known instances, sets [discovery.State].Err, counts the failure
// in State.Failures, and is retried after an exponential backoff with
// jitter, from MinBackoff (default 500 ms) doubling up to MaxBackoff
// (default 30 s). [WithLogger] logs each outage and each name that turns
// up empty once.
//
// Lookups go through the system's resolver (/etc/resolv.conf), or the DNS
// server [Config].Server names, or a [net.Resolver] of one's own.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tailorkit/tailor/discovery"
)

// Compile-time check that a Resolver meets the contract.
var _ discovery.Resolver = (*Resolver)(nil)

// Defaults for the zero values of Config.
const (
	DefaultRefresh    = 5 * time.Second
	DefaultTimeout    = 5 * time.Second
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// Config configures a Resolver. The zero value looks up the SRV records
// "_http._tcp.<service>" through the system's resolver every 5 s; every
// field's default is in its doc.
type Config struct {
	// Name returns what to look up for a service: "host:port", an SRV
	// name such as "_http._tcp.orders.shop.svc.cluster.local", or a name
	// whose "_http._tcp." SRV records to look up (see the package doc).
	// Default: the service name itself.
	Name func(service string) string
	// Server is the DNS server to ask, "host:port", over UDP and over
	// TCP when an answer is truncated: "10.96.0.10:53". Default: the
	// servers of /etc/resolv.conf, through net.DefaultResolver.
	Server string
	// Resolver, when set, makes the lookups; Server must then be empty.
	Resolver *net.Resolver
	// Network picks the addresses: "ip" for IPv4 and IPv6, "ip4" or
	// "ip6" for one family. Default "ip". An SRV target becomes one
	// instance on the first of its addresses, in the order of RFC 6724.
	Network string
	// Refresh is the time between two lookups of a name. Default 5 s.
	Refresh time.Duration
	// Timeout bounds one refresh of a name, its SRV targets' lookups
	// included. Default 5 s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed lookup: it
	// doubles with each failure in a row, from MinBackoff up to
	// MaxBackoff, and is drawn between half and one and a half times that
	// (jitter), so many watchers do not retry in step. Defaults 500 ms
	// and 30 s.
	MinBackoff, MaxBackoff time.Duration
}

func (c Config) withDefaults() Config {
	if c.Name == nil {
		c.Name = func(service string) string { return service }
	}
	if c.Network == "" {
		c.Network = "ip"
	}
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	return c
}

// Option configures a Resolver. A nil Option is ignored.
type Option func(*Resolver)

// WithLogger makes the resolver log lookup outages and recoveries, and
// names that turn up without records, with the watched service under
// "peer.service" and the name looked up under "dns.name". Default: no
// logs.
func WithLogger(l *slog.Logger) Option {
	return func(r *Resolver) {
		if l != nil {
			r.logger = l
		}
	}
}

// Resolver watches services' instances in DNS. Build one with [New]; the
// zero value is not usable. It is safe for concurrent use. Close it, or
// Stop each watch, to stop the lookups.
type Resolver struct {
	cfg    Config
	lookup lookuper
	server string // what errors name as the server asked
	logger *slog.Logger

	mu      sync.Mutex
	watches map[*Instancer]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// New returns a resolver that looks names up as cfg says. It sends no
// query: a DNS server that cannot be reached shows in the watches'
// states. A nil Option is skipped.
func New(cfg Config, opts ...Option) (*Resolver, error) {
	if cfg.Server != "" && cfg.Resolver != nil {
		return nil, errors.New("dns: Config sets both Server and Resolver; set one (Server builds a resolver that asks that server)")
	}
	switch cfg.Network {
	case "", "ip", "ip4", "ip6":
	default:
		return nil, fmt.Errorf("dns: Config.Network is %q, want \"ip\", \"ip4\" or \"ip6\"", cfg.Network)
	}
	var (
		lookup lookuper = net.DefaultResolver
		server          = "the system's resolver (/etc/resolv.conf)"
	)
	switch {
	case cfg.Resolver != nil:
		lookup, server = cfg.Resolver, "Config.Resolver"
	case cfg.Server != "":
		host, port, err := net.SplitHostPort(cfg.Server)
		if err != nil {
			return nil, fmt.Errorf("dns: Config.Server %q is not host:port (%v); write it as \"10.96.0.10:53\"", cfg.Server, err)
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return nil, fmt.Errorf("dns: Config.Server %q must be an IP address and port, as in \"10.96.0.10:53\": a name would need a DNS server of its own to be found", cfg.Server)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("dns: Config.Server %q has port %q, want 1-65535", cfg.Server, port)
		}
		lookup, server = serverResolver(cfg.Server), cfg.Server
	}
	return newResolver(cfg, lookup, server, opts...), nil
}

func newResolver(cfg Config, l lookuper, server string, opts ...Option) *Resolver {
	r := &Resolver{
		cfg:     cfg.withDefaults(),
		lookup:  l,
		server:  server,
		logger:  slog.New(slog.DiscardHandler),
		watches: make(map[*Instancer]struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// serverResolver returns a Go resolver that sends every query to server,
// over the network the resolver asks for: UDP, or TCP for an answer that
// came back truncated.
func serverResolver(server string) *net.Resolver {
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		},
	}
}

// Resolve starts a watch of service's instances: it looks up the name
// [Config].Name gives for service at once and then every Refresh. It fails
// when that name is not one the package doc describes. The watch is an
// [*Instancer].
func (r *Resolver) Resolve(service string) (discovery.Instancer, error) {
	if service == "" {
		return nil, errors.New("dns: Resolve needs a service name")
	}
	t, err := parseTarget(service, r.cfg.Name(service))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, discovery.ErrStopped
	}
	w := newInstancer(r, service, t)
	r.watches[w] = struct{}{}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w.loop()
	}()
	return w, nil
}

// Close stops every watch and waits for their lookups to end. Resolve
// fails with [discovery.ErrStopped] after it.
func (r *Resolver) Close() error {
	r.mu.Lock()
	r.closed = true
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

// target is what a watch looks up: the SRV records of name, or the
// addresses of name on port.
type target struct {
	name     string
	srv      bool
	port     int                // when !srv
	protocol discovery.Protocol // when !srv; for SRV records it comes from the name
}

// parseTarget reads what Config.Name returned for service.
func parseTarget(service, name string) (target, error) {
	if name == "" {
		return target{}, fmt.Errorf("dns: Config.Name gives an empty name for %q; return a DNS name, or host:port", service)
	}
	if host, port, err := net.SplitHostPort(name); err == nil {
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return target{}, fmt.Errorf("dns: Config.Name gives %q for %q, whose port %q is not 1-65535", name, service, port)
		}
		if host == "" {
			return target{}, fmt.Errorf("dns: Config.Name gives %q for %q, with no host before the port", name, service)
		}
		return target{name: host, port: p, protocol: discovery.ProtocolHTTP}, nil
	}
	if strings.Contains(name, ":") {
		return target{}, fmt.Errorf("dns: Config.Name gives %q for %q, which is neither a DNS name nor host:port", name, service)
	}
	if !strings.HasPrefix(name, "_") {
		name = "_http._tcp." + name
	}
	return target{name: name, srv: true}, nil
}

// srvProtocol is the protocol of the instances an SRV name lists: gRPC
// for a port named "grpc" or "grpc-…", HTTP otherwise.
func srvProtocol(name string) discovery.Protocol {
	label, _, _ := strings.Cut(name, ".")
	label = strings.TrimPrefix(label, "_")
	if label == "grpc" || strings.HasPrefix(label, "grpc-") {
		return discovery.ProtocolGRPC
	}
	return discovery.ProtocolHTTP
}
