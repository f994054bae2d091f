package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/sony/gobreaker/v2"

	"github.com/tailorkit/tailor/fault"
)

// BreakerConfig configures a [Breaker]. The zero value is a breaker that
// opens after 5 consecutive failures or when half of at least 20 calls in
// the last 10 s failed, and lets a probe through 5 s after it opened.
type BreakerConfig struct {
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row. Default 5; negative turns the rule off.
	ConsecutiveFailures int
	// FailureRatio opens the breaker when at least this share of the calls
	// counted in Window failed, once there are MinRequests of them.
	// Default 0.5; negative turns the rule off.
	FailureRatio float64
	// MinRequests is how many counted calls Window must hold before
	// FailureRatio applies. Default 20.
	MinRequests int
	// Window is the span of the rolling window, kept in 10 buckets, over
	// which calls are counted while the breaker is closed. Default 10 s.
	Window time.Duration
	// OpenTimeout is how long an open breaker refuses calls before it lets
	// probes through. Default 5 s.
	OpenTimeout time.Duration
	// Probes is how many calls a half-open breaker lets through; that many
	// successes in a row close it, and one failure opens it again.
	// Default 1.
	Probes int
	// MaxKeys bounds how many breakers a [Breakers] set keeps; the least
	// recently used one is dropped to make room. Default 1024. A single
	// Breaker ignores it.
	MaxKeys int
	// IdleTimeout makes a [Breakers] set drop a breaker no call has used
	// for this long; a later call for its key gets a fresh, closed one.
	// Default 0: breakers are dropped only to make room. A single Breaker
	// ignores it.
	IdleTimeout time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.ConsecutiveFailures == 0 {
		c.ConsecutiveFailures = 5
	}
	if c.FailureRatio == 0 {
		c.FailureRatio = 0.5
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 20
	}
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = 5 * time.Second
	}
	if c.Probes <= 0 {
		c.Probes = 1
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 1024
	}
	return c
}

// Override is an operator's manual setting of a breaker (see
// [Breaker.SetOverride]).
type Override uint8

// The overrides.
const (
	OverrideAuto        Override = iota // the breaker follows its counts
	OverrideForceOpen                   // every call is refused
	OverrideForceClosed                 // every call goes through and nothing is counted
)

// String returns "auto", "force-open" or "force-closed".
func (o Override) String() string {
	switch o {
	case OverrideForceOpen:
		return "force-open"
	case OverrideForceClosed:
		return "force-closed"
	}
	return "auto"
}

// What a call told gobreaker: nil is a success, errFailed a failure, and
// errIgnored is excluded from its counts. A panic reaches gobreaker as an
// error of its own making, which counts as a failure.
var (
	errFailed  = errors.New("failure")
	errIgnored = errors.New("ignored")
)

// Breaker is a circuit breaker for one callee: github.com/sony/gobreaker/v2
// with tailor's classification of failures, an operator's override, state
// events and refusals that say when to come back. Build one with
// [NewBreaker] and wrap the callee's endpoint with [Breaker.Middleware]. It
// is safe for concurrent use.
//
// gobreaker keeps the state, the counts over the rolling Window and the
// open timer. A call the breaker refuses fails at once with a
// [fault.Unavailable] error whose Cause is [ErrOpen] and whose RetryAfter
// says when the breaker will let a probe through; the message names the
// breaker and why it opened. Only [OutcomeFailure] outcomes (see
// [Classify]) count against the callee; the breaker's own refusals never
// do, so it closes once probes succeed.
type Breaker struct {
	name     string
	cfg      BreakerConfig
	classify func(context.Context, error) Outcome
	observer func(StateChange)
	cb       *gobreaker.CircuitBreaker[any]
	override atomic.Uint32

	mu       sync.Mutex
	reason   string    // why it last opened
	openedAt time.Time // when it last opened
	events   []StateChange
	pending  atomic.Bool // events holds something
}

// NewBreaker returns a breaker named name (the name appears in errors and
// events, so use the callee's: "inventory"). It reads the options
// [WithStateChange] and [WithClassifier].
func NewBreaker(name string, cfg BreakerConfig, opts ...Option) *Breaker {
	return newBreaker(name, cfg.withDefaults(), buildOptions(opts))
}

func newBreaker(name string, cfg BreakerConfig, o options) *Breaker {
	b := &Breaker{name: name, cfg: cfg, classify: o.classifier, observer: o.observer}
	b.cb = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:          name,
		MaxRequests:   uint32(cfg.Probes),
		Interval:      cfg.Window,
		BucketPeriod:  cfg.Window / 10,
		Timeout:       cfg.OpenTimeout,
		ReadyToTrip:   b.readyToTrip,
		OnStateChange: b.onStateChange,
		IsSuccessful:  func(err error) bool { return err == nil },
		IsExcluded:    func(err error) bool { return err == errIgnored },
	})
	return b
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// SetOverride sets or clears an operator's override. OverrideForceOpen
// refuses every call; OverrideForceClosed lets every call through
// uncounted; OverrideAuto hands control back to the counts. The change is
// reported as a [StateChange].
func (b *Breaker) SetOverride(o Override) {
	before := b.State()
	b.override.Store(uint32(o))
	if after := b.State(); after != before {
		b.queue(StateChange{Breaker: b.name, From: before, To: after, At: time.Now(), Reason: "operator set " + o.String()})
	}
	b.flush()
}

// State returns the breaker's current state: StateOpen under
// OverrideForceOpen and StateClosed under OverrideForceClosed.
func (b *Breaker) State() State {
	switch Override(b.override.Load()) {
	case OverrideForceOpen:
		return StateOpen
	case OverrideForceClosed:
		return StateClosed
	}
	s := b.cb.State()
	b.flush()
	return fromGobreaker(s)
}

// BreakerStatus is what a [Breaker] shows an operator at one moment.
type BreakerStatus struct {
	State    State    // as [Breaker.State] reports it
	Override Override // the operator's override; OverrideAuto when none
	// Requests, Failures and ConsecutiveFailures count the calls of the
	// rolling Window while the breaker is closed, and the probes while it
	// is half-open; they are zero while it is open.
	Requests, Failures, ConsecutiveFailures int
	// ProbeIn is, while the breaker is open by its counts, how long until
	// it lets a probe through; 0 otherwise.
	ProbeIn time.Duration
}

// Status returns the breaker's state, override and counts now.
func (b *Breaker) Status() BreakerStatus {
	st := BreakerStatus{State: b.State(), Override: Override(b.override.Load())}
	c := b.cb.Counts()
	st.Requests, st.Failures, st.ConsecutiveFailures = int(c.Requests), int(c.TotalFailures), int(c.ConsecutiveFailures)
	if st.Override == OverrideAuto && st.State == StateOpen {
		b.mu.Lock()
		st.ProbeIn = max(time.Until(b.openedAt.Add(b.cfg.OpenTimeout)), 0)
		b.mu.Unlock()
	}
	return st
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// Middleware returns the breaker as an endpoint middleware.
func (b *Breaker) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return b.call(ctx, request, next)
		}
	}
}

func (b *Breaker) call(ctx context.Context, request any, next endpoint.Endpoint) (any, error) {
	switch Override(b.override.Load()) {
	case OverrideForceOpen:
		return nil, b.refusal("was forced open by an operator; it stays open until the override is lifted", 0)
	case OverrideForceClosed:
		return next(ctx, request)
	}
	var (
		response any
		err      error
	)
	_, verdict := b.cb.Execute(func() (any, error) {
		response, err = next(ctx, request)
		switch b.classify(ctx, err) {
		case OutcomeFailure:
			return nil, errFailed
		case OutcomeSuccess:
			return nil, nil
		}
		return nil, errIgnored
	})
	b.flush()
	switch verdict {
	case gobreaker.ErrOpenState:
		b.mu.Lock()
		reason, wait := b.reason, time.Until(b.openedAt.Add(b.cfg.OpenTimeout))
		b.mu.Unlock()
		wait = max(wait, time.Millisecond)
		return nil, b.refusal(fmt.Sprintf("opened %s; it lets a probe through in %s", reason, wait.Round(time.Millisecond)), wait)
	case gobreaker.ErrTooManyRequests:
		return nil, b.refusal(fmt.Sprintf("is half-open and its %d probe(s) are in flight", b.cfg.Probes), min(b.cfg.OpenTimeout, time.Second))
	}
	return response, err
}

// readyToTrip runs under gobreaker's lock on each failure while closed.
func (b *Breaker) readyToTrip(c gobreaker.Counts) bool {
	var reason string
	counted := c.TotalSuccesses + c.TotalFailures
	switch {
	case b.cfg.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= uint32(b.cfg.ConsecutiveFailures):
		reason = fmt.Sprintf("after %d consecutive failures", c.ConsecutiveFailures)
	case b.cfg.FailureRatio > 0 && counted >= uint32(b.cfg.MinRequests) && float64(c.TotalFailures) >= b.cfg.FailureRatio*float64(counted):
		reason = fmt.Sprintf("after %d of %d calls failed in the last %s", c.TotalFailures, counted, b.cfg.Window)
	default:
		return false
	}
	b.mu.Lock()
	b.reason = reason
	b.mu.Unlock()
	return true
}

// onStateChange runs under gobreaker's lock, so it only queues the event;
// flush hands it to the observer.
func (b *Breaker) onStateChange(_ string, from, to gobreaker.State) {
	now := time.Now()
	b.mu.Lock()
	var reason string
	switch to {
	case gobreaker.StateOpen:
		b.openedAt = now
		if from == gobreaker.StateHalfOpen {
			b.reason = "after a probe failed"
		}
		reason = b.reason
	case gobreaker.StateHalfOpen:
		reason = "open timeout ended"
	case gobreaker.StateClosed:
		reason = "probe succeeded"
	}
	b.mu.Unlock()
	b.queue(StateChange{Breaker: b.name, From: fromGobreaker(from), To: fromGobreaker(to), At: now, Reason: reason})
}

func (b *Breaker) queue(e StateChange) {
	if b.observer == nil {
		return
	}
	b.mu.Lock()
	b.events = append(b.events, e)
	b.pending.Store(true)
	b.mu.Unlock()
}

// flush hands queued events to the observer, outside every lock, so the
// observer may call the breaker.
func (b *Breaker) flush() {
	if !b.pending.Load() {
		return
	}
	b.mu.Lock()
	events := b.events
	b.events = nil
	b.pending.Store(false)
	b.mu.Unlock()
	for _, e := range events {
		b.observer(e)
	}
}

func (b *Breaker) refusal(why string, retryAfter time.Duration) error {
	return &fault.Error{
		Kind:       fault.Unavailable,
		Detail:     fmt.Sprintf("circuit breaker %q %s; retry later", b.name, why),
		RetryAfter: retryAfter,
		Cause:      refusedBy{b},
	}
}

// refusedBy is the cause of a refusal: it is [ErrOpen], and it tells a
// retry above which breaker refused.
type refusedBy struct{ source any }

func (r refusedBy) Error() string { return string(ErrOpen) }
func (r refusedBy) Unwrap() error { return ErrOpen }
