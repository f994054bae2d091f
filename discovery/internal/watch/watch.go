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

	mu      sync.Mutex
	state   discovery.State
	subs    map[chan<- sd.Event]chan struct{} // closed on Deregister
	changed chan struct{}                     // closed and replaced on each change
}

// New returns a cache for service, empty until the first Update.
func New(service string) *Cache {
	return &Cache{
		state:   discovery.State{Service: service},
		subs:    make(map[chan<- sd.Event]chan struct{}),
		changed: make(chan struct{}),
	}
}

// State returns the latest state.
func (c *Cache) State() discovery.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Changed returns a channel closed at the next change of state.
func (c *Cache) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Update stores a successful answer from the registry: the healthy
// instances and how many are registered. It notifies subscribers when the
// answer differs from the last one.
func (c *Cache) Update(st discovery.State) {
	st.Instances = slices.Clone(st.Instances)
	slices.SortFunc(st.Instances, func(a, b discovery.Instance) int { return strings.Compare(a.ID, b.ID) })
	c.mu.Lock()
	st.Service = c.state.Service
	st.Err, st.Failures = nil, 0
	c.set(st)
}

// Fail records a failed query: the instances stay as they were, Err is
// set and Failures grows. It returns the new state.
func (c *Cache) Fail(err error) discovery.State {
	c.mu.Lock()
	st := c.state
	st.Err = err
	st.Failures++
	c.set(st)
	return st
}

// set stores st and notifies; c.mu must be held and is released.
func (c *Cache) set(st discovery.State) {
	old := c.state
	c.state = st
	if old.Equal(st) && !(old.Updated.IsZero() && !st.Updated.IsZero()) {
		c.mu.Unlock()
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.broadcast()
}

func (c *Cache) broadcast() {
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
