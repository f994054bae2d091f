package service

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// announcer notes Announce and Drain calls.
type announcer struct {
	mu    sync.Mutex
	calls []string
}

func (a *announcer) Start(context.Context) error { return nil }
func (a *announcer) Stop(context.Context) error  { return nil }
func (a *announcer) Announce(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "announce")
	return nil
}
func (a *announcer) Drain(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "drain")
	return nil
}
func (a *announcer) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// The readiness watch announces only once every check passes, withdraws
// after FailuresToWithdraw failures in a row (not after fewer), and
// announces again on recovery; Ready is closed at the first announce.
func TestWatchReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{CheckInterval: time.Second, FailuresToWithdraw: 3}, WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		var up atomic.Bool
		s.AddCheck("db", func(context.Context) error {
			if up.Load() {
				return nil
			}
			return errors.New("down")
		})
		a := &announcer{}
		s.setState(stateReady)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.watchReadiness(ctx, []Component{a}) }()

		step := func(d time.Duration) {
			time.Sleep(d)
			synctest.Wait()
		}
		step(5 * time.Second)
		if got := a.list(); len(got) != 0 {
			t.Fatalf("while the check fails: got %q, want no call", got)
		}
		select {
		case <-s.Ready():
			t.Fatal("Ready closed while the check fails")
		default:
		}

		up.Store(true)
		step(time.Second)
		if got, want := a.list(), []string{"announce"}; !slices.Equal(got, want) {
			t.Fatalf("once the check passes: got %q, want %q", got, want)
		}
		select {
		case <-s.Ready():
		default:
			t.Fatal("Ready not closed after the first announce")
		}

		up.Store(false)
		step(2 * time.Second) // two failures: not yet
		if got, want := a.list(), []string{"announce"}; !slices.Equal(got, want) {
			t.Fatalf("after two failures: got %q, want %q", got, want)
		}
		step(time.Second) // the third
		if got, want := a.list(), []string{"announce", "drain"}; !slices.Equal(got, want) {
			t.Fatalf("after three failures: got %q, want %q", got, want)
		}
		step(10 * time.Second) // still failing: no second drain
		up.Store(true)
		step(time.Second)
		if got, want := a.list(), []string{"announce", "drain", "announce"}; !slices.Equal(got, want) {
			t.Fatalf("after recovery: got %q, want %q", got, want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("watchReadiness = %v, want nil", err)
		}
	})
}
