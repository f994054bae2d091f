package resilience

import (
	"slices"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// keyed holds one value per key in a least-recently-used cache of bounded
// size (github.com/hashicorp/golang-lru/v2) and, when idle is positive,
// forgets a value unused for idle: the next use of its key makes a fresh
// one. It is safe for concurrent use.
type keyed[V any] struct {
	cache    *lru.Cache[string, *keyedEntry[V]]
	idle     time.Duration
	newValue func(key string) V
}

type keyedEntry[V any] struct {
	value V
	used  atomic.Int64 // unix nanoseconds of the last use
}

func newKeyed[V any](size int, idle time.Duration, newValue func(key string) V) *keyed[V] {
	cache, err := lru.New[string, *keyedEntry[V]](max(size, 1))
	if err != nil {
		panic(err) // unreachable: the size is positive
	}
	return &keyed[V]{cache: cache, idle: idle, newValue: newValue}
}

// get returns the value for key, making it if it is not held or has been
// idle too long.
func (k *keyed[V]) get(key string) V {
	now := time.Now().UnixNano()
	if e, ok := k.cache.Get(key); ok && !k.expired(e, now) {
		e.used.Store(now)
		return e.value
	}
	e := &keyedEntry[V]{value: k.newValue(key)}
	e.used.Store(now)
	if prev, ok, _ := k.cache.PeekOrAdd(key, e); ok {
		if !k.expired(prev, now) {
			return prev.value // another call made it meanwhile
		}
		k.cache.Add(key, e)
	}
	return e.value
}

func (k *keyed[V]) expired(e *keyedEntry[V], now int64) bool {
	return k.idle > 0 && time.Duration(now-e.used.Load()) >= k.idle
}

// each calls f for every value held and not idle, most recently used
// first, and forgets the idle ones.
func (k *keyed[V]) each(f func(key string, v V)) {
	now := time.Now().UnixNano()
	keys := k.cache.Keys() // oldest first
	slices.Reverse(keys)
	for _, key := range keys {
		e, ok := k.cache.Peek(key)
		switch {
		case !ok:
		case k.expired(e, now):
			k.cache.Remove(key)
		default:
			f(key, e.value)
		}
	}
}

// len returns how many values are held and not idle.
func (k *keyed[V]) len() int {
	n := 0
	k.each(func(string, V) { n++ })
	return n
}
