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
	// Rate is the sustained calls per second admitted per key. Default 100.
	Rate float64
	// Burst is how many calls may arrive at once. Default: Rate rounded
	// up, at least 1.
	Burst int
	// MaxKeys bounds how many keys the limiter tracks; the least
	// recently seen key is forgotten (and starts afresh) to make room.
	// Default 10 000.
	MaxKeys int
	// IdleTimeout makes the limiter forget a key unseen for this long.
	// Default: the time a bucket takes to refill (Burst ÷ Rate), after
	// which a forgotten key is the same as a fresh one, so forgetting it
	// changes nothing but the memory held. Negative turns it off.
	IdleTimeout time.Duration
}

// RateLimiter is a server-side token-bucket rate limit
// ([golang.org/x/time/rate]) with one bucket per key: a client IP, a user,
// an API key, or "" for one bucket shared by all. Build one with
// [NewRateLimiter]; put it in front of an HTTP server's mux with
// transport/http's RateLimit, or on an endpoint with
// [RateLimiter.Middleware]. It is safe for concurrent use.
//
// Keys are kept in a least-recently-used set of bounded size, so a flood of
// distinct keys cannot exhaust memory. A refused call fails with a
// [fault.ResourceExhausted] error (HTTP 429) whose RetryAfter says when a
// token will be free and whose Cause is [ErrRateLimited].
type RateLimiter struct {
	name    string
	cfg     RateLimitConfig
	key     func(ctx context.Context, request any) string
	shared  *rate.Limiter // the bucket of key ""
	buckets *keyed[*rate.Limiter]
}

// NewRateLimiter returns a rate limiter named name (for its errors). It
// reads the option [WithKey], which its Middleware uses to pick a call's
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
	newBucket := func(string) *rate.Limiter { return rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst) }
	return &RateLimiter{
		name:    name,
		cfg:     cfg,
		key:     o.key,
		shared:  newBucket(""),
		buckets: newKeyed(cfg.MaxKeys, cfg.IdleTimeout, newBucket),
	}
}

// Allow takes a token from key's bucket, or returns the error that refuses
// the call. Use "" as the key for one bucket shared by all calls.
func (l *RateLimiter) Allow(key string) error {
	lim := l.shared
	if key != "" {
		lim = l.buckets.get(key)
	}
	now := time.Now()
	if lim.AllowN(now, 1) {
		return nil
	}
	wait := time.Duration((1 - lim.TokensAt(now)) / l.cfg.Rate * float64(time.Second))
	wait = max(wait, time.Millisecond)
	who := ""
	if key != "" {
		who = fmt.Sprintf(" for %q", key)
	}
	return &fault.Error{
		Kind:       fault.ResourceExhausted,
		Detail:     fmt.Sprintf("rate limit %q%s of %g calls a second is spent; retry in %s", l.name, who, l.cfg.Rate, wait.Round(time.Millisecond)),
		RetryAfter: wait,
		Cause:      ErrRateLimited,
	}
}

// Middleware returns the limiter as an endpoint middleware. A call's bucket
// is the one [WithKey] derives from it, or the shared one without WithKey.
func (l *RateLimiter) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			key := ""
			if l.key != nil {
				key = l.key(ctx, request)
			}
			if err := l.Allow(key); err != nil {
				return nil, err
			}
			return next(ctx, request)
		}
	}
}
