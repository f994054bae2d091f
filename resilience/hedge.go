package resilience

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
)

// HedgeConfig configures a [Hedge]. The zero value sends one hedge after
// 100 ms, for calls marked idempotent.
type HedgeConfig struct {
	// Delay is how long to wait for the first attempt before sending a
	// hedge. With Percentile set, it is used until the percentile takes
	// over, after 32 successful calls it could hedge. Default 100 ms.
	Delay time.Duration
	// Percentile, when between 0 and 1, sets the delay to that percentile
	// of the latencies of the last 256 successful calls (0.95 hedges the
	// slowest 5%).
	Percentile float64
	// MaxHedges is how many extra attempts a call may send. Default 1.
	MaxHedges int
	// AllIdempotent hedges every call. By default only calls whose context
	// is marked with [WithIdempotent] are hedged.
	AllIdempotent bool
	// Budget caps hedges at a share of calls. Ignored when the option
	// [WithBudget] supplies a shared budget.
	Budget BudgetConfig
}

const (
	hedgeSamples    = 256
	hedgeMinSamples = 20
)

// Hedge sends a second attempt of a slow idempotent read after a delay; the
// first success wins and the other attempts are canceled. Each hedge spends
// a token of the retry budget, so hedging cannot double the load. Build one
// with [NewHedge]; it is safe for concurrent use.
type Hedge struct {
	cfg     HedgeConfig
	budget  *Budget
	deposit bool // false when a retry above deposits into the shared budget

	delay   atomic.Int64 // current delay, nanoseconds
	mu      sync.Mutex
	samples []time.Duration
	next    int
	seen    int
}

// NewHedge returns a hedge. It reads the option [WithBudget].
func NewHedge(cfg HedgeConfig, opts ...Option) *Hedge {
	return newHedge(cfg, buildOptions(opts), true)
}

func newHedge(cfg HedgeConfig, o options, deposit bool) *Hedge {
	if cfg.Delay <= 0 {
		cfg.Delay = 100 * time.Millisecond
	}
	if cfg.MaxHedges <= 0 {
		cfg.MaxHedges = 1
	}
	b := o.budget
	if b == nil {
		b = NewBudget(cfg.Budget)
	}
	h := &Hedge{cfg: cfg, budget: b, deposit: deposit}
	h.delay.Store(int64(cfg.Delay))
	return h
}

// Delay returns the current delay before a hedge.
func (h *Hedge) Delay() time.Duration { return time.Duration(h.delay.Load()) }

// Middleware returns the hedge as an endpoint middleware.
func (h *Hedge) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if h.deposit {
				h.budget.deposit()
			}
			if !h.cfg.AllIdempotent && !Idempotent(ctx) {
				return next(ctx, request)
			}
			return h.call(ctx, request, next)
		}
	}
}

type hedgeResult struct {
	response any
	err      error
	start    time.Time
}

func (h *Hedge) call(ctx context.Context, request any, next endpoint.Endpoint) (any, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan hedgeResult, h.cfg.MaxHedges+1)
	launch := func() {
		start := time.Now()
		go func() {
			response, err := next(ctx, request)
			results <- hedgeResult{response, err, start}
		}()
	}
	launch()
	pending, hedges := 1, 0
	timer := time.NewTimer(h.Delay())
	defer timer.Stop()
	var last hedgeResult
	for {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				h.observe(time.Since(r.start))
				return r.response, nil
			}
			last = r
			if pending == 0 {
				return last.response, last.err
			}
		case <-timer.C:
			if hedges < h.cfg.MaxHedges && h.budget.withdraw() {
				hedges++
				pending++
				launch()
				if hedges < h.cfg.MaxHedges {
					timer.Reset(h.Delay())
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// observe records a successful call's latency and, with Percentile set,
// revises the delay every 16 samples once it holds hedgeMinSamples: first
// at the 32nd.
func (h *Hedge) observe(d time.Duration) {
	if h.cfg.Percentile <= 0 || h.cfg.Percentile >= 1 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) < hedgeSamples {
		h.samples = append(h.samples, d)
	} else {
		h.samples[h.next] = d
		h.next = (h.next + 1) % hedgeSamples
	}
	h.seen++
	if len(h.samples) < hedgeMinSamples || h.seen%16 != 0 {
		return
	}
	sorted := slices.Clone(h.samples)
	slices.Sort(sorted)
	h.delay.Store(int64(sorted[int(h.cfg.Percentile*float64(len(sorted)-1))]))
}
