package observability

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/tailorkit/tailor/resilience"
)

// live is what a Telemetry knows of the service's live parts, for an
// operator to look at: the breakers and the clients' instances that
// packages track with it, and who watches breaker state changes.
type live struct {
	mu        sync.Mutex
	next      uint64
	breakers  map[uint64]*resilience.Breaker
	instances map[uint64]instanceSource
	watchers  map[uint64]func(resilience.StateChange)
}

type instanceSource struct {
	service string
	list    func() []InstanceStatus
}

// InstanceStatus is what a client knows of one instance of the service
// it calls.
type InstanceStatus struct {
	ID       string        // the instance's ID in its registry
	Addr     string        // host:port
	Version  string        // the version it registered; "" when it did not say
	Ejected  bool          // out of rotation: its breaker is open, or it could not be reached
	InFlight int           // calls it is serving for this client now
	Latency  time.Duration // the client's latency estimate; 0 before any answer
}

// ServiceInstances are the instances of one callee.
type ServiceInstances struct {
	Service   string
	Instances []InstanceStatus
}

// add stores v under a fresh id in *m and returns a func that removes it.
func add[V any](l *live, m *map[uint64]V, v V) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *m == nil {
		*m = map[uint64]V{}
	}
	l.next++
	id := l.next
	(*m)[id] = v
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(*m, id)
			l.mu.Unlock()
		})
	}
}

// TrackBreaker lists b among the service's breakers (see
// [Telemetry.Breakers]) until the returned func is called; call it when b
// is no longer used. Calling it again does nothing.
func (in *Telemetry) TrackBreaker(b *resilience.Breaker) (untrack func()) {
	return add(&in.live, &in.live.breakers, b)
}

// Breakers returns the breakers tracked now, by name. Two tracked
// breakers may share a name.
func (in *Telemetry) Breakers() []*resilience.Breaker {
	in.live.mu.Lock()
	bs := make([]*resilience.Breaker, 0, len(in.live.breakers))
	for _, b := range in.live.breakers {
		bs = append(bs, b)
	}
	in.live.mu.Unlock()
	slices.SortFunc(bs, func(a, b *resilience.Breaker) int { return cmp.Compare(a.Name(), b.Name()) })
	return bs
}

// TrackInstances lists the instances of service that list returns among
// those the service calls (see [Telemetry.Instances]) until the returned
// func is called. list is called by Instances and must be safe for
// concurrent use.
func (in *Telemetry) TrackInstances(service string, list func() []InstanceStatus) (untrack func()) {
	return add(&in.live, &in.live.instances, instanceSource{service, list})
}

// Instances returns, by service, the instances of every service tracked
// with [Telemetry.TrackInstances], by address.
func (in *Telemetry) Instances() []ServiceInstances {
	in.live.mu.Lock()
	srcs := make([]instanceSource, 0, len(in.live.instances))
	for _, s := range in.live.instances {
		srcs = append(srcs, s)
	}
	in.live.mu.Unlock()
	out := make([]ServiceInstances, 0, len(srcs))
	for _, s := range srcs {
		is := s.list()
		slices.SortFunc(is, func(a, b InstanceStatus) int { return cmp.Compare(a.Addr, b.Addr) })
		out = append(out, ServiceInstances{Service: s.service, Instances: is})
	}
	slices.SortStableFunc(out, func(a, b ServiceInstances) int { return cmp.Compare(a.Service, b.Service) })
	return out
}

// WatchBreakers calls f with every state change given to
// [Telemetry.BreakerStateChange] until the returned func is called. f
// runs on the caller's goroutine, a breaker's, so it must not block.
func (in *Telemetry) WatchBreakers(f func(resilience.StateChange)) (stop func()) {
	return add(&in.live, &in.live.watchers, f)
}

func (in *Telemetry) notifyWatchers(e resilience.StateChange) {
	in.live.mu.Lock()
	if len(in.live.watchers) == 0 {
		in.live.mu.Unlock()
		return
	}
	fs := make([]func(resilience.StateChange), 0, len(in.live.watchers))
	for _, f := range in.live.watchers {
		fs = append(fs, f)
	}
	in.live.mu.Unlock()
	for _, f := range fs {
		f(e)
	}
}
