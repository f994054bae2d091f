package client

import (
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/resilience"
)

// Balancer picks the instance for each call. [P2C] is the default;
// [RoundRobin] and [Random] are the simple ones. Implementations must be
// safe for concurrent use and should not allocate.
type Balancer interface {
	// Pick returns one of nodes for which skip reports false, or nil when
	// there is none. skip says whether a node must not take the call: its
	// breaker is open or the call already tried it.
	Pick(nodes []*Node, skip func(*Node) bool) *Node
}

// decay is how long it takes a node's latency estimate to fall to 1/e of
// its value without new samples, as in Finagle's peak EWMA: an instance
// that was slow gets tried again once it has been left alone for a while.
const decay = 10 * time.Second

// penalty is the score of a node that has calls in flight but no latency
// sample yet, so a new instance takes one call at a time until it has
// answered once (Finagle's rule), rather than all of them.
const penalty = float64(time.Second)

// Node is one instance in a [Client]'s rotation: its circuit breaker, the
// endpoints of the client's routes on it and the load figures balancers
// read. Nodes are made by the Client; their methods are safe for
// concurrent use.
type Node struct {
	inst    atomic.Pointer[discovery.Instance] // replaced when its tags or metadata change
	breaker *resilience.Breaker
	epoch   time.Time // the origin of stamp

	// endpoints holds, by route number, breaker ▸ transport for each
	// route of the client; nil where the route's factory left the
	// instance out (another protocol). Replaced, never changed, under the
	// client's lock.
	endpoints atomic.Pointer[[]endpoint.Endpoint]
	mu        sync.Mutex
	closers   []io.Closer

	inFlight atomic.Int64
	cost     atomic.Uint64 // float64 bits: peak EWMA of latency, in ns
	stamp    atomic.Int64  // when cost was last set, ns since epoch
	open     atomic.Bool   // the breaker reported it opened
	// unreachable is when, in ns since epoch, the node comes back into
	// rotation after a connection to it could not be made; 0 when none
	// failed.
	unreachable atomic.Int64

	retired   atomic.Bool
	closeOnce sync.Once
	untrack   func() // stops listing the breaker with the telemetry; nil without one
}

// elapsed is the time since the node's epoch, in ns.
func (n *Node) elapsed() int64 { return int64(time.Since(n.epoch)) }

// Instance returns the instance the node calls.
func (n *Node) Instance() discovery.Instance { return *n.inst.Load() }

// InFlight returns how many calls the node is serving now.
func (n *Node) InFlight() int { return int(n.inFlight.Load()) }

// Latency returns the node's latency estimate at now: a peak-sensitive
// moving average of its answers, which jumps up with a slow answer and
// decays towards zero while no new answer comes. Zero until it has
// answered once.
func (n *Node) Latency(now time.Time) time.Duration {
	return time.Duration(n.costAt(int64(now.Sub(n.epoch))))
}

// Ejected reports whether the node is out of rotation, so balancers leave
// it out: its breaker is open, or a connection to it could not be made
// in the last [UnreachableFor].
func (n *Node) Ejected() bool {
	return n.breakerOpen() || n.isUnreachable()
}

func (n *Node) breakerOpen() bool {
	return n.open.Load() && n.breaker != nil && n.breaker.State() == resilience.StateOpen
}

func (n *Node) isUnreachable() bool {
	until := n.unreachable.Load()
	return until != 0 && n.elapsed() < until
}

// markUnreachable takes the node out of rotation for UnreachableFor; it
// reports whether the node was in rotation until now.
func (n *Node) markUnreachable() bool {
	was := n.isUnreachable()
	n.unreachable.Store(n.elapsed() + int64(UnreachableFor))
	return !was
}

func (n *Node) costAt(now int64) float64 {
	c := math.Float64frombits(n.cost.Load())
	if c == 0 {
		return 0
	}
	if dt := now - n.stamp.Load(); dt > 0 {
		c *= math.Exp(-float64(dt) / float64(decay))
	}
	return c
}

// score is the load P2C compares: latency × (calls in flight + 1).
func (n *Node) score(now int64) float64 {
	c := n.costAt(now)
	inflight := n.inFlight.Load()
	if c == 0 && inflight > 0 {
		return penalty + float64(inflight)
	}
	return c * float64(inflight+1)
}

// observe feeds one answer's latency into the estimate. A failed call
// counts as at least four times the current estimate, so an instance that
// fails fast does not look fast.
func (n *Node) observe(now int64, rtt time.Duration, failed bool) {
	sample := float64(rtt)
	c := n.costAt(now)
	if failed {
		sample = max(sample, 4*c, float64(time.Millisecond))
	}
	// Peak EWMA: a sample above the estimate replaces it at once; one
	// below pulls it down with a weight that grows with the time since
	// the last sample.
	if sample > c {
		c = sample
	} else {
		w := math.Exp(-float64(now-n.stamp.Load()) / float64(decay/20))
		c = c*w + sample*(1-w)
	}
	n.cost.Store(math.Float64bits(c))
	n.stamp.Store(now)
}

// reset forgets the latency estimate, so the node is tried again as soon
// as its breaker lets a probe through.
func (n *Node) reset() {
	n.cost.Store(0)
}

// P2C returns the power-of-two-choices balancer: it draws two nodes at
// random and picks the one with the lower latency × (in-flight + 1), so
// slow or busy instances get less traffic without any central state. It is
// the default, and allocates nothing per pick.
func P2C() Balancer { return p2c{intn: rand.IntN} }

type p2c struct{ intn func(int) int }

func (p p2c) Pick(nodes []*Node, skip func(*Node) bool) *Node {
	switch len(nodes) {
	case 0:
		return nil
	case 1:
		if skip(nodes[0]) {
			return nil
		}
		return nodes[0]
	}
	now := nodes[0].elapsed()
	for range 3 {
		i := p.intn(len(nodes))
		j := p.intn(len(nodes) - 1)
		if j >= i {
			j++
		}
		a, b := nodes[i], nodes[j]
		switch okA, okB := !skip(a), !skip(b); {
		case okA && okB:
			if b.score(now) < a.score(now) {
				return b
			}
			return a
		case okA:
			return a
		case okB:
			return b
		}
	}
	// Most nodes are skipped: take the best of the rest.
	var best *Node
	var bestScore float64
	for _, n := range nodes {
		if skip(n) {
			continue
		}
		if s := n.score(now); best == nil || s < bestScore {
			best, bestScore = n, s
		}
	}
	return best
}

// RoundRobin returns a balancer that takes the nodes in turn, passing over
// skipped ones.
func RoundRobin() Balancer { return &roundRobin{} }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(nodes []*Node, skip func(*Node) bool) *Node {
	if len(nodes) == 0 {
		return nil
	}
	start := r.next.Add(1) - 1
	for k := range uint64(len(nodes)) {
		if n := nodes[(start+k)%uint64(len(nodes))]; !skip(n) {
			return n
		}
	}
	return nil
}

// Random returns a balancer that picks a node uniformly at random,
// passing over skipped ones.
func Random() Balancer { return random{intn: rand.IntN} }

type random struct{ intn func(int) int }

func (r random) Pick(nodes []*Node, skip func(*Node) bool) *Node {
	if len(nodes) == 0 {
		return nil
	}
	start := r.intn(len(nodes))
	for k := range len(nodes) {
		if n := nodes[(start+k)%len(nodes)]; !skip(n) {
			return n
		}
	}
	return nil
}
