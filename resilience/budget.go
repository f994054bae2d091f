package resilience

import (
	"sync/atomic"
	"time"
)

// BudgetConfig configures a retry [Budget]. The zero value lets retries add
// at most 10% to the calls made, plus 10 retries a second so that a quiet
// client can still retry, holding at most 100 retries in reserve.
type BudgetConfig struct {
	// Ratio is the retries each call earns: 0.1 lets retries add 10% load.
	// Default 0.1.
	Ratio float64
	// MinPerSecond is the floor: retries earned each second regardless of
	// traffic. Default 10.
	MinPerSecond float64
	// MaxTokens is the most retries held in reserve, so a long quiet spell
	// cannot fund a burst of retries when an outage starts. Default
	// 10 × MinPerSecond, at least 10.
	MaxTokens float64
	// Disabled turns the budget off: every retry the retry policy allows
	// is made. Only for comparisons; an unbudgeted retry multiplies the load
	// on a callee that is already failing.
	Disabled bool
}

func (c BudgetConfig) withDefaults() BudgetConfig {
	if c.Ratio <= 0 {
		c.Ratio = 0.1
	}
	if c.MinPerSecond <= 0 {
		c.MinPerSecond = 10
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = max(10*c.MinPerSecond, 10)
	}
	return c
}

// Budget is a token bucket that caps retries and hedges at a share of calls,
// as Finagle's RetryBudget and gRPC's retry throttling do: each call earns
// Ratio of a token, the floor adds MinPerSecond tokens a second, and each
// retry or hedge spends one. When the bucket is empty the retry is not made
// and the caller gets the last error, so retries cannot multiply an outage.
//
// Build one with [NewBudget] and share it with [WithBudget], or let each
// retry make its own. It is safe for concurrent use.
type Budget struct {
	disabled bool
	perCall  int64 // milli-tokens earned per call
	perSec   int64 // milli-tokens earned per second
	max      int64 // milli-tokens

	tokens   atomic.Int64 // milli-tokens
	refilled atomic.Int64 // unix nanoseconds of the last floor refill
	refused  atomic.Uint64
}

// NewBudget returns a budget that starts with one second's floor of tokens.
func NewBudget(cfg BudgetConfig) *Budget {
	cfg = cfg.withDefaults()
	b := &Budget{
		disabled: cfg.Disabled,
		perCall:  int64(cfg.Ratio * 1000),
		perSec:   int64(cfg.MinPerSecond * 1000),
		max:      int64(cfg.MaxTokens * 1000),
	}
	b.tokens.Store(min(b.perSec, b.max))
	b.refilled.Store(time.Now().UnixNano())
	return b
}

// Available returns how many retries the budget would allow now.
func (b *Budget) Available() float64 {
	b.refill()
	return float64(b.tokens.Load()) / 1000
}

// Refused returns how many retries and hedges the budget has refused since
// it was made: a count that grows during an outage, when the budget keeps
// retries from multiplying the load. Metrics read it (see
// observability.Telemetry.ObserveBudget).
func (b *Budget) Refused() uint64 { return b.refused.Load() }

// Capacity returns the most retries the budget holds in reserve: its
// MaxTokens.
func (b *Budget) Capacity() float64 { return float64(b.max) / 1000 }

// deposit records one call.
func (b *Budget) deposit() {
	if b.disabled {
		return
	}
	b.add(b.perCall)
}

func (b *Budget) add(n int64) {
	for {
		t := b.tokens.Load()
		if t >= b.max {
			return
		}
		if b.tokens.CompareAndSwap(t, min(t+n, b.max)) {
			return
		}
	}
}

// refill adds the floor's tokens for the time since the last refill.
func (b *Budget) refill() {
	now := time.Now().UnixNano()
	last := b.refilled.Load()
	elapsed := now - last
	if elapsed <= 0 {
		return
	}
	earned := elapsed * b.perSec / int64(time.Second)
	if earned == 0 {
		return
	}
	// Move the refill mark only by the time the earned tokens account for,
	// so fractions of a token are not lost between refills.
	if b.refilled.CompareAndSwap(last, last+earned*int64(time.Second)/b.perSec) {
		b.add(earned)
	}
}

// withdraw spends one token, reporting whether there was one.
func (b *Budget) withdraw() bool {
	if b.disabled {
		return true
	}
	b.refill()
	for {
		t := b.tokens.Load()
		if t < 1000 {
			b.refused.Add(1)
			return false
		}
		if b.tokens.CompareAndSwap(t, t-1000) {
			return true
		}
	}
}
