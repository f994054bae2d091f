package resilience

import (
	"context"
	"sync/atomic"

	"github.com/go-kit/kit/endpoint"
)

// Breakers is a set of breakers keyed by string, one per downstream
// instance ("10.0.0.7:8080") or any other unit that fails on its own. It
// holds at most BreakerConfig.MaxKeys breakers, dropping the least recently
// used one to make room, and, with BreakerConfig.IdleTimeout, replaces one
// unused for that long with a fresh one, so memory stays bounded however
// many instances come and go. Build one with [NewBreakers]; it is safe for
// concurrent use.
type Breakers struct {
	key      func(ctx context.Context, request any) string
	set      *keyed[*Breaker]
	override atomic.Uint32 // the set-wide Override, for breakers made later
}

// NewBreakers returns a set of breakers named name; key picks a call's
// breaker, which is named name/key. It reads the options [WithStateChange]
// and [WithClassifier].
func NewBreakers(name string, key func(ctx context.Context, request any) string, cfg BreakerConfig, opts ...Option) *Breakers {
	o := buildOptions(opts)
	cfg = cfg.withDefaults()
	s := &Breakers{key: key}
	s.set = newKeyed(cfg.MaxKeys, cfg.IdleTimeout, func(k string) *Breaker {
		b := newBreaker(name+"/"+k, cfg, o)
		b.override.Store(s.override.Load())
		return b
	})
	return s
}

// SetOverride sets or clears an operator's override (see
// [Breaker.SetOverride]) on every breaker in the set, and on every breaker
// the set makes later, until SetOverride is called again. A breaker's own
// SetOverride still changes that breaker alone.
func (s *Breakers) SetOverride(o Override) {
	s.override.Store(uint32(o))
	s.set.each(func(_ string, b *Breaker) { b.SetOverride(o) })
}

// Get returns the breaker for key, making it if needed.
func (s *Breakers) Get(key string) *Breaker { return s.set.get(key) }

// Len returns how many breakers the set holds.
func (s *Breakers) Len() int { return s.set.len() }

// Each calls f with every breaker the set holds, most recently used first.
func (s *Breakers) Each(f func(key string, b *Breaker)) { s.set.each(f) }

// Middleware returns a middleware that sends each call through the breaker
// for its key.
func (s *Breakers) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return s.set.get(s.key(ctx, request)).call(ctx, request, next)
		}
	}
}
