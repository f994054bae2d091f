package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/internal/watch"
)

// Compile-time checks that a watch meets both contracts.
var (
	_ discovery.Instancer = (*Instancer)(nil)
	_ sd.Instancer        = (*Instancer)(nil)
)

// lookuper is the part of net.Resolver a watch uses, so tests can stand
// in for it.
type lookuper interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Instancer is a watch of one service in DNS, made by [Resolver.Resolve].
// It implements go-kit's sd.Instancer and [discovery.Instancer]; it is
// safe for concurrent use. Its state is empty, with a zero Updated, until
// the first lookup ends.
type Instancer struct {
	r       *Resolver
	service string
	target  target
	cache   *watch.Cache
	ctx     context.Context
	cancel  context.CancelFunc
	stop    sync.Once
}

func newInstancer(r *Resolver, service string, t target) *Instancer {
	ctx, cancel := context.WithCancel(context.Background())
	return &Instancer{r: r, service: service, target: t, cache: watch.New(service), ctx: ctx, cancel: cancel}
}

// Register implements sd.Instancer: ch gets the current state at once and
// every change after.
func (w *Instancer) Register(ch chan<- sd.Event) { w.cache.Register(ch) }

// Deregister implements sd.Instancer.
func (w *Instancer) Deregister(ch chan<- sd.Event) { w.cache.Deregister(ch) }

// State returns the latest state of the service.
func (w *Instancer) State() discovery.State { return w.cache.State() }

// Stop ends the watch and its lookup in flight. State keeps working.
func (w *Instancer) Stop() {
	w.stop.Do(func() {
		w.cancel()
		w.cache.Stop()
		w.r.mu.Lock()
		delete(w.r.watches, w)
		w.r.mu.Unlock()
	})
}

// loop looks the target up until the watch stops: every Refresh after an
// answer, after a backoff with jitter after a failure. A failure keeps the
// last known instances and sets the state's Err.
func (w *Instancer) loop() {
	cfg := w.r.cfg
	retry := &backoff.ExponentialBackOff{
		InitialInterval:     cfg.MinBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         cfg.MaxBackoff,
	}
	retry.Reset()
	var outage time.Time
	empty := false
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(w.ctx, cfg.Timeout)
		insts, err := w.resolve(ctx)
		cancel()
		if w.ctx.Err() != nil {
			return
		}
		wait := cfg.Refresh
		if err != nil {
			st := w.cache.Fail(err)
			if st.Failures == 1 {
				outage = start
				w.r.logger.Warn("dns: lookup failed; serving the last known instances while retrying",
					"peer.service", w.service, "dns.name", w.target.name, "instances", len(st.Instances), "error", err)
			}
			wait = retry.NextBackOff()
		} else {
			retry.Reset()
			if !outage.IsZero() {
				w.r.logger.Info("dns: lookups answered again", "peer.service", w.service, "dns.name", w.target.name,
					"down_for", time.Since(outage).Round(time.Millisecond).String())
				outage = time.Time{}
			}
			if len(insts) == 0 && !empty {
				w.r.logger.Warn("dns: the name has no records; the service has no instances until they appear",
					"peer.service", w.service, "dns.name", w.target.name)
			}
			empty = len(insts) == 0
			w.cache.Update(discovery.State{Instances: insts, Registered: len(insts), Updated: time.Now()})
		}
		if sleep(w.ctx, wait) != nil {
			return
		}
	}
}

// resolve looks the target up once. A name that does not exist or has no
// records gives no instances and no error.
func (w *Instancer) resolve(ctx context.Context) ([]discovery.Instance, error) {
	t, r := w.target, w.r
	found := make(map[string]discovery.Instance)
	add := func(addr netip.Addr, port int, protocol discovery.Protocol) {
		inst := discovery.Instance{Service: w.service, Address: addr.Unmap().String(), Port: port, Protocol: protocol}
		inst.ID = discovery.DefaultID(inst)
		found[inst.ID] = inst
	}
	if !t.srv {
		addrs, err := r.lookup.LookupNetIP(ctx, r.cfg.Network, t.name)
		if err != nil && !notFound(err) {
			return nil, r.lookupError("the addresses of", t.name, err)
		}
		for _, a := range addrs {
			add(a, t.port, t.protocol)
		}
		return instances(found), nil
	}
	_, records, err := r.lookup.LookupSRV(ctx, "", "", t.name)
	switch {
	case notFound(err):
		return nil, nil
	case err != nil && len(records) == 0:
		return nil, r.lookupError("the SRV records of", t.name, err)
	}
	// An error with records means some records had invalid targets: the
	// resolver left those out and the rest are good.
	protocol := srvProtocol(t.name)
	for _, rec := range records {
		if rec.Port == 0 || rec.Target == "." || rec.Target == "" {
			continue // "." says the service is not offered there (RFC 2782)
		}
		addrs, err := r.lookup.LookupNetIP(ctx, r.cfg.Network, rec.Target)
		if err != nil && !notFound(err) {
			return nil, r.lookupError("the addresses of", rec.Target, err)
		}
		if len(addrs) > 0 { // a target that is gone already is left out
			add(addrs[0], int(rec.Port), protocol)
		}
	}
	return instances(found), nil
}

func instances(found map[string]discovery.Instance) []discovery.Instance {
	out := make([]discovery.Instance, 0, len(found))
	for _, inst := range found {
		out = append(out, inst)
	}
	return out
}

// notFound reports whether err says the name has no records of the type
// asked: it does not exist (NXDOMAIN), or exists without them.
func notFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

func (r *Resolver) lookupError(what, name string, err error) error {
	return fmt.Errorf("dns: looking up %s %q: %w; is the DNS server (%s) up and reachable?", what, name, err, r.server)
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
