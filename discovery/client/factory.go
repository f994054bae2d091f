package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor/discovery"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// ErrProtocol is wrapped by the errors of [HTTPFactory] and [GRPCFactory]
// factories given an instance of the other protocol. A [Client] leaves
// such instances out of that route quietly, so a service may register its
// HTTP and gRPC listeners under one name and each route calls the ones it
// speaks.
var ErrProtocol = errors.New("client: wrong protocol")

// Factory makes the transport endpoint that calls one route on one
// instance, and optionally a Closer the [Client] closes once the instance
// has left and its calls have finished. It is go-kit's sd.Factory given
// the whole [discovery.Instance] rather than "host:port". Build one with
// [HTTPFactory] or [GRPCFactory], or write one; a factory that returns an
// error wrapping [ErrProtocol] leaves the instance out of its route.
type Factory func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error)

// HTTPFactory returns a Factory of HTTP client endpoints (transport/http's
// NewClient) that call method on "http://host:port" + pattern of each
// instance.
//
// pattern is a path, optionally with wildcard segments as in net/http's
// ServeMux patterns: "/v1/stock/{sku}", "/files/{path...}" (the rest of
// the path, slashes kept) and a final "{$}" (a trailing slash). enc fills
// them with r.SetPathValue("sku", v), and may set the query
// (r.URL.RawQuery), headers and body; after enc the factory puts each
// value, path-escaped, in place of its segment. A wildcard enc left empty
// is an error that names it.
//
// Each HTTPFactory call makes one connection pool (an http.Client on
// transport/http's NewTransport) that the endpoints it makes for every
// instance share; routes made by separate calls do not share it. To share
// one pool across routes, pass the same client to each with go-kit's
// SetClient.
func HTTPFactory(method, pattern string, enc kithttp.EncodeRequestFunc, dec kithttp.DecodeResponseFunc, opts ...kithttp.ClientOption) Factory {
	opts = append([]kithttp.ClientOption{kithttp.SetClient(&http.Client{Transport: thttp.NewTransport()})}, opts...)
	names := pathNames(pattern)
	if len(names) > 0 {
		enc = fillPath(pattern, names, enc)
	}
	return func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		if inst.Protocol == discovery.ProtocolGRPC {
			return nil, nil, fmt.Errorf("%w: instance %q of %q speaks gRPC; call it with client.GRPCFactory", ErrProtocol, inst.ID, inst.Service)
		}
		e, err := thttp.NewClient(method, "http://"+inst.HostPort()+pattern, enc, dec, opts...)
		return e, nil, err
	}
}

// pathNames returns the names of pattern's wildcards, in order.
func pathNames(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if name, ok := wildcard(seg); ok {
			names = append(names, name)
		}
	}
	return names
}

// wildcard returns the name of a "{name}" or "{name...}" segment, "$" for
// "{$}", and whether seg is a wildcard at all.
func wildcard(seg string) (string, bool) {
	if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' {
		return "", false
	}
	return strings.TrimSuffix(seg[1:len(seg)-1], "..."), true
}

// fillPath wraps enc so that, after it ran, the request's path has each
// {name} segment of pattern replaced with the path value enc set.
func fillPath(pattern string, names []string, enc kithttp.EncodeRequestFunc) kithttp.EncodeRequestFunc {
	segs := strings.Split(pattern, "/")
	return func(ctx context.Context, r *http.Request, request any) error {
		if err := enc(ctx, r, request); err != nil {
			return err
		}
		raw := make([]string, len(segs))
		plain := make([]string, len(segs))
		for k, seg := range segs {
			raw[k], plain[k] = seg, seg
			name, ok := wildcard(seg)
			switch {
			case !ok:
				continue
			case name == "$":
				raw[k], plain[k] = "", ""
				continue
			}
			v := r.PathValue(name)
			if v == "" {
				return fmt.Errorf("client: the request encoder left %s of %q empty; set it with r.SetPathValue(%q, value)", seg, pattern, name)
			}
			raw[k], plain[k] = url.PathEscape(v), v
			if strings.HasSuffix(seg, "...}") {
				parts := strings.Split(v, "/")
				for p := range parts {
					parts[p] = url.PathEscape(parts[p])
				}
				raw[k] = strings.Join(parts, "/")
			}
		}
		r.URL.Path = strings.Join(plain, "/")
		r.URL.RawPath = strings.Join(raw, "/")
		return nil
	}
}

// GRPCFactory returns a Factory that opens a connection to each instance
// with transport/grpc's NewConn and opts, and makes its endpoint with
// newEndpoint, typically a closure over transport/grpc's NewClient. The
// connection is closed once the instance has left. Each GRPCFactory dials
// connections of its own; routes that should share one connection per
// instance take their factories from one [GRPCConns].
func GRPCFactory(newEndpoint func(cc *grpc.ClientConn) (endpoint.Endpoint, error), opts ...grpc.DialOption) Factory {
	return NewGRPCConns(opts...).Factory(newEndpoint)
}

// GRPCConns dials each gRPC instance once and shares the connection among
// the routes whose factories it makes, so several methods of one service
// multiplex on one connection per instance. A connection is closed when
// the last route using it lets the instance go. Build one with
// [NewGRPCConns]; the zero value is not usable. It is safe for concurrent
// use.
type GRPCConns struct {
	opts  []grpc.DialOption
	mu    sync.Mutex
	conns map[string]*sharedConn // by instance ID and address
}

type sharedConn struct {
	cc   *grpc.ClientConn
	refs int
}

// NewGRPCConns returns a pool that dials instances with transport/grpc's
// NewConn and opts.
func NewGRPCConns(opts ...grpc.DialOption) *GRPCConns {
	return &GRPCConns{opts: opts, conns: make(map[string]*sharedConn)}
}

// Factory returns a Factory whose endpoints newEndpoint makes on the
// pool's connection to each instance. It refuses instances that do not
// speak gRPC with [ErrProtocol], and passes on newEndpoint's error (such
// as transport/grpc's NewClient refusing a malformed method name).
func (p *GRPCConns) Factory(newEndpoint func(cc *grpc.ClientConn) (endpoint.Endpoint, error)) Factory {
	return func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		if inst.Protocol != discovery.ProtocolGRPC {
			return nil, nil, fmt.Errorf("%w: instance %q of %q speaks %s, not gRPC; register it with Protocol: discovery.ProtocolGRPC or call it with client.HTTPFactory", ErrProtocol, inst.ID, inst.Service, protocolOf(inst))
		}
		key := inst.ID + "\x00" + inst.HostPort()
		p.mu.Lock()
		defer p.mu.Unlock()
		sc, ok := p.conns[key]
		if !ok {
			cc, err := tgrpc.NewConn(inst.HostPort(), p.opts...)
			if err != nil {
				return nil, nil, err
			}
			sc = &sharedConn{cc: cc}
			p.conns[key] = sc
		}
		e, err := newEndpoint(sc.cc)
		if err != nil {
			if sc.refs == 0 {
				delete(p.conns, key)
				_ = sc.cc.Close()
			}
			return nil, nil, err
		}
		sc.refs++
		return e, &connRef{p: p, key: key}, nil
	}
}

// connRef is one route's hold on a shared connection.
type connRef struct {
	p    *GRPCConns
	key  string
	once sync.Once
}

// Close lets go of the connection, closing it when no route holds it.
func (r *connRef) Close() error {
	var err error
	r.once.Do(func() {
		r.p.mu.Lock()
		defer r.p.mu.Unlock()
		sc := r.p.conns[r.key]
		if sc.refs--; sc.refs == 0 {
			delete(r.p.conns, r.key)
			err = sc.cc.Close()
		}
	})
	return err
}

func protocolOf(inst discovery.Instance) discovery.Protocol {
	if inst.Protocol == "" {
		return discovery.ProtocolHTTP
	}
	return inst.Protocol
}
