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
// discovery.Instancer; its Stop stops notifications only, and the backend
// stops its own work around it. It is safe for concurrent use.
//
// State changes at once with Update and Fail. Subscribers are sent the
// changes on the cache's own goroutine, in order, always the latest state,
// so a subscriber that is slow to read holds back only its own events,
// never the backend feeding the cache.
type Cache struct {
	sendMu sync.Mutex // serialises sends, so subscribers see states in order

	mu      sync.Mutex
	state   discovery.State
	subs    map[chan<- sd.Event]chan struct{} // closed on Deregister
	pending bool                              // a change not yet sent
	sending bool                              // the sender goroutine runs
	stopped bool
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
// instances and how many are registered. Subscribers hear of it when it
// differs from the last one.
func (c *Cache) Update(st discovery.State) {
	st.Instances = slices.Clone(st.Instances)
	slices.SortFunc(st.Instances, func(a, b discovery.Instance) int { return strings.Compare(a.ID, b.ID) })
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Service = c.state.Service
	st.Err, st.Failures = nil, 0
	c.store(st)
}

// Fail records a failed query: the instances stay as they were, Err is
// set and Failures grows. It returns the new state.
func (c *Cache) Fail(err error) discovery.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state
	st.Err = err
	st.Failures++
	c.store(st)
	return st
}

// store stores st and, when it differs from the last state in what
// subscribers act on, has the sender send it; c.mu must be held.
func (c *Cache) store(st discovery.State) {
	old := c.state
	c.state = st
	if old.Equal(st) && !(old.Updated.IsZero() && !st.Updated.IsZero()) {
		return
	}
	if c.stopped {
		return
	}
	c.pending = true
	if !c.sending {
		c.sending = true
		go c.send()
	}
}

// send broadcasts until no change is pending.
func (c *Cache) send() {
	for {
		c.mu.Lock()
		if !c.pending || c.stopped {
			c.sending = false
			c.mu.Unlock()
			return
		}
		c.pending = false
		c.mu.Unlock()
		c.broadcast()
	}
}

type sub struct {
	ch   chan<- sd.Event
	done chan struct{}
}

func (c *Cache) broadcast() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	ev := c.state.Event()
	subs := make([]sub, 0, len(c.subs))
	for ch, done := range c.subs {
		subs = append(subs, sub{ch, done})
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
// every change after. Register returns once ch has taken the first state.
func (c *Cache) Register(ch chan<- sd.Event) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	done := make(chan struct{})
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
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

// Stop ends notifications: sends under way are abandoned and no more are
// made. State keeps working.
func (c *Cache) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	for ch, done := range c.subs {
		close(done)
		delete(c.subs, ch)
	}
}

// idle reports whether no change waits to be sent; for tests.
func (c *Cache) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.pending && !c.sending
}

func copyEvent(ev sd.Event) sd.Event {
	return sd.Event{Instances: slices.Clone(ev.Instances), Err: ev.Err}
}
