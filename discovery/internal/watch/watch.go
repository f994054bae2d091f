// Package watch holds the state of one service watch and fans it out to
// go-kit subscribers. The discovery backends feed it.
//
// Start with [New]: a backend makes one [Cache] per service watched, feeds
// it with Update and Fail, and hands it out as the service's
// discovery.Instancer.
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
// State changes at once with Update and Fail. Each subscriber has a
// goroutine of its own that sends it the latest state whenever it changes,
// in order, skipping states superseded before it could send them, so a
// subscriber that is slow to read holds back only its own events: never
// the backend feeding the cache, nor another subscriber, nor a Register.
type Cache struct {
	mu      sync.Mutex
	state   discovery.State
	version uint64 // grows with every change subscribers act on
	subs    map[chan<- sd.Event]*subscriber
	stopped bool
}

// subscriber is one registered channel and its sender's bookkeeping.
type subscriber struct {
	ch   chan<- sd.Event
	wake chan struct{} // holds at most one wake-up: "the state changed"
	done chan struct{} // closed on Deregister or Stop
	sent uint64        // the version last sent; Register sets it, then only run
}

// New returns a cache for service, empty until the first Update.
func New(service string) *Cache {
	return &Cache{
		state: discovery.State{Service: service},
		subs:  make(map[chan<- sd.Event]*subscriber),
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
// subscribers act on, wakes every subscriber's sender; c.mu must be held.
func (c *Cache) store(st discovery.State) {
	old := c.state
	c.state = st
	if old.Equal(st) && !(old.Updated.IsZero() && !st.Updated.IsZero()) {
		return
	}
	c.version++
	for _, s := range c.subs {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already waiting
		}
	}
}

// Register implements sd.Instancer: ch gets the current state at once and
// every change after. Register returns once ch has taken the first state,
// or ch is deregistered, or the cache stopped.
func (c *Cache) Register(ch chan<- sd.Event) {
	s := &subscriber{ch: ch, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.subs[ch] = s
	ev, v := c.state.Event(), c.version
	c.mu.Unlock()
	select {
	case ch <- ev:
		s.sent = v
	case <-s.done:
		return
	}
	go c.run(s)
}

// run sends s the latest state each time it changes, until s is done.
func (c *Cache) run(s *subscriber) {
	for {
		select {
		case <-s.wake:
		case <-s.done:
			return
		}
		c.mu.Lock()
		ev, v := c.state.Event(), c.version
		c.mu.Unlock()
		if v == s.sent {
			continue
		}
		select {
		case s.ch <- ev: // Event made its slice afresh: ev is s's alone
			s.sent = v
		case <-s.done:
			return
		}
	}
}

// Deregister implements sd.Instancer. A send to ch that is under way is
// abandoned.
func (c *Cache) Deregister(ch chan<- sd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.subs[ch]; ok {
		close(s.done)
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
	for ch, s := range c.subs {
		close(s.done)
		delete(c.subs, ch)
	}
}
