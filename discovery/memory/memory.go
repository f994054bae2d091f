// Package memory is an in-process service registry with the same contract
// as the Consul backend: register and deregister instances, mark them
// failing or passing as a health check would, and watch a service's healthy
// instances through go-kit's sd.Instancer.
//
// It serves programs that run several services in one process (the example
// shop's default) and tests. Start with [New]; a [Registry] is both a
// [discovery.Registrar] and a [discovery.Resolver].
package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/internal/watch"
)

// Compile-time checks that the registry and its watches meet the contracts.
var (
	_ discovery.Registrar = (*Registry)(nil)
	_ discovery.Resolver  = (*Registry)(nil)
	_ discovery.Instancer = (*Instancer)(nil)
	_ sd.Instancer        = (*Instancer)(nil)
)

// Registry is an in-process registry. Build one with [New]; the zero value
// is not usable. It is safe for concurrent use.
type Registry struct {
	mu       sync.Mutex
	entries  map[string]*entry // by instance ID
	watchers map[string]map[*Instancer]struct{}
}

type entry struct {
	inst    discovery.Instance
	failing bool
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		entries:  make(map[string]*entry),
		watchers: make(map[string]map[*Instancer]struct{}),
	}
}

// Register adds inst as passing, or replaces the instance with its ID
// (keeping whether it was failing). An empty Address becomes 127.0.0.1.
func (r *Registry) Register(ctx context.Context, inst discovery.Instance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := inst.Validate(); err != nil {
		return err
	}
	if inst.Address == "" {
		inst.Address = "127.0.0.1"
	}
	inst.Tags = slices.Clone(inst.Tags)
	inst.Meta = maps.Clone(inst.Meta)
	if inst.Protocol == "" {
		inst.Protocol = discovery.ProtocolHTTP
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[inst.ID]
	if ok && e.inst.Service != inst.Service {
		old := e.inst.Service
		delete(r.entries, inst.ID)
		r.notify(old)
	}
	if !ok {
		e = &entry{}
	}
	e.inst = inst
	r.entries[inst.ID] = e
	r.notify(inst.Service)
	return nil
}

// Deregister removes the instance with inst's ID.
func (r *Registry) Deregister(ctx context.Context, inst discovery.Instance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[inst.ID]
	if !ok {
		return nil
	}
	delete(r.entries, inst.ID)
	r.notify(e.inst.Service)
	return nil
}

// SetFailing marks the instance with the given ID as failing its health
// check (true) or passing it (false), as Consul's checks would. Failing
// instances stay registered but leave every watch.
func (r *Registry) SetFailing(id string, failing bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[id]
	if !ok {
		return fmt.Errorf("memory: no instance %q is registered; register it first", id)
	}
	if e.failing != failing {
		e.failing = failing
		r.notify(e.inst.Service)
	}
	return nil
}

// Resolve starts a watch of service's healthy instances. Its first state
// is there at once.
// The watch is an [*Instancer].
func (r *Registry) Resolve(service string) (discovery.Instancer, error) {
	if service == "" {
		return nil, fmt.Errorf("memory: Resolve needs a service name")
	}
	w := &Instancer{cache: watch.New(service), r: r, service: service}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watchers[service] == nil {
		r.watchers[service] = make(map[*Instancer]struct{})
	}
	r.watchers[service][w] = struct{}{}
	w.cache.Update(r.stateLocked(service))
	return w, nil
}

// stateLocked is service's state; r.mu must be held.
func (r *Registry) stateLocked(service string) discovery.State {
	st := discovery.State{Service: service, Updated: time.Now()}
	for _, e := range r.entries {
		if e.inst.Service != service {
			continue
		}
		st.Registered++
		if !e.failing {
			inst := e.inst
			inst.Tags = slices.Clone(inst.Tags)
			inst.Meta = maps.Clone(inst.Meta)
			st.Instances = append(st.Instances, inst)
		}
	}
	return st
}

// notify updates service's watches; r.mu must be held. Watches send to
// their subscribers on their own goroutine, in order.
func (r *Registry) notify(service string) {
	if len(r.watchers[service]) == 0 {
		return
	}
	st := r.stateLocked(service)
	for w := range r.watchers[service] {
		w.push(st)
	}
}

// Instancer is a watch of one service in a Registry. It implements
// go-kit's sd.Instancer and [discovery.Instancer]; it is safe for
// concurrent use. Its State changes as soon as the registry does; its
// subscribers hear of it on the watch's own goroutine, in order.
type Instancer struct {
	cache   *watch.Cache
	r       *Registry
	service string
}

// push stores st; the cache notifies subscribers on its own goroutine, so
// the registry's lock is never held while a subscriber is slow to read.
func (w *Instancer) push(st discovery.State) { w.cache.Update(st) }

// Register implements sd.Instancer: ch gets the current state at once and
// every change after.
func (w *Instancer) Register(ch chan<- sd.Event) { w.cache.Register(ch) }

// Deregister implements sd.Instancer.
func (w *Instancer) Deregister(ch chan<- sd.Event) { w.cache.Deregister(ch) }

// State returns the latest state of the service.
func (w *Instancer) State() discovery.State { return w.cache.State() }

// Stop ends the watch: no further states are sent.
func (w *Instancer) Stop() {
	w.cache.Stop()
	w.r.mu.Lock()
	delete(w.r.watchers[w.service], w)
	w.r.mu.Unlock()
}
