package resilience

import (
	"container/list"
	"sync"
)

// lru holds at most max values by key, dropping the least recently used one
// to make room. It is safe for concurrent use.
type lru[V any] struct {
	mu       sync.Mutex
	max      int
	items    map[string]*list.Element
	order    list.List // front: most recently used
	newValue func(key string) V
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](max int, newValue func(key string) V) *lru[V] {
	return &lru[V]{max: max, items: make(map[string]*list.Element), newValue: newValue}
}

// get returns the value for key, making it if it is not held.
func (c *lru[V]) get(key string) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[V]).value
	}
	if c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[V]).key)
	}
	v := c.newValue(key)
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: v})
	return v
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// each calls f for every value held, most recently used first.
func (c *lru[V]) each(f func(key string, v V)) {
	c.mu.Lock()
	entries := make([]*lruEntry[V], 0, c.order.Len())
	for e := c.order.Front(); e != nil; e = e.Next() {
		entries = append(entries, e.Value.(*lruEntry[V]))
	}
	c.mu.Unlock()
	for _, e := range entries {
		f(e.key, e.value)
	}
}
