// Package watch holds the state of one service watch and fans it out to
// go-kit subscribers. The discovery backends feed it.
package watch

import (
	"slices"
	"strings"
	"sync"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
)

// Cache is the latest State of a watch and its subscribers. It implements
// discovery.Instancer except Stop, which the backend provides. It is safe
// for concurrent use.
type Cache struct {
	sendMu sync.Mutex // serialises sends, so subscribers see states in order

	mu    sync.Mutex
	state discovery.State
	subs  map[chan<- sd.Event]chan struct{} // closed on Deregister
}

// New returns a cache for service, empty until the first Update.
func New(service string) *Cache {
	return &Cache{
		state: discovery.State{Service: service},
		subs:  make(map[chan<- sd.Event]chan struct{}),
	}
}

// State returns the latest state.
func (c *Cache) State() discovery.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Update stores a successful answer from the registry: the healthy
// instances and how many are registered. It notifies subscribers when the
// answer differs from the last one.
func (c *Cache) Update(st discovery.State) {
	if c.Set(st) {
		c.Broadcast()
	}
}

// Set is Update without the notification: it stores st and reports
// whether subscribers need to hear of it, so a backend can store under its
// own lock and notify (Broadcast) outside it.
func (c *Cache) Set(st discovery.State) bool {
	st.Instances = slices.Clone(st.Instances)
	slices.SortFunc(st.Instances, func(a, b discovery.Instance) int { return strings.Compare(a.ID, b.ID) })
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Service = c.state.Service
	st.Err, st.Failures = nil, 0
	return c.store(st)
}

// Fail records a failed query: the instances stay as they were, Err is
// set and Failures grows. It returns the new state.
func (c *Cache) Fail(err error) discovery.State {
	c.mu.Lock()
	st := c.state
	st.Err = err
	st.Failures++
	changed := c.store(st)
	c.mu.Unlock()
	if changed {
		c.Broadcast()
	}
	return st
}

// store stores st and reports whether it differs from the last state in
// what subscribers act on; c.mu must be held.
func (c *Cache) store(st discovery.State) bool {
	old := c.state
	c.state = st
	return !old.Equal(st) || (old.Updated.IsZero() && !st.Updated.IsZero())
}

// Broadcast sends the current state to every subscriber, in order with
// other broadcasts.
func (c *Cache) Broadcast() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	ev := c.state.Event()
	subs := make([]struct {
		ch   chan<- sd.Event
		done chan struct{}
	}, 0, len(c.subs))
	for ch, done := range c.subs {
		subs = append(subs, struct {
			ch   chan<- sd.Event
			done chan struct{}
		}{ch, done})
	}
	c.mu.Unlock()
	for _, s := range subs {
		select {
		case s.ch <- copyEvent(ev):
		case <-s.done:
		}
	}
}

// Register implements sd.Instancer: ch gets the current state at once and
// every change after.
func (c *Cache) Register(ch chan<- sd.Event) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	done := make(chan struct{})
	c.mu.Lock()
	c.subs[ch] = done
	ev := c.state.Event()
	c.mu.Unlock()
	select {
	case ch <- ev:
	case <-done:
	}
}

// Deregister implements sd.Instancer. A send to ch that is under way is
// abandoned.
func (c *Cache) Deregister(ch chan<- sd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if done, ok := c.subs[ch]; ok {
		close(done)
		delete(c.subs, ch)
	}
}

func copyEvent(ev sd.Event) sd.Event {
	return sd.Event{Instances: slices.Clone(ev.Instances), Err: ev.Err}
}
