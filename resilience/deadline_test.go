package resilience

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func TestDeadlineContext(t *testing.T) {
	future := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Second)
	tests := []struct {
		name     string
		deadline time.Time
		cancel   bool // cancel the parent
		end      bool // end the context, as when the call returned
		wait     bool // call Done before looking at Err
		want     error
	}{
		{"running", future, false, false, false, nil},
		{"running, waited on", future, false, false, true, nil},
		{"deadline passed", past, false, false, false, context.DeadlineExceeded},
		{"deadline passed, waited on", past, false, false, true, context.DeadlineExceeded},
		{"parent canceled", future, true, false, false, context.Canceled},
		{"parent canceled, waited on", future, true, false, true, context.Canceled},
		{"ended", future, false, true, false, context.Canceled},
		{"ended, then waited on", future, false, true, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
			defer cancel()
			c := newDeadlineContext(parent, tt.deadline)
			if tt.cancel {
				cancel()
			}
			if tt.end {
				c.end()
			}
			if tt.wait {
				if got := isDone(c); got != (tt.want != nil) {
					t.Errorf("got done %v, want %v", got, tt.want != nil)
				}
			}
			if got := c.Err(); got != tt.want {
				t.Errorf("got Err %v, want %v", got, tt.want)
			}
			if got := context.Cause(c); got != tt.want {
				t.Errorf("got Cause %v, want %v", got, tt.want)
			}
			if got := isDone(c); got != (tt.want != nil) {
				t.Errorf("got done %v, want %v", got, tt.want != nil)
			}
			if got, ok := c.Deadline(); !ok || !got.Equal(tt.deadline) {
				t.Errorf("got deadline %v, %v; want %v", got, ok, tt.deadline)
			}
			if got := c.Value(ctxKey{}); got != "v" {
				t.Errorf("got value %v, want v", got)
			}
		})
	}
}

func TestDeadlineContextLeavesSoonerParent(t *testing.T) {
	parent, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Minute))
	defer cancel()
	if c := newDeadlineContext(parent, time.Now().Add(time.Hour)); c != nil {
		t.Errorf("got a new context, want the parent's sooner deadline kept")
	}
}

// A deadline seen to pass stays the error after the call returns.
func TestDeadlineContextErrIsSticky(t *testing.T) {
	c := newDeadlineContext(context.Background(), time.Now().Add(-time.Second))
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
	c.end()
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("after end: got %v, want deadline exceeded", err)
	}
	<-c.Done()
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("after Done: got %v, want deadline exceeded", err)
	}
}

// Children and AfterFunc hang off the context and are canceled with it.
func TestDeadlineContextChildren(t *testing.T) {
	c := newDeadlineContext(context.Background(), time.Now().Add(time.Hour))
	child, cancel := context.WithCancel(c)
	defer cancel()
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	if isDone(child) {
		t.Fatal("child done before its parent ended")
	}
	c.end()
	<-ran
	<-child.Done()
	if err := child.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("got child error %v, want canceled", err)
	}
}

// The deadline is enforced once something waits: a timer is set then.
func TestDeadlineContextFiresWhenWaitedOn(t *testing.T) {
	c := newDeadlineContext(context.Background(), time.Now().Add(time.Millisecond))
	defer c.end()
	<-c.Done() // returns once the timer fires: no timed assertion
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("got %v, want deadline exceeded", err)
	}
}

// A timeout costs one allocation, for its context; the policy without one
// costs none.
func TestPolicyAllocations(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    float64
	}{
		{"no timeout", 0, 0},
		{"timeout", time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewPolicy(PolicyConfig{
				Name:     "bench",
				Timeout:  tt.timeout,
				Retry:    &RetryConfig{},
				Breaker:  &BreakerConfig{},
				Bulkhead: &BulkheadConfig{},
			}).Middleware()(bare)
			ctx := context.Background()
			if got := testing.AllocsPerRun(100, func() { _, _ = e(ctx, "req") }); got != tt.want {
				t.Errorf("got %v allocations a call, want %v", got, tt.want)
			}
		})
	}
}

// The anchored clock's times order with time.Now's, by the monotonic clock.
func TestAnchoredClockOrdersWithTimeNow(t *testing.T) {
	var c anchoredClock
	for range 3 {
		a := c.now()
		b := time.Now()
		d := c.now()
		if b.Before(a) || d.Before(b) {
			t.Fatalf("got %v, %v, %v: want non-decreasing", a, b, d)
		}
	}
}
