package resilience

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-kit/kit/endpoint"
	"golang.org/x/time/rate"

	"github.com/tailorkit/tailor/fault"
)

// RateLimitConfig configures a [RateLimiter]. The zero value admits 100
// calls a second with bursts of 100.
type RateLimitConfig struct {
	// Rate is the sustained calls per second admitted (per key, when the
	// limiter is keyed). Default 100.
	Rate float64
	// Burst is how many calls may arrive at once. Default: Rate rounded
	// up, at least 1.
	Burst int
	// MaxKeys bounds how many keys a keyed limiter tracks; the least
	// recently seen key is forgotten (and starts afresh) to make room.
	// Default 10 000.
	MaxKeys int
	// IdleTimeout makes a keyed limiter forget a key unseen for this long.
	// Default: the time a bucket takes to refill (Burst ÷ Rate), after
	// which a forgotten key is the same as a fresh one, so forgetting it
	// changes nothing but the memory held. Negative turns it off.
	IdleTimeout time.Duration
}

// RateLimiter is a server-side token-bucket rate limit
// ([golang.org/x/time/rate]), global or per key (see [WithKey]). Build one
// with [NewRateLimiter]; it is safe for concurrent use.
//
// A refused call fails with a [fault.ResourceExhausted] error (HTTP 429)
// whose RetryAfter says when a token will be free and whose Cause is
// [ErrRateLimited].
type RateLimiter struct {
	name   string
	cfg    RateLimitConfig
	clock  Clock
	key    func(ctx context.Context, request any) string
	global *rate.Limiter
	keyed  *lru[*rate.Limiter]
}

// NewRateLimiter returns a rate limiter named name (for its errors). It reads
// the options [WithClock] and [WithKey]; with WithKey, each key has its own
// bucket.
func NewRateLimiter(name string, cfg RateLimitConfig, opts ...Option) *RateLimiter {
	o := buildOptions(opts)
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 10000
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Duration(float64(cfg.Burst) / cfg.Rate * float64(time.Second))
	}
	l := &RateLimiter{name: name, cfg: cfg, clock: o.clock, key: o.key}
	if l.key == nil {
		l.global = l.newLimiter("")
	} else {
		l.keyed = newLRU(cfg.MaxKeys, cfg.IdleTimeout, o.clock, l.newLimiter)
	}
	return l
}

func (l *RateLimiter) newLimiter(string) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)
}

// Allow takes a token for the call, or returns the error that refuses it.
// request is what the key function sees: the endpoint's request, or the
// *http.Request in [RateLimiter.Handler].
func (l *RateLimiter) Allow(ctx context.Context, request any) error {
	lim, key := l.global, ""
	if l.keyed != nil {
		key = l.key(ctx, request)
		lim = l.keyed.get(key)
	}
	now := l.clock.Now()
	if lim.AllowN(now, 1) {
		return nil
	}
	return l.refusal(lim, key, now)
}

func (l *RateLimiter) refusal(lim *rate.Limiter, key string, now time.Time) error {
	missing := 1 - lim.TokensAt(now)
	wait := time.Duration(missing / l.cfg.Rate * float64(time.Second))
	wait = max(wait, time.Millisecond)
	who := ""
	if l.keyed != nil {
		who = fmt.Sprintf(" for %q", key)
	}
	return &fault.Error{
		Kind:       fault.ResourceExhausted,
		Detail:     fmt.Sprintf("rate limit %q%s of %g calls a second is spent; retry in %s", l.name, who, l.cfg.Rate, wait.Round(time.Millisecond)),
		RetryAfter: wait,
		Cause:      ErrRateLimited,
	}
}

// Middleware returns the limiter as an endpoint middleware.
func (l *RateLimiter) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if err := l.Allow(ctx, request); err != nil {
				return nil, err
			}
			return next(ctx, request)
		}
	}
}
