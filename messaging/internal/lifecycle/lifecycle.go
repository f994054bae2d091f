// Package lifecycle is the Start and Stop of messaging's background
// components (the outbox relay, the inbox pruner, the consumer): run a
// function in a goroutine until Stop cancels its context, once.
package lifecycle

import (
	"context"
	"fmt"
	"sync"
)

// Loop runs one background function between Start and Stop. The zero
// value is ready; it is safe for concurrent use and may be started once.
type Loop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs setup, when it is not nil, with ctx, and then run in a
// goroutine with a context that ends at Stop (not when ctx ends: ctx
// bounds the start, not the run). A setup that fails leaves the loop
// unstarted, so Start may be called again; a second Start after one that
// succeeded fails without running setup. what names the component in
// errors, such as "outbox: relay".
func (l *Loop) Start(ctx context.Context, what string, setup func(ctx context.Context) error, run func(ctx context.Context)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return fmt.Errorf("%s started twice; make a new one", what)
	}
	if setup != nil {
		if err := setup(ctx); err != nil {
			return err
		}
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		run(ctx)
	}()
	return nil
}

// Stop cancels the run's context and waits for run to return, or for ctx
// to end. Stop before Start does nothing.
func (l *Loop) Stop(ctx context.Context, what string) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not stop before the stop deadline: %w", what, ctx.Err())
	}
}
