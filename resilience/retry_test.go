package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// script is an endpoint that returns its errors in turn, then succeeds,
// and records when each call came.
type script struct {
	errs  []error
	calls int
	at    []time.Time
}

func (s *script) endpoint(context.Context, any) (any, error) {
	s.calls++
	s.at = append(s.at, time.Now())
	if s.calls <= len(s.errs) {
		return nil, s.errs[s.calls-1]
	}
	return "ok", nil
}

// waits returns the time between consecutive calls.
func (s *script) waits() []time.Duration {
	var w []time.Duration
	for k := 1; k < len(s.at); k++ {
		w = append(w, s.at[k].Sub(s.at[k-1]))
	}
	return w
}

func TestRetry(t *testing.T) {
	unavailable := fault.New(fault.Unavailable, "down")
	tests := []struct {
		name       string
		cfg        RetryConfig
		idempotent bool
		errs       []error
		wantCalls  int
		wantErr    bool
	}{
		{"success first time", RetryConfig{}, true, nil, 1, false},
		{"retries unavailable", RetryConfig{}, true, []error{unavailable}, 2, false},
		{"gives up after MaxAttempts", RetryConfig{MaxAttempts: 3}, true, []error{unavailable, unavailable, unavailable, unavailable}, 3, true},
		{"never retries 4xx (dapr #4568)", RetryConfig{}, true, []error{fault.New(fault.InvalidArgument, "bad")}, 1, true},
		{"never retries not found", RetryConfig{}, true, []error{fault.New(fault.NotFound, "no")}, 1, true},
		{"never retries internal", RetryConfig{}, true, []error{fault.New(fault.Internal, "bug")}, 1, true},
		{"retries deadline exceeded", RetryConfig{}, true, []error{context.DeadlineExceeded}, 2, false},
		{"retries resource exhausted", RetryConfig{}, true, []error{fault.New(fault.ResourceExhausted, "busy")}, 2, false},
		{"not idempotent: no retry", RetryConfig{}, false, []error{unavailable}, 1, true},
		{"policy flag: all idempotent", RetryConfig{AllIdempotent: true}, false, []error{unavailable}, 2, false},
		{"retry-after too long: give up", RetryConfig{MaxDelay: time.Second}, true, []error{&fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second}}, 1, true},
		{"MaxAttempts 1: off", RetryConfig{MaxAttempts: 1}, true, []error{unavailable}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{errs: tt.errs}
				e := NewRetry(tt.cfg).Middleware()(s.endpoint)
				ctx := context.Background()
				if tt.idempotent {
					ctx = WithIdempotent(ctx)
				}
				_, err := e(ctx, "req")
				if s.calls != tt.wantCalls {
					t.Errorf("got %d calls, want %d", s.calls, tt.wantCalls)
				}
				if (err != nil) != tt.wantErr {
					t.Errorf("got error %v, want error: %v", err, tt.wantErr)
				}
			})
		})
	}
}

// Each wait is drawn from zero to the ceiling, which doubles from BaseDelay
// up to MaxDelay: over many calls every wait stays under its ceiling, and
// some come close to it.
func TestRetryBackoffIsFullJitterExponential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unavailable := fault.New(fault.Unavailable, "down")
		ceilings := []time.Duration{100, 200, 300, 300, 300}
		r := NewRetry(RetryConfig{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond, Budget: BudgetConfig{Disabled: true}})
		longest := make([]time.Duration, len(ceilings))
		for range 200 {
			s := &script{errs: []error{unavailable, unavailable, unavailable, unavailable, unavailable}}
			_, _ = r.Middleware()(s.endpoint)(WithIdempotent(context.Background()), "req")
			waits := s.waits()
			if len(waits) != len(ceilings) {
				t.Fatalf("got waits %v, want %d of them", waits, len(ceilings))
			}
			for i, w := range waits {
				if w > ceilings[i]*time.Millisecond {
					t.Fatalf("wait %d: got %v, want at most %v", i, w, ceilings[i]*time.Millisecond)
				}
				longest[i] = max(longest[i], w)
			}
		}
		for i, w := range longest {
			if c := ceilings[i] * time.Millisecond; w < c*9/10 {
				t.Errorf("wait %d: longest of 200 is %v, want close to its ceiling %v", i, w, c)
			}
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{errs: []error{&fault.Error{Kind: fault.Unavailable, RetryAfter: 700 * time.Millisecond}}}
		r := NewRetry(RetryConfig{BaseDelay: time.Millisecond})
		if _, err := r.Middleware()(s.endpoint)(WithIdempotent(context.Background()), "req"); err != nil {
			t.Fatalf("got %v, want success", err)
		}
		if got := s.waits(); len(got) != 1 || got[0] != 700*time.Millisecond {
			t.Errorf("got waits %v, want [700ms]", got)
		}
	})
}

func TestRetryNeverSleepsPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{errs: []error{&fault.Error{Kind: fault.Unavailable, RetryAfter: 500 * time.Millisecond}}}
		ctx, cancel := context.WithTimeout(WithIdempotent(context.Background()), 400*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := NewRetry(RetryConfig{}).Middleware()(s.endpoint)(ctx, "req")
		if err == nil || s.calls != 1 {
			t.Errorf("got %d calls and error %v, want 1 call and the first error", s.calls, err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("got a wait of %v, want none", waited)
		}
	})
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{errs: []error{fault.New(fault.Unavailable, "down")}}
		ctx, cancel := context.WithCancel(WithIdempotent(context.Background()))
		done := make(chan error)
		go func() {
			_, err := NewRetry(RetryConfig{}).Middleware()(s.endpoint)(ctx, "req")
			done <- err
		}()
		synctest.Wait() // the retry is in its backoff
		cancel()
		if err := <-done; !errors.Is(err, fault.Unavailable) {
			t.Errorf("got %v, want the last attempt's error", err)
		}
		if s.calls != 1 {
			t.Errorf("got %d calls, want 1", s.calls)
		}
	})
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name        string
		cfg         BudgetConfig
		calls       int
		elapsed     time.Duration
		wantRetries int
	}{
		{"floor only at start", BudgetConfig{Ratio: 0.1, MinPerSecond: 5}, 0, 0, 5},
		{"ratio of calls", BudgetConfig{Ratio: 0.1, MinPerSecond: 5}, 100, 0, 15},
		{"floor refills", BudgetConfig{Ratio: 0.1, MinPerSecond: 5}, 0, 2 * time.Second, 15},
		{"capped", BudgetConfig{Ratio: 0.1, MinPerSecond: 5, MaxTokens: 20}, 1000, time.Hour, 20},
		{"disabled", BudgetConfig{Disabled: true}, 0, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := NewBudget(tt.cfg)
				for range tt.calls {
					b.deposit()
				}
				time.Sleep(tt.elapsed)
				got := 0
				for got < 1000 && b.withdraw() {
					got++
				}
				if got != tt.wantRetries {
					t.Errorf("got %d retries allowed, want %d", got, tt.wantRetries)
				}
				wantRefused := uint64(1)
				if tt.cfg.Disabled {
					wantRefused = 0
				}
				if r := b.Refused(); r != wantRefused {
					t.Errorf("Refused() = %d, want %d", r, wantRefused)
				}
			})
		})
	}
}

// In a full outage, attempts stay within (1 + Ratio) × calls + the floor.
func TestRetryBudgetCapsAttemptsInOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stub{err: fault.New(fault.Unavailable, "down")}
		r := NewRetry(RetryConfig{MaxAttempts: 5, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond, Budget: BudgetConfig{Ratio: 0.1, MinPerSecond: 10}})
		e := r.Middleware()(s.endpoint)
		ctx := WithIdempotent(context.Background())
		const calls = 1000
		for range calls {
			_, _ = e(ctx, "req")
		}
		if limit := calls + calls/10 + 10; s.calls > limit {
			t.Errorf("got %d attempts for %d calls, want at most %d", s.calls, calls, limit)
		}
	})
}

// An open breaker refuses at once, and a retry above it does not wait it
// out: with a 300 ms open timeout, 100 calls to a dead callee once took
// 30 s, and a call that waited could become the half-open probe with no
// time left, fail, and open the breaker again while the callee was well.
func TestRetryDoesNotWaitOutAnOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stub{err: fault.New(fault.Unavailable, "down")}
		p := NewPolicy(PolicyConfig{
			Name:    "inventory",
			Retry:   &RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second},
			Breaker: &BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 300 * time.Millisecond},
		})
		e := p.Middleware()(s.endpoint)
		ctx := WithIdempotent(context.Background())
		_, _ = e(ctx, "req") // three failed attempts open the breaker
		if got := p.Breaker().State(); got != StateOpen {
			t.Fatalf("got state %v, want %v", got, StateOpen)
		}
		reached, start := s.calls, time.Now()
		for k := range 100 {
			if _, err := e(ctx, "req"); !errors.Is(err, ErrOpen) {
				t.Fatalf("call %d: got %v, want the breaker's refusal", k, err)
			}
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("100 calls refused by an open breaker took %v, want no time at all", took)
		}
		if s.calls != reached {
			t.Errorf("got %d calls to the callee while open, want none", s.calls-reached)
		}
	})
}

// With a breaker per instance below it, a retry whose attempt an open
// breaker refused goes at once to another instance, if the call says it
// may (WithFailover); without that mark it gives up with the refusal.
func TestRetryFailsOverFromAnOpenInstanceBreaker(t *testing.T) {
	for _, marked := range []bool{true, false} {
		t.Run(map[bool]string{true: "failover", false: "no failover"}[marked], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				instances := []string{"10.0.0.1", "10.0.0.2"}
				var tried []string
				pick := func(_ context.Context, _ any) string {
					k := instances[len(tried)%len(instances)]
					tried = append(tried, k)
					return k
				}
				set := NewBreakers("inventory", pick, BreakerConfig{})
				set.Get("10.0.0.1").SetOverride(OverrideForceOpen)
				var e endpoint.Endpoint = func(_ context.Context, request any) (any, error) { return "ok", nil }
				e = NewRetry(RetryConfig{}).Middleware()(set.Middleware()(e))
				ctx := WithIdempotent(context.Background())
				if marked {
					ctx = WithFailover(ctx)
				}
				start := time.Now()
				_, err := e(ctx, "req")
				switch {
				case marked && err != nil:
					t.Errorf("got %v, want the second instance's answer", err)
				case !marked && !errors.Is(err, ErrOpen):
					t.Errorf("got %v, want the breaker's refusal", err)
				}
				if took := time.Since(start); took != 0 {
					t.Errorf("got a wait of %v, want none", took)
				}
			})
		})
	}
}
