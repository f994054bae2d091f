package resilience

import (
	"context"
	"sync"
	"time"
)

// newDeadlineContext returns ctx bounded by deadline, or nil when ctx's own
// deadline comes no later. The caller calls end once the call has returned.
//
// The context starts no timer until something waits on it:
// context.WithDeadline costs four allocations and a runtime timer per call
// (about 300 ns on a 2-core EPYC), though most calls end long before their
// deadline and many never wait on Done at all.
func newDeadlineContext(ctx context.Context, deadline time.Time) *deadlineContext {
	if parent, ok := ctx.Deadline(); ok && !parent.After(deadline) {
		return nil
	}
	return &deadlineContext{parent: ctx, deadline: deadline}
}

// deadlineContext is a context with a deadline that costs one allocation
// until something waits on it. Deadline and Err answer from the deadline
// and the clock; the first Done (which every child context and
// context.AfterFunc call) makes the context.WithDeadline that the context
// then delegates to, so waiting, children, AfterFunc and context.Cause
// behave exactly as with the standard one.
//
// The one difference: a deadline that passed unobserved while the call ran
// reads as Canceled once the call has returned, rather than as
// DeadlineExceeded (the standard context's timer would have fired).
// Nothing that ran during the call can tell: whoever looked at Err or Done
// in time saw the deadline.
type deadlineContext struct {
	parent   context.Context
	deadline time.Time

	mu    sync.Mutex
	inner context.Context // context.WithDeadline(parent, deadline), once something waits
	stop  context.CancelFunc
	err   error // before inner exists: the error seen or set by end, sticky
}

func (c *deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		// An inner context made now must say what Err already said.
		if c.err == nil || c.err == context.DeadlineExceeded {
			c.inner, c.stop = context.WithDeadline(c.parent, c.deadline)
		} else {
			c.inner, c.stop = context.WithCancel(c.parent)
		}
		if c.err != nil {
			c.stop()
		}
	}
	return c.inner.Done()
}

func (c *deadlineContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.Err()
	}
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.err = err
		} else if !time.Now().Before(c.deadline) {
			c.err = context.DeadlineExceeded
		}
	}
	return c.err
}

func (c *deadlineContext) Value(key any) any {
	c.mu.Lock()
	inner := c.inner
	c.mu.Unlock()
	if inner != nil {
		// The inner context answers for the key package context uses to
		// find a parent it can cancel children through, so children hang
		// off it directly instead of each starting a goroutine.
		return inner.Value(key)
	}
	return c.parent.Value(key)
}

func (c *deadlineContext) String() string { return "resilience.deadlineContext" }

// end cancels the context once the call has returned.
func (c *deadlineContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		c.stop()
		return
	}
	if c.err == nil {
		c.err = context.Canceled
		if err := c.parent.Err(); err != nil {
			c.err = err
		}
	}
}
