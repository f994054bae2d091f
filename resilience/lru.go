package resilience

import (
	"container/list"
	"sync"
	"time"
)

// lru holds at most max values by key, dropping the least recently used one
// to make room, and, when idle is positive, dropping every value unused for
// idle. It is safe for concurrent use.
type lru[V any] struct {
	mu       sync.Mutex
	max      int
	idle     time.Duration
	watch    stopwatch
	items    map[string]*list.Element
	order    list.List // front: most recently used
	newValue func(key string) V
}

type lruEntry[V any] struct {
	key   string
	value V
	used  time.Duration // when last used, by watch
}

func newLRU[V any](max int, idle time.Duration, clock Clock, newValue func(key string) V) *lru[V] {
	return &lru[V]{max: max, idle: idle, watch: newStopwatch(clock), items: make(map[string]*list.Element), newValue: newValue}
}

// get returns the value for key, making it if it is not held.
func (c *lru[V]) get(key string) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var now time.Duration
	if c.idle > 0 {
		now = c.watch.elapsed()
		c.expire(now)
	}
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		entry := e.Value.(*lruEntry[V])
		entry.used = now
		return entry.value
	}
	if c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	v := c.newValue(key)
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: v, used: now})
	return v
}

// expire drops the values unused for idle; c.mu must be held. The least
// recently used value is at the back, so it stops at the first one in use.
func (c *lru[V]) expire(now time.Duration) {
	for e := c.order.Back(); e != nil && now-e.Value.(*lruEntry[V]).used >= c.idle; e = c.order.Back() {
		c.remove(e)
	}
}

func (c *lru[V]) remove(e *list.Element) {
	c.order.Remove(e)
	delete(c.items, e.Value.(*lruEntry[V]).key)
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle > 0 {
		c.expire(c.watch.elapsed())
	}
	return c.order.Len()
}

// each calls f for every value held, most recently used first.
func (c *lru[V]) each(f func(key string, v V)) {
	c.mu.Lock()
	if c.idle > 0 {
		c.expire(c.watch.elapsed())
	}
	entries := make([]*lruEntry[V], 0, c.order.Len())
	for e := c.order.Front(); e != nil; e = e.Next() {
		entries = append(entries, e.Value.(*lruEntry[V]))
	}
	c.mu.Unlock()
	for _, e := range entries {
		f(e.key, e.value)
	}
}
