package idempotency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultPruneInterval is the time between two prunes of a [Pruner]
// made without [WithInterval].
const DefaultPruneInterval = time.Hour

// PrunerOption sets an optional property of a [Pruner].
type PrunerOption func(*Pruner)

// WithInterval sets the time between two prunes; the first runs at Start.
// Default, and when d is not positive: [DefaultPruneInterval], one hour.
func WithInterval(d time.Duration) PrunerOption { return func(p *Pruner) { p.interval = d } }

// Pruner runs [Store.Prune] every interval, so the table of keys does not
// grow without end; a prune that fails goes to the store's logger (see
// [WithLogger]) and is tried again at the next interval. It is a service
// component: Start begins in the background, Stop ends it. The zero value
// is not usable; make one with [Store.Pruner]. A Pruner is safe for
// concurrent use and may be started once.
type Pruner struct {
	s        *Store
	interval time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Pruner returns a pruner of s's table. One pruner per database is
// enough: every Store over it keeps its keys in the same table.
func (s *Store) Pruner(opts ...PrunerOption) *Pruner {
	p := &Pruner{s: s}
	for _, o := range opts {
		o(p)
	}
	if p.interval <= 0 {
		p.interval = DefaultPruneInterval
	}
	return p
}

// Start prunes once and then every interval, in the background, until
// Stop. ctx bounds the start only.
func (p *Pruner) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("idempotency: pruner started twice; make a new one with Store.Pruner")
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done = make(chan struct{})
	go p.run(ctx, p.done)
	return nil
}

func (p *Pruner) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		if _, err := p.s.Prune(ctx); err != nil && ctx.Err() == nil {
			p.s.cfg.log.WarnContext(ctx, "idempotency: pruning expired keys failed; trying again at the next interval", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stop ends the pruner, waiting for a prune in hand until ctx ends. Stop
// before Start does nothing.
func (p *Pruner) Stop(ctx context.Context) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idempotency: pruner did not stop before the stop deadline: %w", ctx.Err())
	}
}
