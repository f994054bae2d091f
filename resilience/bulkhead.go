package resilience

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// BulkheadConfig configures a [Bulkhead]. The zero value admits 64
// concurrent calls and refuses the next at once.
type BulkheadConfig struct {
	// MaxConcurrent is the most calls in flight. Default 64.
	MaxConcurrent int
	// MaxWaiting is how many calls may wait for a free slot when all are
	// taken; the rest are refused. Default 0: none wait.
	MaxWaiting int
	// MaxWait bounds how long a call waits for a slot, within its context's
	// deadline. Default: as long as the context allows.
	MaxWait time.Duration
}

// Bulkhead bounds the calls in flight to one callee, so a slow callee ties
// up a bounded share of the caller's goroutines and connections. Build one
// with [NewBulkhead]; it is safe for concurrent use.
//
// A refused call fails with a [fault.ResourceExhausted] error whose Cause is
// [ErrBulkheadFull].
type Bulkhead struct {
	name     string
	cfg      BulkheadConfig
	inFlight atomic.Int64  // when no call may wait: the calls holding a slot
	slots    chan struct{} // when calls may wait: the slots, which they wait on
	waiting  atomic.Int64
}

// NewBulkhead returns a bulkhead named name (for its errors).
func NewBulkhead(name string, cfg BulkheadConfig) *Bulkhead {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 64
	}
	if cfg.MaxWaiting < 0 {
		cfg.MaxWaiting = 0
	}
	b := &Bulkhead{name: name, cfg: cfg}
	if cfg.MaxWaiting > 0 {
		// Only a channel lets a call wait for a slot.
		b.slots = make(chan struct{}, cfg.MaxConcurrent)
	}
	return b
}

// Name returns the bulkhead's name.
func (b *Bulkhead) Name() string { return b.name }

// Capacity returns the most calls the bulkhead lets in flight: its
// MaxConcurrent.
func (b *Bulkhead) Capacity() int { return b.cfg.MaxConcurrent }

// InFlight returns how many calls hold a slot now.
func (b *Bulkhead) InFlight() int {
	if b.slots == nil {
		return int(b.inFlight.Load())
	}
	return len(b.slots)
}

// Middleware returns the bulkhead as an endpoint middleware.
func (b *Bulkhead) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if err := b.acquire(ctx); err != nil {
				return nil, err
			}
			defer b.release()
			return next(ctx, request)
		}
	}
}

func (b *Bulkhead) acquire(ctx context.Context) error {
	if b.slots == nil {
		if b.inFlight.Add(1) > int64(b.cfg.MaxConcurrent) {
			b.inFlight.Add(-1)
			return b.full()
		}
		return nil
	}
	select {
	case b.slots <- struct{}{}:
		return nil
	default:
	}
	if b.waiting.Add(1) > int64(b.cfg.MaxWaiting) {
		b.waiting.Add(-1)
		return b.full()
	}
	defer b.waiting.Add(-1)
	var expired <-chan time.Time
	if b.cfg.MaxWait > 0 {
		t := time.NewTimer(b.cfg.MaxWait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-expired:
		return b.full()
	case <-ctx.Done():
		return fault.Wrap(ctx.Err(), fault.KindOf(ctx.Err()), fmt.Sprintf("the call gave up waiting for a free slot in bulkhead %q", b.name))
	}
}

func (b *Bulkhead) release() {
	if b.slots == nil {
		b.inFlight.Add(-1)
		return
	}
	<-b.slots
}

func (b *Bulkhead) full() error {
	return &fault.Error{
		Kind: fault.ResourceExhausted,
		Detail: fmt.Sprintf("bulkhead %q is full (%d calls in flight, %d waiting); retry later or raise MaxConcurrent",
			b.name, b.cfg.MaxConcurrent, b.cfg.MaxWaiting),
		Cause: ErrBulkheadFull,
	}
}
