package resilience

import "context"

// Option changes how a mechanism is built. Options are shared by every
// constructor in this package; each documents which options it reads, and an
// option a mechanism does not read is ignored.
type Option func(*options)

type options struct {
	observer   func(StateChange)
	classifier func(context.Context, error) Outcome
	key        func(ctx context.Context, request any) string
	budget     *Budget
}

func buildOptions(opts []Option) options {
	o := options{classifier: Classify}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithStateChange calls f each time a breaker or a throttle changes state,
// for metrics and logs. f runs on the goroutine of the call that caused the
// change, after the breaker's locks are released, so it may call the
// breaker's methods; it should return quickly.
func WithStateChange(f func(StateChange)) Option {
	return func(o *options) { o.observer = f }
}

// WithClassifier replaces [Classify] as the rule that decides whether a
// call's outcome counts for or against the callee's health (breakers and
// throttles).
func WithClassifier(f func(ctx context.Context, err error) Outcome) Option {
	return func(o *options) {
		if f != nil {
			o.classifier = f
		}
	}
}

// WithKey makes a rate limiter's [RateLimiter.Middleware] keep one bucket
// per key: key derives it from the call (a client IP, a user, an API key).
// A breaker set takes its key function as an argument of [NewBreakers]
// instead.
func WithKey(key func(ctx context.Context, request any) string) Option {
	return func(o *options) { o.key = key }
}

// WithBudget makes retries and hedges spend from b instead of a budget of
// their own, so several policies (say, every method of one downstream
// service) share one cap on extra load. A nil b is ignored.
func WithBudget(b *Budget) Option {
	return func(o *options) {
		if b != nil {
			o.budget = b
		}
	}
}
