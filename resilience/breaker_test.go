package resilience

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// stub is an endpoint that returns err and counts its calls.
type stub struct {
	err   error
	calls int
}

func (s *stub) endpoint(context.Context, any) (any, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return "ok", nil
}

func TestClassify(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Outcome
	}{
		{"nil", context.Background(), nil, OutcomeSuccess},
		{"unavailable", context.Background(), fault.New(fault.Unavailable, "down"), OutcomeFailure},
		{"deadline exceeded", context.Background(), context.DeadlineExceeded, OutcomeFailure},
		{"internal", context.Background(), fault.New(fault.Internal, "bug"), OutcomeFailure},
		{"connection refused", context.Background(), refused, OutcomeFailure},
		{"unexpected EOF", context.Background(), io.ErrUnexpectedEOF, OutcomeFailure},
		{"bad request", context.Background(), fault.New(fault.InvalidArgument, "bad"), OutcomeSuccess},
		{"not found", context.Background(), fault.New(fault.NotFound, "no"), OutcomeSuccess},
		{"conflict", context.Background(), fault.New(fault.Conflict, "taken"), OutcomeSuccess},
		{"unauthenticated", context.Background(), fault.New(fault.Unauthenticated, "who"), OutcomeSuccess},
		{"too many requests", context.Background(), fault.New(fault.ResourceExhausted, "slow down"), OutcomeSuccess},
		{"caller canceled", canceled, context.Canceled, OutcomeIgnored},
		{"canceled kind", context.Background(), fault.New(fault.Canceled, "gone"), OutcomeIgnored},
		{"canceled ctx, callee error", canceled, fault.New(fault.Unavailable, "down"), OutcomeIgnored},
		{"own breaker open", context.Background(), &fault.Error{Kind: fault.Unavailable, Cause: ErrOpen}, OutcomeIgnored},
		{"bulkhead below full", context.Background(), &fault.Error{Kind: fault.ResourceExhausted, Cause: ErrBulkheadFull}, OutcomeIgnored},
		{"wrapped rejection", context.Background(), fmt.Errorf("call: %w", &fault.Error{Kind: fault.Unavailable, Cause: ErrOpen}), OutcomeIgnored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.ctx, tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// pastOpenTimeout is how far past its open timeout a breaker lets a probe
// through: gobreaker half-opens once the timeout has passed, not at it.
const pastOpenTimeout = time.Nanosecond

type recorder struct{ events []StateChange }

func (r *recorder) observe(e StateChange) { r.events = append(r.events, e) }

func (r *recorder) transitions() string {
	s := ""
	for _, e := range r.events {
		s += fmt.Sprintf("%s>%s;", e.From, e.To)
	}
	return s
}

func call(b endpoint.Endpoint) error {
	_, err := b(context.Background(), "req")
	return err
}

func TestBreakerTripsOnConsecutiveFailures(t *testing.T) {
	tests := []struct {
		name     string
		cfg      BreakerConfig
		failures int
		want     State
	}{
		{"below threshold", BreakerConfig{ConsecutiveFailures: 3, FailureRatio: -1}, 2, StateClosed},
		{"at threshold", BreakerConfig{ConsecutiveFailures: 3, FailureRatio: -1}, 3, StateOpen},
		{"default five", BreakerConfig{FailureRatio: -1}, 5, StateOpen},
		{"default four", BreakerConfig{FailureRatio: -1}, 4, StateClosed},
		{"rule off", BreakerConfig{ConsecutiveFailures: -1, FailureRatio: -1}, 100, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker("inventory", tt.cfg)
			s := &stub{err: fault.New(fault.Unavailable, "down")}
			e := b.Middleware()(s.endpoint)
			for range tt.failures {
				_ = call(e)
			}
			if got := b.State(); got != tt.want {
				t.Errorf("after %d failures: got state %v, want %v", tt.failures, got, tt.want)
			}
		})
	}
}

func TestBreakerTripsOnFailureRatio(t *testing.T) {
	tests := []struct {
		name             string
		calls, failEvery int // every failEvery-th call fails
		want             State
	}{
		{"half of 20 fail", 20, 2, StateOpen},
		{"a third of 30 fail", 30, 3, StateClosed},
		{"half of 10 fail: too few", 10, 2, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: -1})
			s := &stub{}
			e := b.Middleware()(s.endpoint)
			for i := 1; i <= tt.calls; i++ {
				s.err = nil
				if i%tt.failEvery == 0 {
					s.err = fault.New(fault.Unavailable, "down")
				}
				_ = call(e)
			}
			if got := b.State(); got != tt.want {
				t.Errorf("got state %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBreakerRatioWindowRolls(t *testing.T) { synctest.Test(t, testBreakerRatioWindowRolls) }

func testBreakerRatioWindowRolls(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: -1, MinRequests: 10, Window: 10 * time.Second})
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := b.Middleware()(s.endpoint)
	for range 9 { // 9 failures, one short of MinRequests
		_ = call(e)
	}
	time.Sleep(11 * time.Second) // they leave the window
	s.err = nil
	for range 9 {
		_ = call(e)
	}
	s.err = fault.New(fault.Unavailable, "down")
	_ = call(e) // 1 of 10 failed
	if got := b.State(); got != StateClosed {
		t.Errorf("got state %v, want %v: old failures should have left the window", got, StateClosed)
	}
}

// A breaker must close once the callee recovers: go-zero's stayed open for
// about 15 minutes after recovery (go-zero #4101).
func TestBreakerRecoversAfterOpenTimeout(t *testing.T) {
	synctest.Test(t, testBreakerRecoversAfterOpenTimeout)
}

func testBreakerRecoversAfterOpenTimeout(t *testing.T) {
	rec := &recorder{}
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 5 * time.Second}, WithStateChange(rec.observe))
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := b.Middleware()(s.endpoint)
	for range 3 {
		_ = call(e)
	}
	err := call(e)
	if !errors.Is(err, ErrOpen) || !errors.Is(err, fault.Unavailable) {
		t.Fatalf("got %v, want an unavailable error caused by ErrOpen", err)
	}
	if got, want := fault.RetryAfter(err), 5*time.Second; got != want {
		t.Errorf("got RetryAfter %v, want %v", got, want)
	}
	if s.calls != 3 {
		t.Errorf("got %d calls to the callee while open, want 3", s.calls)
	}
	s.err = nil // the callee recovers
	time.Sleep(4 * time.Second)
	if err := call(e); !errors.Is(err, ErrOpen) {
		t.Errorf("before the open timeout: got %v, want ErrOpen", err)
	}
	time.Sleep(time.Second + pastOpenTimeout)
	if err := call(e); err != nil {
		t.Errorf("the probe after the open timeout: got %v, want success", err)
	}
	if got := b.State(); got != StateClosed {
		t.Errorf("after a successful probe: got state %v, want %v", got, StateClosed)
	}
	if got, want := rec.transitions(), "closed>open;open>half-open;half-open>closed;"; got != want {
		t.Errorf("got events %q, want %q", got, want)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) { synctest.Test(t, testBreakerFailedProbeReopens) }

func testBreakerFailedProbeReopens(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Second})
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := b.Middleware()(s.endpoint)
	_ = call(e)
	time.Sleep(time.Second + pastOpenTimeout)
	_ = call(e) // the probe fails
	if got := b.State(); got != StateOpen {
		t.Fatalf("after a failed probe: got state %v, want %v", got, StateOpen)
	}
	err := call(e)
	if got, want := fault.RetryAfter(err), time.Second; got != want {
		t.Errorf("got RetryAfter %v, want %v (a full new open timeout)", got, want)
	}
}

// The breaker's own refusals must never count as failures: Kratos's did,
// so its breaker never closed (kratos #2777).
func TestBreakerRefusalsAreNotFailures(t *testing.T) {
	synctest.Test(t, testBreakerRefusalsAreNotFailures)
}

func testBreakerRefusalsAreNotFailures(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 2, FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Second})
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := b.Middleware()(s.endpoint)
	_, _ = call(e), call(e)
	for range 1000 { // a storm of refused calls
		_ = call(e)
	}
	s.err = nil
	time.Sleep(time.Second + pastOpenTimeout)
	for i := range 10 {
		if err := call(e); err != nil {
			t.Fatalf("call %d after recovery: got %v, want success", i, err)
		}
	}
	if got := b.State(); got != StateClosed {
		t.Errorf("got state %v, want %v", got, StateClosed)
	}
}

// An outer breaker does not count the refusals of a breaker below it.
func TestBreakerIgnoresRefusalsBelow(t *testing.T) {
	outer := NewBreaker("service", BreakerConfig{ConsecutiveFailures: 2})
	inner := NewBreaker("instance", BreakerConfig{ConsecutiveFailures: 1})
	inner.SetOverride(OverrideForceOpen)
	s := &stub{}
	e := outer.Middleware()(inner.Middleware()(s.endpoint))
	for range 10 {
		_ = call(e)
	}
	if got := outer.State(); got != StateClosed {
		t.Errorf("outer breaker: got state %v, want %v", got, StateClosed)
	}
}

// 4xx answers and the caller's cancellations never open the breaker.
func TestBreakerNotTrippedByClientErrors(t *testing.T) {
	for _, err := range []error{
		fault.New(fault.InvalidArgument, "bad"),
		fault.New(fault.NotFound, "none"),
		context.Canceled,
	} {
		t.Run(fault.KindOf(err).String(), func(t *testing.T) {
			b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1, MinRequests: 1})
			e := b.Middleware()((&stub{err: err}).endpoint)
			ctx, cancel := context.WithCancel(context.Background())
			if errors.Is(err, context.Canceled) {
				cancel()
			}
			defer cancel()
			for range 10 {
				_, _ = e(ctx, "req")
			}
			if got := b.State(); got != StateClosed {
				t.Errorf("got state %v, want %v", got, StateClosed)
			}
		})
	}
}

func TestBreakerOverride(t *testing.T) {
	rec := &recorder{}
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1}, WithStateChange(rec.observe))
	s := &stub{}
	e := b.Middleware()(s.endpoint)

	b.SetOverride(OverrideForceOpen)
	err := call(e)
	if !errors.Is(err, ErrOpen) {
		t.Errorf("forced open: got %v, want ErrOpen", err)
	}
	b.SetOverride(OverrideForceClosed)
	s.err = fault.New(fault.Unavailable, "down")
	for range 5 {
		_ = call(e)
	}
	if s.calls != 5 {
		t.Errorf("forced closed: got %d calls through, want 5", s.calls)
	}
	b.SetOverride(OverrideAuto)
	if got := b.State(); got != StateClosed {
		t.Errorf("back to auto: got state %v, want %v (failures under ForceClosed are not counted)", got, StateClosed)
	}
	if got, want := rec.transitions(), "closed>open;open>closed;"; got != want {
		t.Errorf("got events %q, want %q", got, want)
	}
}

func TestBreakerErrorSaysWhatAndWhen(t *testing.T) { synctest.Test(t, testBreakerErrorSaysWhatAndWhen) }

func testBreakerErrorSaysWhatAndWhen(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 3 * time.Second})
	e := b.Middleware()((&stub{err: fault.New(fault.Unavailable, "down")}).endpoint)
	_, _ = call(e), call(e)
	time.Sleep(time.Second)
	got := fault.As(call(e)).Detail
	want := `circuit breaker "inventory" opened after 2 consecutive failures; it lets a probe through in 2s; retry later`
	if got != want {
		t.Errorf("got detail %q, want %q", got, want)
	}
}

// The event observer may call the breaker's methods without deadlock.
func TestBreakerObserverMayCallBreaker(t *testing.T) {
	var b *Breaker
	var states []State
	b = NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1}, WithStateChange(func(StateChange) {
		states = append(states, b.State())
	}))
	_ = call(b.Middleware()((&stub{err: fault.New(fault.Unavailable, "down")}).endpoint))
	if len(states) != 1 || states[0] != StateOpen {
		t.Errorf("got states %v seen by the observer, want [open]", states)
	}
}

func TestBreakersKeyedAndBounded(t *testing.T) {
	key := func(_ context.Context, request any) string { return request.(string) }
	set := NewBreakers("inventory", key, BreakerConfig{ConsecutiveFailures: 1, MaxKeys: 2})
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := set.Middleware()(s.endpoint)
	_, _ = e(context.Background(), "10.0.0.1")
	if got := set.Get("10.0.0.1").State(); got != StateOpen {
		t.Errorf("instance 1: got %v, want %v", got, StateOpen)
	}
	if got := set.Get("10.0.0.2").State(); got != StateClosed {
		t.Errorf("instance 2: got %v, want %v", got, StateClosed)
	}
	if got, want := set.Get("10.0.0.1").Name(), "inventory/10.0.0.1"; got != want {
		t.Errorf("got name %q, want %q", got, want)
	}
	for i := range 100 {
		set.Get(fmt.Sprint("10.0.1.", i))
	}
	if got := set.Len(); got != 2 {
		t.Errorf("got %d breakers held, want 2", got)
	}
}

// Adaptive throttling must stop refusing once the callee recovers, within
// one window.
func TestThrottleRecoversWithinWindow(t *testing.T) {
	synctest.Test(t, testThrottleRecoversWithinWindow)
}

func testThrottleRecoversWithinWindow(t *testing.T) {
	rec := &recorder{}
	b := NewThrottle("inventory", ThrottleConfig{Window: 10 * time.Second}, WithStateChange(rec.observe))
	draws := 0
	b.random = func() float64 { draws++; return float64(draws%20) / 20 }
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	e := b.Middleware()(s.endpoint)
	for range 100 {
		_ = call(e)
		time.Sleep(100 * time.Millisecond)
	}
	if got := b.State(); got != StateThrottling {
		t.Fatalf("during the outage: got %v, want %v", got, StateThrottling)
	}
	before := s.calls
	for range 100 {
		_ = call(e)
	}
	if s.calls-before > 25 {
		t.Errorf("during the outage: %d of 100 calls reached the callee, want most refused", s.calls-before)
	}
	s.err = nil
	for range 110 {
		_ = call(e)
		time.Sleep(100 * time.Millisecond)
	}
	if got := b.State(); got != StateClosed {
		t.Errorf("one window after recovery: got %v, want %v", got, StateClosed)
	}
	if got, want := rec.transitions(), "closed>throttling;throttling>closed;"; got != want {
		t.Errorf("got events %q, want %q", got, want)
	}
}

// A success resets the count of failures in a row.
func TestBreakerSuccessResetsConsecutiveFailures(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 3, FailureRatio: -1})
	s := &stub{}
	e := b.Middleware()(s.endpoint)
	down := fault.New(fault.Unavailable, "down")
	for i, fail := range []bool{true, true, false, true, true} {
		s.err = nil
		if fail {
			s.err = down
		}
		_ = call(e)
		if got := b.State(); got != StateClosed {
			t.Fatalf("after call %d: got state %v, want %v", i, got, StateClosed)
		}
	}
	s.err = down
	_ = call(e)
	if got := b.State(); got != StateOpen {
		t.Errorf("after 3 failures in a row: got state %v, want %v", got, StateOpen)
	}
}

// A panic in the endpoint counts as a failure, as gobreaker counts it.
func TestBreakerCountsPanics(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1})
	e := b.Middleware()(func(context.Context, any) (any, error) { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("got no panic, want it passed on")
			}
		}()
		_ = call(e)
	}()
	if got := b.State(); got != StateOpen {
		t.Errorf("got state %v, want %v", got, StateOpen)
	}
}

// A call that began before the breaker changed state is not counted, as
// gobreaker counts none from an earlier generation.
func TestBreakerIgnoresOutcomesOfEarlierGenerations(t *testing.T) {
	synctest.Test(t, testBreakerIgnoresOutcomesOfEarlierGenerations)
}

func testBreakerIgnoresOutcomesOfEarlierGenerations(t *testing.T) {
	b := NewBreaker("inventory", BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Second})
	down := fault.New(fault.Unavailable, "down")
	var e endpoint.Endpoint
	depth := 0
	e = b.Middleware()(func(ctx context.Context, _ any) (any, error) {
		depth++
		switch depth {
		case 1: // the slow call: meanwhile the breaker opens and closes again
			_, _ = e(ctx, nil)
			time.Sleep(time.Second + pastOpenTimeout)
			_, _ = e(ctx, nil)
			return nil, down
		case 2: // opens the breaker
			return nil, down
		}
		return "ok", nil // the probe that closes it
	})
	_, _ = e(context.Background(), nil)
	if got := b.State(); got != StateClosed {
		t.Errorf("got state %v, want %v: the slow call's failure belongs to an earlier generation", got, StateClosed)
	}
}

func TestBreakersOverride(t *testing.T) {
	key := func(_ context.Context, request any) string { return request.(string) }
	set := NewBreakers("inventory", key, BreakerConfig{})
	e := set.Middleware()((&stub{}).endpoint)
	_, _ = e(context.Background(), "10.0.0.1")
	set.SetOverride(OverrideForceOpen)
	for _, k := range []string{"10.0.0.1", "10.0.0.2"} { // one held, one made after
		if _, err := e(context.Background(), k); !errors.Is(err, ErrOpen) {
			t.Errorf("%s under a set-wide ForceOpen: got %v, want ErrOpen", k, err)
		}
	}
	set.SetOverride(OverrideAuto)
	for _, k := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if _, err := e(context.Background(), k); err != nil {
			t.Errorf("%s back to auto: got %v, want success", k, err)
		}
	}
}

func TestBreakersDropIdle(t *testing.T) { synctest.Test(t, testBreakersDropIdle) }

func testBreakersDropIdle(t *testing.T) {
	key := func(_ context.Context, request any) string { return request.(string) }
	set := NewBreakers("inventory", key, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Hour, IdleTimeout: time.Minute})
	e := set.Middleware()((&stub{err: fault.New(fault.Unavailable, "down")}).endpoint)
	_, _ = e(context.Background(), "10.0.0.1")
	time.Sleep(30 * time.Second)
	_, _ = e(context.Background(), "10.0.0.2")
	time.Sleep(30 * time.Second)
	if got := set.Len(); got != 1 {
		t.Errorf("after a minute: got %d breakers held, want 1 (10.0.0.1 idle)", got)
	}
	if got := set.Get("10.0.0.2").State(); got != StateOpen {
		t.Errorf("10.0.0.2, used 30s ago: got %v, want %v", got, StateOpen)
	}
	if got := set.Get("10.0.0.1").State(); got != StateClosed {
		t.Errorf("10.0.0.1, dropped when idle: got %v, want a fresh %v breaker", got, StateClosed)
	}
}
