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

// Strategy is how a [Breaker] decides to stop calls.
type Strategy uint8

// The strategies. See the package documentation for why StrategyTrip is the
// default.
const (
	// StrategyTrip is the classic circuit breaker: it opens on consecutive
	// failures or on a failure ratio over a rolling window, refuses every
	// call for OpenTimeout, then lets probes through and closes when they
	// succeed.
	StrategyTrip Strategy = iota
	// StrategyThrottle is Google SRE client-side adaptive throttling: it
	// refuses each call with probability
	// max(0, (requests − K·accepts) / (requests + 1)) over the rolling
	// window, so it sheds in proportion to the callee's failure rate and
	// has no open timeout to wait out. Unlike the SRE text, requests it
	// refused itself are not counted, so it stops refusing within one
	// window of the callee's recovery.
	StrategyThrottle
)

// BreakerConfig configures a [Breaker]. The zero value is a classic breaker
// that opens after 5 consecutive failures or when half of at least 20 calls
// in the last 10 s failed, and probes again after 5 s.
type BreakerConfig struct {
	// Strategy chooses the trip strategy. Default: StrategyTrip.
	Strategy Strategy
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
	// Window is the span of the rolling window, kept in 10 buckets, used by
	// FailureRatio and by StrategyThrottle. Default 10 s.
	Window time.Duration
	// OpenTimeout is how long an open breaker refuses calls before it lets
	// probes through. Default 5 s.
	OpenTimeout time.Duration
	// Probes is how many calls a half-open breaker lets through; that many
	// successes in a row close it, and one failure opens it again.
	// Default 1.
	Probes int
	// K is StrategyThrottle's multiplier: the callee may fail up to
	// 1 − 1/K of calls before any is refused. Default 2.
	K float64
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
	if c.K <= 0 {
		c.K = 2
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 1024
	}
	return c
}

// State is a breaker's state.
type State uint8

// The states.
const (
	StateClosed     State = iota // calls go through
	StateHalfOpen                // a few probes go through; the rest are refused
	StateOpen                    // every call is refused until the open timeout ends
	StateThrottling              // StrategyThrottle is refusing a share of calls
)

// String returns "closed", "half-open", "open" or "throttling".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	case StateThrottling:
		return "throttling"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// StateChange is the event a breaker emits when its state changes (see
// [WithStateChange]).
type StateChange struct {
	Breaker  string    // the breaker's name
	From, To State     // the states before and after
	At       time.Time // when, by the breaker's clock
	Reason   string    // why, in words: "5 consecutive failures", "probe succeeded"
}

// Override is an operator's manual setting of a breaker.
type Override uint8

// The overrides.
const (
	Auto        Override = iota // the breaker follows its strategy
	ForceOpen                   // every call is refused
	ForceClosed                 // every call goes through and nothing is counted
)

// String returns "auto", "force-open" or "force-closed".
func (o Override) String() string {
	switch o {
	case ForceOpen:
		return "force-open"
	case ForceClosed:
		return "force-closed"
	}
	return "auto"
}

// Outcomes as gobreaker sees them: nil is a success, errFailed a failure and
// errIgnored is excluded from its counts.
var (
	errFailed  = errors.New("failure")
	errIgnored = errors.New("ignored")
)

// Breaker is a circuit breaker for one callee. Build one with [NewBreaker]
// and wrap the callee's endpoint with [Breaker.Middleware]. It is safe for
// concurrent use.
//
// A call the breaker refuses fails fast with a [fault.Unavailable] error
// whose Cause is [ErrOpen] and whose RetryAfter says when the breaker will
// let a probe through; the message names the breaker and why it opened.
// Only [Failure] outcomes (see [Classify]) count against the callee; the
// breaker's own refusals never do, so it always closes once probes succeed.
//
// StrategyTrip's states are gobreaker's. While closed, a call does not go
// through gobreaker: the breaker counts failures in a row itself and tells
// gobreaker of each failure, which is all gobreaker acts on while closed.
type Breaker struct {
	name     string
	cfg      BreakerConfig
	clock    Clock
	classify func(context.Context, error) Outcome
	observer func(StateChange)
	random   func() float64

	watch     stopwatch
	cb        *gobreaker.CircuitBreaker[any] // StrategyTrip only
	phase     atomic.Uint64                  // StrategyTrip: generation<<2 | State, as gobreaker changes state
	failures  atomic.Int64                   // StrategyTrip: failures in a row while closed
	override  atomic.Uint32
	openUntil atomic.Int64 // unix nanoseconds by clock; 0 when not open

	mu       sync.Mutex
	win      *window // StrategyTrip: a=failures b=counted; StrategyThrottle: a=requests b=accepts
	reason   string  // why it last opened
	state    State   // StrategyThrottle's last reported state
	events   []StateChange
	eventsIn atomic.Bool
}

// NewBreaker returns a breaker named name (the name appears in errors and
// events, so use the callee's: "inventory"). It reads the options
// [WithClock], [WithStateChange] and [WithClassifier].
func NewBreaker(name string, cfg BreakerConfig, opts ...Option) *Breaker {
	o := buildOptions(opts)
	return newBreaker(name, cfg.withDefaults(), o)
}

func newBreaker(name string, cfg BreakerConfig, o options) *Breaker {
	b := &Breaker{
		name:     name,
		cfg:      cfg,
		clock:    o.clock,
		classify: o.classifier,
		observer: o.observer,
		random:   o.random,
		watch:    newStopwatch(o.clock),
		win:      newWindow(cfg.Window, 10, 0),
	}
	if cfg.Strategy == StrategyThrottle {
		return b
	}
	// The breaker times its open state by its own clock. gobreaker reads
	// the system clock, so with the system clock it keeps the same timeout
	// (it then also refuses calls that passed the breaker's check just
	// before another call tripped it); with any other clock it must not
	// hold calls back on its own, and its timeout is made negligible.
	timeout := time.Nanosecond
	if _, ok := o.clock.(systemClock); ok {
		timeout = cfg.OpenTimeout
	}
	b.cb = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:          name,
		MaxRequests:   uint32(cfg.Probes),
		Timeout:       timeout,
		ReadyToTrip:   b.readyToTrip,
		OnStateChange: b.onStateChange,
		IsSuccessful:  func(err error) bool { return err == nil },
		IsExcluded:    func(err error) bool { return err == errIgnored },
	})
	return b
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// Override sets or clears an operator's override. ForceOpen refuses every
// call; ForceClosed lets every call through uncounted; Auto hands control
// back to the strategy. The change is reported as a [StateChange].
func (b *Breaker) Override(o Override) {
	before := b.State()
	b.override.Store(uint32(o))
	if after := b.State(); after != before {
		b.emit(StateChange{Breaker: b.name, From: before, To: after, At: b.clock.Now(), Reason: "operator set " + o.String()})
	}
	b.flush()
}

// State returns the breaker's current state. Under ForceOpen it is
// StateOpen and under ForceClosed StateClosed.
func (b *Breaker) State() State {
	switch Override(b.override.Load()) {
	case ForceOpen:
		return StateOpen
	case ForceClosed:
		return StateClosed
	}
	if b.cb == nil {
		now := b.watch.elapsed()
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.rejectProbability(now) > 0 {
			return StateThrottling
		}
		return StateClosed
	}
	if b.clock.Now().UnixNano() < b.openUntil.Load() {
		return StateOpen
	}
	defer b.flush()
	switch b.cb.State() {
	case gobreaker.StateOpen:
		// gobreaker's own timer has not run out yet (system clock only).
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
	case ForceOpen:
		return nil, b.refusal("was forced open by an operator; it stays open until the override is lifted", 0)
	case ForceClosed:
		return next(ctx, request)
	}
	if b.cb == nil {
		return b.throttle(ctx, request, next)
	}
	if until := b.openUntil.Load(); until != 0 {
		if wait := time.Duration(until - b.clock.Now().UnixNano()); wait > 0 {
			return nil, b.openRefusal(wait)
		}
	}
	if phase := b.phase.Load(); State(phase&3) == StateClosed {
		return b.callClosed(ctx, request, next, phase)
	}
	var (
		response any
		err      error
	)
	_, verdict := b.cb.Execute(func() (any, error) {
		response, err = next(ctx, request)
		switch b.count(b.classify(ctx, err)) {
		case Failure:
			return nil, errFailed
		case Success:
			return nil, nil
		}
		return nil, errIgnored
	})
	if b.eventsIn.Load() {
		b.flush()
	}
	switch verdict {
	case gobreaker.ErrOpenState:
		wait := time.Duration(b.openUntil.Load() - b.clock.Now().UnixNano())
		return nil, b.openRefusal(max(wait, time.Millisecond))
	case gobreaker.ErrTooManyRequests:
		return nil, b.refusal(fmt.Sprintf("is half-open and its %d probe(s) are in flight", b.cfg.Probes), min(b.cfg.OpenTimeout, time.Second))
	}
	return response, err
}

// callClosed is the call path of a breaker that is closed, which is to say
// of nearly every call. While closed, gobreaker needs to hear only of
// failures: readyToTrip reads the breaker's own count of failures in a row,
// not gobreaker's, so a success changes nothing gobreaker acts on, and the
// call skips gobreaker's two locks and two readings of the wall clock
// (three quarters of the breaker's cost). A failure is then told to
// gobreaker as a call of its own, which counts it and asks readyToTrip.
// As gobreaker does, a call that ends after the state changed is not
// counted.
func (b *Breaker) callClosed(ctx context.Context, request any, next endpoint.Endpoint, phase uint64) (response any, err error) {
	returned := false
	defer func() {
		if !returned { // next panicked: gobreaker counts that as a failure
			b.closedOutcome(phase, Failure)
		}
	}()
	response, err = next(ctx, request)
	returned = true
	b.closedOutcome(phase, b.classify(ctx, err))
	return response, err
}

func (b *Breaker) closedOutcome(phase uint64, outcome Outcome) {
	if outcome == Ignored || b.phase.Load() != phase {
		return
	}
	if b.count(outcome) == Failure {
		_, _ = b.cb.Execute(func() (any, error) { return nil, errFailed })
		b.flush()
	}
}

// count records a call's outcome in the breaker's own counts: the failures
// in a row and the rolling window.
func (b *Breaker) count(outcome Outcome) Outcome {
	switch outcome {
	case Failure:
		b.failures.Add(1)
		if b.cfg.FailureRatio > 0 {
			b.record(1)
		}
	case Success:
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		if b.cfg.FailureRatio > 0 {
			b.record(0)
		}
	}
	return outcome
}

func (b *Breaker) record(failed int64) {
	now := b.watch.elapsed()
	b.mu.Lock()
	b.win.add(now, failed, 1)
	b.mu.Unlock()
}

// readyToTrip runs under gobreaker's lock on each failure while closed.
func (b *Breaker) readyToTrip(gobreaker.Counts) bool {
	if n, failures := b.cfg.ConsecutiveFailures, b.failures.Load(); n > 0 && failures >= int64(n) {
		b.mu.Lock()
		b.reason = fmt.Sprintf("after %d consecutive failures", failures)
		b.mu.Unlock()
		return true
	}
	if b.cfg.FailureRatio <= 0 {
		return false
	}
	now := b.watch.elapsed()
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.win.totals(now)
	if t.b < int64(b.cfg.MinRequests) || float64(t.a) < b.cfg.FailureRatio*float64(t.b) {
		return false
	}
	b.reason = fmt.Sprintf("after %d of %d calls failed in the last %s", t.a, t.b, b.cfg.Window)
	return true
}

// onStateChange runs under gobreaker's lock.
func (b *Breaker) onStateChange(_ string, from, to gobreaker.State) {
	now, elapsed := b.clock.Now(), b.watch.elapsed()
	b.phase.Store((b.phase.Load()>>2+1)<<2 | uint64(fromGobreaker(to)))
	b.failures.Store(0) // gobreaker clears its counts too
	b.mu.Lock()
	defer b.mu.Unlock()
	var reason string
	switch to {
	case gobreaker.StateOpen:
		b.openUntil.Store(now.Add(b.cfg.OpenTimeout).UnixNano())
		if from == gobreaker.StateHalfOpen {
			b.reason = "after a probe failed"
		}
		reason = b.reason
	case gobreaker.StateHalfOpen:
		b.openUntil.Store(0)
		reason = "open timeout ended"
	case gobreaker.StateClosed:
		b.win.reset(elapsed)
		reason = "probe succeeded"
	}
	b.queue(StateChange{Breaker: b.name, From: fromGobreaker(from), To: fromGobreaker(to), At: now, Reason: reason})
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

// queue holds an event until flush; b.mu must be held.
func (b *Breaker) queue(e StateChange) {
	if b.observer == nil {
		return
	}
	b.events = append(b.events, e)
	b.eventsIn.Store(true)
}

func (b *Breaker) emit(e StateChange) {
	b.mu.Lock()
	b.queue(e)
	b.mu.Unlock()
}

// flush hands queued events to the observer, outside every lock.
func (b *Breaker) flush() {
	if !b.eventsIn.Load() {
		return
	}
	b.mu.Lock()
	events := b.events
	b.events = nil
	b.eventsIn.Store(false)
	b.mu.Unlock()
	for _, e := range events {
		b.observer(e)
	}
}

func (b *Breaker) openRefusal(wait time.Duration) error {
	b.mu.Lock()
	reason := b.reason
	b.mu.Unlock()
	return b.refusal(fmt.Sprintf("opened %s; it lets a probe through in %s", reason, wait.Round(time.Millisecond)), wait)
}

func (b *Breaker) refusal(why string, retryAfter time.Duration) error {
	return &fault.Error{
		Kind:       fault.Unavailable,
		Detail:     fmt.Sprintf("circuit breaker %q %s; retry later", b.name, why),
		RetryAfter: retryAfter,
		Cause:      ErrOpen,
	}
}

// throttle is StrategyThrottle's call path.
func (b *Breaker) throttle(ctx context.Context, request any, next endpoint.Endpoint) (any, error) {
	now := b.watch.elapsed()
	b.mu.Lock()
	p := b.rejectProbability(now)
	b.noteThrottleState(now, p)
	if p > 0 && b.random() < p {
		// Refused calls are not counted as requests: if they were, a
		// long outage would keep the probability near 1 for several
		// windows after the callee recovered.
		t := b.win.sum
		b.mu.Unlock()
		b.flush()
		return nil, b.refusal(fmt.Sprintf("is throttling: it refuses %.0f%% of calls because the callee accepted %d of %d in the last %s", p*100, t.b, t.a, b.cfg.Window), b.cfg.Window/10)
	}
	b.mu.Unlock()
	if b.eventsIn.Load() {
		b.flush()
	}
	response, err := next(ctx, request)
	switch b.classify(ctx, err) {
	case Success:
		b.throttleRecord(1)
	case Failure:
		b.throttleRecord(0)
	}
	return response, err
}

func (b *Breaker) throttleRecord(accepted int64) {
	now := b.watch.elapsed()
	b.mu.Lock()
	b.win.add(now, 1, accepted)
	b.mu.Unlock()
}

// rejectProbability is the SRE formula; b.mu must be held.
func (b *Breaker) rejectProbability(now time.Duration) float64 {
	t := b.win.totals(now)
	p := (float64(t.a) - b.cfg.K*float64(t.b)) / float64(t.a+1)
	return max(p, 0)
}

// noteThrottleState emits an event when throttling starts or stops; b.mu
// must be held.
func (b *Breaker) noteThrottleState(now time.Duration, p float64) {
	s := StateClosed
	reason := "the callee accepts enough calls again"
	if p > 0 {
		s = StateThrottling
		reason = fmt.Sprintf("the callee accepted too few calls in the last %s", b.cfg.Window)
	}
	if s != b.state {
		b.queue(StateChange{Breaker: b.name, From: b.state, To: s, At: b.watch.at(now), Reason: reason})
		b.state = s
	}
}
