package consul

import (
	"context"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/go-kit/kit/sd"
	"github.com/hashicorp/consul/api"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/internal/watch"
)

// Compile-time checks that a watch meets both contracts.
var (
	_ discovery.Instancer = (*Instancer)(nil)
	_ sd.Instancer        = (*Instancer)(nil)
)

// Instancer is a watch of one service in Consul, made by
// [Registry.Resolve]. It implements go-kit's sd.Instancer and
// [discovery.Instancer]; it is safe for concurrent use.
type Instancer struct {
	r       *Registry
	service string
	cache   *watch.Cache
	ctx     context.Context
	cancel  context.CancelFunc
	stop    sync.Once
}

func newInstancer(r *Registry, service string) *Instancer {
	ctx, cancel := context.WithCancel(context.Background())
	return &Instancer{r: r, service: service, cache: watch.New(service), ctx: ctx, cancel: cancel}
}

// Register implements sd.Instancer: ch gets the current state at once and
// every change after.
func (w *Instancer) Register(ch chan<- sd.Event) { w.cache.Register(ch) }

// Deregister implements sd.Instancer.
func (w *Instancer) Deregister(ch chan<- sd.Event) { w.cache.Deregister(ch) }

// State returns the latest state of the service.
func (w *Instancer) State() discovery.State { return w.cache.State() }

// Stop ends the watch and its query in flight.
func (w *Instancer) Stop() {
	w.stop.Do(func() {
		w.cancel()
		w.cache.Stop()
		w.r.mu.Lock()
		delete(w.r.watches, w)
		w.r.mu.Unlock()
	})
}

// loop runs blocking queries until the watch stops. Its rules, after
// Consul's own advice for blocking queries:
//
//   - each query waits at most Config.Wait for a change past the last
//     index;
//   - an index lower than the last one (the agent restarted, or its raft
//     log was restored) resets the watch to index 0, and so does an index
//     of 0, which would make every query return at once;
//   - after a failed query the next one waits an exponential backoff with
//     jitter and starts from index 0, so an agent that came back with a
//     fresh state is read at once rather than after a full Wait;
//   - two queries start at least MinQueryInterval apart;
//   - a failure keeps the last known instances and sets the state's Err.
func (w *Instancer) loop() {
	cfg := w.r.cfg
	retry := &backoff.ExponentialBackOff{
		InitialInterval:     cfg.MinBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         cfg.MaxBackoff,
	}
	retry.Reset()
	var index uint64
	var outage time.Time
	for {
		start := time.Now()
		entries, next, err := w.r.api.health(w.ctx, w.service, index, cfg.Wait)
		if w.ctx.Err() != nil {
			return
		}
		if err != nil {
			st := w.cache.Fail(w.r.redact(err))
			if st.Failures == 1 {
				outage = start
				w.r.logger.Warn("consul: watch failed; serving the last known instances while retrying",
					"peer.service", w.service, "instances", len(st.Instances), "error", st.Err)
			}
			index = 0
			if sleep(w.ctx, retry.NextBackOff()) != nil {
				return
			}
			continue
		}
		retry.Reset()
		if !outage.IsZero() {
			w.r.logger.Info("consul: watch resumed", "peer.service", w.service, "down_for", time.Since(outage).Round(time.Millisecond).String())
			outage = time.Time{}
		}
		w.cache.Update(state(entries, time.Now()))
		// An index that went backwards restarts from 0; so does 0 itself.
		if next < index {
			next = 0
		}
		index = next
		if gap := cfg.MinQueryInterval - time.Since(start); gap > 0 {
			if sleep(w.ctx, gap) != nil {
				return
			}
		}
	}
}

// state turns a health answer into a State: Registered counts every
// entry, Instances those whose checks all pass.
func state(entries []*api.ServiceEntry, now time.Time) discovery.State {
	st := discovery.State{Registered: len(entries), Updated: now}
	for _, e := range entries {
		if e.Service == nil || e.Checks.AggregatedStatus() != api.HealthPassing {
			continue
		}
		st.Instances = append(st.Instances, instance(e))
	}
	return st
}
