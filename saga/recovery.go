package saga

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RecoveryConfig configures a [Recovery]. The zero value works.
type RecoveryConfig struct {
	// Interval is how often the recovery looks for unfinished sagas that
	// no process holds. Default 5s.
	Interval time.Duration
	// Concurrency is the most sagas it runs at once; a saga whose
	// compensation keeps failing holds its place while it retries.
	// Default 8.
	Concurrency int
}

// Recovery finishes the sagas that nobody is running: those a crash, a
// restart or an ended [Orchestrator.Run] left unfinished, and those
// started whose starter never ran them. It is a service component: Start
// runs a pass at once and then every Interval in the background, until
// Stop, which lets the steps in hand finish and be recorded. [Recovery.RecoverPending] runs one pass on demand. Several
// recoveries, in one process or many, may share a database: each saga is
// run by one of them at a time. A Recovery is safe for concurrent use and
// may be started once.
type Recovery struct {
	o   *Orchestrator
	cfg RecoveryConfig
	sem chan struct{}

	stopping chan struct{} // closed by Stop: end the runs between steps
	stopOnce sync.Once

	mu      sync.Mutex
	running map[string]bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewRecovery returns a recovery of the sagas o runs.
func NewRecovery(o *Orchestrator, cfg RecoveryConfig) *Recovery {
	cfg.Interval = orDefault(cfg.Interval, 5*time.Second)
	cfg.Concurrency = orDefault(cfg.Concurrency, 8)
	return &Recovery{o: o, cfg: cfg, sem: make(chan struct{}, cfg.Concurrency), running: map[string]bool{}, stopping: make(chan struct{})}
}

// Start begins recovering in the background until Stop. ctx bounds only
// the start.
func (r *Recovery) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return errors.New("saga: recovery started twice; make a new one")
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go r.loop(ctx)
	return nil
}

// Stop ends the recovery: the sagas it runs stop before their next step,
// once the step in hand has ended and been recorded, and stay as recorded
// for the next process to finish. Stop returns once they have, or, when
// ctx ends first, cancels the steps in hand and returns an error.
func (r *Recovery) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	r.stopOnce.Do(func() { close(r.stopping) })
	select {
	case <-done:
		cancel()
		return nil
	case <-ctx.Done():
		cancel()
		return fmt.Errorf("saga: recovery did not stop before the stop deadline, and cancelled the steps in hand: %w", ctx.Err())
	}
}

func (r *Recovery) loop(ctx context.Context) {
	var all sync.WaitGroup
	defer close(r.done)
	defer all.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-r.stopping:
			return
		case <-t.C:
		}
		if _, err := r.pass(ctx, &all); err != nil && ctx.Err() == nil {
			r.o.log.Warn("saga: recovery pass failed; trying again", "retry_in", r.cfg.Interval.String(), "error", err.Error())
		}
		t.Reset(r.cfg.Interval)
	}
}

// RecoverPending runs, once, every unfinished saga that no process holds
// (up to the concurrency at a time), and returns how many it took, once
// they have ended or stopped with ctx.
func (r *Recovery) RecoverPending(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	n, err := r.pass(ctx, &wg)
	wg.Wait()
	return n, err
}

// pass takes the unfinished sagas no claim holds, oldest change first, and
// runs each in a goroutine that wg tracks, waiting for a free place for
// each.
func (r *Recovery) pass(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	rows, err := r.o.db.QueryContext(ctx, `SELECT id FROM tailor_sagas WHERE state IN ('running', 'compensating')
AND (claimed_until_us IS NULL OR claimed_until_us < $1) ORDER BY updated_us`, r.o.now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("saga: find unfinished sagas: %w; has saga.Migrate run on this database?", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("saga: find unfinished sagas: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("saga: find unfinished sagas: %w", err)
	}
	n := 0
	for _, id := range ids {
		r.mu.Lock()
		busy := r.running[id]
		r.mu.Unlock()
		if busy {
			continue
		}
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return n, nil
		case <-r.stopping:
			return n, nil
		}
		r.mu.Lock()
		r.running[id] = true
		r.mu.Unlock()
		n++
		wg.Go(func() {
			defer func() {
				r.mu.Lock()
				delete(r.running, id)
				r.mu.Unlock()
				<-r.sem
			}()
			_, err := r.o.run(ctx, id, "", r.stopping)
			if err != nil && ctx.Err() == nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrStopping) {
				r.o.log.Warn("saga: recovering a saga failed; trying again at a later pass", "saga", id, "error", err.Error())
			}
		})
	}
	return n, nil
}
