package resilience

import (
	"context"

	"github.com/go-kit/kit/endpoint"
)

// Breakers is a set of breakers keyed by string, one per downstream
// instance ("10.0.0.7:8080") or any other unit that fails on its own. It
// holds at most BreakerConfig.MaxKeys breakers, dropping the least recently
// used one to make room, so memory stays bounded however many instances
// come and go. Build one with [NewBreakers]; it is safe for concurrent use.
type Breakers struct {
	name string
	key  func(ctx context.Context, request any) string
	set  *lru[*Breaker]
}

// NewBreakers returns a set of breakers named name; key picks a call's
// breaker, which is named name/key. It reads the options [WithClock],
// [WithStateChange] and [WithClassifier].
func NewBreakers(name string, key func(ctx context.Context, request any) string, cfg BreakerConfig, opts ...Option) *Breakers {
	o := buildOptions(opts)
	cfg = cfg.withDefaults()
	return &Breakers{
		name: name,
		key:  key,
		set: newLRU(cfg.MaxKeys, func(k string) *Breaker {
			return newBreaker(name+"/"+k, cfg, o)
		}),
	}
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
