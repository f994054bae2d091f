package resilience

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// ThrottleConfig configures a [Throttle]. The zero value lets the callee
// fail up to half of the calls of the last 10 s before any is refused.
type ThrottleConfig struct {
	// K is the multiplier of the SRE formula: the callee may fail up to
	// 1 − 1/K of calls before any is refused. Default 2.
	K float64
	// Window is the span of the rolling window, kept in 10 buckets, over
	// which requests and accepts are counted. Default 10 s.
	Window time.Duration
}

// Throttle is the client-side adaptive throttling of Google's SRE book
// (used by Kratos and go-zero): it refuses each call with probability
// max(0, (requests − K·accepts) / (requests + 1)) over the rolling window,
// so it sheds in proportion to the callee's failure rate and has no open
// timeout to wait out. It suits high-volume clients of callees that degrade
// partially; [Breaker] suits the rest. Build one with [NewThrottle]; it is
// safe for concurrent use.
//
// Unlike the SRE text, calls it refused itself are not counted as
// requests, so it stops refusing within one window of the callee's
// recovery. A refused call fails at once with a [fault.Unavailable] error
// whose Cause is [ErrOpen]. Outcomes count as [Classify] (or
// [WithClassifier]) says: a success is an accept, a failure is not, and an
// ignored outcome is not a request.
type Throttle struct {
	name     string
	cfg      ThrottleConfig
	classify func(context.Context, error) Outcome
	observer func(StateChange)
	random   func() float64 // uniform in [0, 1)

	mu    sync.Mutex
	epoch time.Time
	win   *window // a: requests, b: accepts
	state State
}

// NewThrottle returns a throttle named name (for its errors and events). It
// reads the options [WithStateChange] and [WithClassifier].
func NewThrottle(name string, cfg ThrottleConfig, opts ...Option) *Throttle {
	return newThrottle(name, cfg, buildOptions(opts))
}

func newThrottle(name string, cfg ThrottleConfig, o options) *Throttle {
	if cfg.K <= 0 {
		cfg.K = 2
	}
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	return &Throttle{
		name:     name,
		cfg:      cfg,
		classify: o.classifier,
		observer: o.observer,
		random:   rand.Float64,
		epoch:    time.Now(),
		win:      newWindow(cfg.Window, 10, 0),
	}
}

// State returns StateThrottling while the throttle refuses a share of
// calls, StateClosed otherwise.
func (t *Throttle) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rejectProbability(t.win.totals(time.Since(t.epoch))) > 0 {
		return StateThrottling
	}
	return StateClosed
}

// Middleware returns the throttle as an endpoint middleware.
func (t *Throttle) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if err := t.admit(); err != nil {
				return nil, err
			}
			response, err := next(ctx, request)
			switch t.classify(ctx, err) {
			case OutcomeSuccess:
				t.record(1)
			case OutcomeFailure:
				t.record(0)
			}
			return response, err
		}
	}
}

// admit decides whether a call goes through, and reports a change of
// state to the observer.
func (t *Throttle) admit() error {
	now := time.Since(t.epoch)
	t.mu.Lock()
	sum := t.win.totals(now)
	p := t.rejectProbability(sum)
	change := t.noteState(now, p)
	refuse := p > 0 && t.random() < p
	t.mu.Unlock()
	if change != nil && t.observer != nil {
		t.observer(*change)
	}
	if !refuse {
		return nil
	}
	return &fault.Error{
		Kind: fault.Unavailable,
		Detail: fmt.Sprintf("circuit breaker %q is throttling: it refuses %.0f%% of calls because the callee accepted %d of %d in the last %s; retry later",
			t.name, p*100, sum.b, sum.a, t.cfg.Window),
		RetryAfter: t.cfg.Window / 10,
		Cause:      refusedBy{t},
	}
}

func (t *Throttle) record(accepted int64) {
	now := time.Since(t.epoch)
	t.mu.Lock()
	t.win.add(now, 1, accepted)
	t.mu.Unlock()
}

// rejectProbability is the SRE formula over the window's totals s.
func (t *Throttle) rejectProbability(s pair) float64 {
	return max((float64(s.a)-t.cfg.K*float64(s.b))/float64(s.a+1), 0)
}

// noteState returns the event of a change between closed and throttling,
// or nil; t.mu must be held.
func (t *Throttle) noteState(now time.Duration, p float64) *StateChange {
	s, reason := StateClosed, "the callee accepts enough calls again"
	if p > 0 {
		s, reason = StateThrottling, fmt.Sprintf("the callee accepted too few calls in the last %s", t.cfg.Window)
	}
	if s == t.state {
		return nil
	}
	e := &StateChange{Breaker: t.name, From: t.state, To: s, At: t.epoch.Add(now), Reason: reason}
	t.state = s
	return e
}
