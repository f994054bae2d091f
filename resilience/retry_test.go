package resilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
)

// script is an endpoint that returns its errors in turn, then succeeds.
type script struct {
	errs  []error
	calls int
}

func (s *script) endpoint(context.Context, any) (any, error) {
	s.calls++
	if s.calls <= len(s.errs) {
		return nil, s.errs[s.calls-1]
	}
	return "ok", nil
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
			clock := newFakeClock()
			clock.auto = true
			s := &script{errs: tt.errs}
			e := NewRetry(tt.cfg, WithClock(clock)).Middleware()(s.endpoint)
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
	}
}

func TestRetryBackoffIsFullJitterExponential(t *testing.T) {
	clock := newFakeClock()
	clock.auto = true
	unavailable := fault.New(fault.Unavailable, "down")
	s := &script{errs: []error{unavailable, unavailable, unavailable, unavailable, unavailable}}
	r := NewRetry(RetryConfig{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond, Budget: BudgetConfig{Disabled: true}}, WithClock(clock))
	r.random = func() float64 { return 0.999999 }
	_, _ = r.Middleware()(s.endpoint)(WithIdempotent(context.Background()), "req")
	want := []time.Duration{100, 200, 300, 300, 300}
	got := clock.sleeps()
	if len(got) != len(want) {
		t.Fatalf("got sleeps %v, want %d of them", got, len(want))
	}
	for i := range want {
		if w := want[i] * time.Millisecond; got[i] > w || got[i] < w*99/100 {
			t.Errorf("sleep %d: got %v, want just under %v", i, got[i], w)
		}
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	clock := newFakeClock()
	clock.auto = true
	s := &script{errs: []error{&fault.Error{Kind: fault.Unavailable, RetryAfter: 700 * time.Millisecond}}}
	r := NewRetry(RetryConfig{}, WithClock(clock))
	r.random = func() float64 { return 0 }
	if _, err := r.Middleware()(s.endpoint)(WithIdempotent(context.Background()), "req"); err != nil {
		t.Fatalf("got %v, want success", err)
	}
	if got := clock.sleeps(); len(got) != 1 || got[0] != 700*time.Millisecond {
		t.Errorf("got sleeps %v, want [700ms]", got)
	}
}

func TestRetryNeverSleepsPastDeadline(t *testing.T) {
	clock := newFakeClock()
	clock.auto = true
	s := &script{errs: []error{&fault.Error{Kind: fault.Unavailable, RetryAfter: 500 * time.Millisecond}}}
	r := NewRetry(RetryConfig{}, WithClock(clock))
	ctx, cancel := context.WithDeadline(WithIdempotent(context.Background()), clock.Now().Add(400*time.Millisecond))
	defer cancel()
	_, err := r.Middleware()(s.endpoint)(ctx, "req")
	if err == nil || s.calls != 1 {
		t.Errorf("got %d calls and error %v, want 1 call and the first error", s.calls, err)
	}
	if got := clock.sleeps(); len(got) != 0 {
		t.Errorf("got sleeps %v, want none", got)
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	clock := newFakeClock() // timers never fire unless advanced
	s := &script{errs: []error{fault.New(fault.Unavailable, "down")}}
	ctx, cancel := context.WithCancel(WithIdempotent(context.Background()))
	done := make(chan error)
	go func() {
		_, err := NewRetry(RetryConfig{}, WithClock(clock)).Middleware()(s.endpoint)(ctx, "req")
		done <- err
	}()
	for clock.waiting() == 0 {
		time.Sleep(time.Millisecond) // wait for the retry to start its backoff
	}
	cancel()
	if err := <-done; !errors.Is(err, fault.Unavailable) {
		t.Errorf("got %v, want the last attempt's error", err)
	}
	if s.calls != 1 {
		t.Errorf("got %d calls, want 1", s.calls)
	}
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
			clock := newFakeClock()
			b := NewBudget(tt.cfg, WithClock(clock))
			for range tt.calls {
				b.deposit()
			}
			clock.Advance(tt.elapsed)
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
	}
}

// In a full outage, attempts stay within (1 + Ratio) × calls + the floor.
func TestRetryBudgetCapsAttemptsInOutage(t *testing.T) {
	clock := newFakeClock()
	clock.auto = true
	s := &stub{err: fault.New(fault.Unavailable, "down")}
	r := NewRetry(RetryConfig{MaxAttempts: 5, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond, Budget: BudgetConfig{Ratio: 0.1, MinPerSecond: 10}}, WithClock(clock))
	e := r.Middleware()(s.endpoint)
	ctx := WithIdempotent(context.Background())
	const calls = 1000
	for range calls {
		_, _ = e(ctx, "req")
	}
	if limit := calls + calls/10 + 10; s.calls > limit {
		t.Errorf("got %d attempts for %d calls, want at most %d", s.calls, calls, limit)
	}
}
