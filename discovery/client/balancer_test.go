package client

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/resilience"
)

func testNodes(ids ...string) []*Node {
	epoch := time.Now()
	nodes := make([]*Node, len(ids))
	for k, id := range ids {
		nodes[k] = &Node{epoch: epoch}
		nodes[k].inst.Store(&discovery.Instance{ID: id, Service: "s", Address: "127.0.0.1", Port: 8000 + k})
	}
	return nodes
}

// seq returns an intn that yields the given values in turn.
func seq(values ...int) func(int) int {
	k := 0
	return func(n int) int {
		v := values[k%len(values)] % n
		k++
		return v
	}
}

func skipNone(*Node) bool { return false }

func skipIDs(ids ...string) func(*Node) bool {
	return func(n *Node) bool {
		for _, id := range ids {
			if n.Instance().ID == id {
				return true
			}
		}
		return false
	}
}

func TestP2CPicksTheLessLoadedOfTwo(t *testing.T) {
	tests := []struct {
		name     string
		latency  []time.Duration // one per node; 0 leaves it unsampled
		inFlight []int64
		draws    []int // intn results: i, then j (j skips i)
		skip     func(*Node) bool
		want     string
	}{
		{"lower latency wins", []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond}, []int64{0, 0, 0}, []int{0, 0}, skipNone, "b"},
		{"fewer in flight wins at equal latency", []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}, []int64{4, 1, 0}, []int{0, 0}, skipNone, "b"},
		{"latency times load", []time.Duration{time.Millisecond, 10 * time.Millisecond, 0}, []int64{12, 0, 0}, []int{0, 0}, skipNone, "b"},
		{"unsampled and idle is tried first", []time.Duration{time.Millisecond, 0, time.Millisecond}, []int64{0, 0, 0}, []int{0, 0}, skipNone, "b"},
		{"unsampled but busy waits for its first answer", []time.Duration{time.Millisecond, 0, time.Millisecond}, []int64{3, 1, 0}, []int{0, 0}, skipNone, "a"},
		{"a skipped draw loses to the other", []time.Duration{time.Millisecond, time.Millisecond * 9, time.Millisecond}, []int64{0, 0, 0}, []int{0, 0}, skipIDs("a"), "b"},
		{"both skipped draws again", []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}, []int64{0, 0, 0}, []int{0, 0, 2, 0}, skipIDs("a", "b"), "c"},
		{"all skipped", []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}, []int64{0, 0, 0}, []int{0, 0}, skipIDs("a", "b", "c"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := testNodes("a", "b", "c")
			for k, n := range nodes {
				if tt.latency[k] > 0 {
					n.observe(n.elapsed(), tt.latency[k], false)
				}
				n.inFlight.Store(tt.inFlight[k])
			}
			got := p2c{intn: seq(tt.draws...)}.Pick(nodes, tt.skip)
			if id := idOf(got); id != tt.want {
				t.Errorf("got %q, want %q", id, tt.want)
			}
		})
	}
}

func idOf(n *Node) string {
	if n == nil {
		return ""
	}
	return n.Instance().ID
}

func TestLatencyEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := testNodes("a")[0]
		n.observe(n.elapsed(), 10*time.Millisecond, false)
		if got := n.Latency(time.Now()); got != 10*time.Millisecond {
			t.Fatalf("after one 10ms answer: got %v, want 10ms", got)
		}
		n.observe(n.elapsed(), 50*time.Millisecond, false)
		if got := n.Latency(time.Now()); got != 50*time.Millisecond {
			t.Errorf("a slower answer is taken at once (peak): got %v, want 50ms", got)
		}
		time.Sleep(decay)
		if got, want := n.Latency(time.Now()), 18394*time.Microsecond; got < want-time.Millisecond || got > want+time.Millisecond {
			t.Errorf("after one decay period without answers: got %v, want about %v", got, want)
		}
		n.observe(n.elapsed(), time.Millisecond, true)
		if got, want := n.Latency(time.Now()), 4*18394*time.Microsecond; got < want-2*time.Millisecond {
			t.Errorf("a fast failure must not look fast: got %v, want at least about %v", got, want)
		}
		n.reset()
		if got := n.Latency(time.Now()); got != 0 {
			t.Errorf("after reset: got %v, want 0", got)
		}
	})
}

func TestRoundRobinAndRandomSkip(t *testing.T) {
	nodes := testNodes("a", "b", "c")
	rr := RoundRobin()
	var got []string
	for range 4 {
		got = append(got, idOf(rr.Pick(nodes, skipIDs("b"))))
	}
	if want := "[a c c a]"; fmt.Sprint(got) != want {
		t.Errorf("round robin skipping b: got %v, want %v", got, want)
	}
	r := random{intn: seq(1, 1, 2)}
	got = got[:0]
	for range 3 {
		got = append(got, idOf(r.Pick(nodes, skipIDs("b"))))
	}
	if want := "[c c c]"; fmt.Sprint(got) != want {
		t.Errorf("random skipping b: got %v, want %v", got, want)
	}
	for _, b := range []Balancer{P2C(), RoundRobin(), Random()} {
		if n := b.Pick(nil, skipNone); n != nil {
			t.Errorf("%T on no nodes: got %q, want nil", b, idOf(n))
		}
		if n := b.Pick(nodes, skipIDs("a", "b", "c")); n != nil {
			t.Errorf("%T with every node skipped: got %q, want nil", b, idOf(n))
		}
	}
}

func TestP2CPickDoesNotAllocate(t *testing.T) {
	nodes := testNodes("a", "b", "c", "d", "e")
	b := P2C()
	skip := (*Node).Ejected
	if got := testing.AllocsPerRun(1000, func() { b.Pick(nodes, skip) }); got != 0 {
		t.Errorf("got %v allocs per pick, want 0", got)
	}
}

// BenchmarkPick measures one pick among 3 and 50 instances, with the skip
// rule the Client uses (breaker state).
func BenchmarkPick(b *testing.B) {
	for _, bal := range []struct {
		name string
		b    Balancer
	}{{"p2c", P2C()}, {"roundrobin", RoundRobin()}, {"random", Random()}} {
		for _, size := range []int{3, 50} {
			ids := make([]string, size)
			for k := range ids {
				ids[k] = fmt.Sprint(k)
			}
			nodes := testNodes(ids...)
			for k, n := range nodes {
				n.breaker = resilience.NewBreaker(ids[k], resilience.BreakerConfig{})
				n.observe(n.elapsed(), time.Duration(k+1)*time.Millisecond, false)
			}
			skip := (*Node).Ejected
			b.Run(fmt.Sprintf("%s/%d", bal.name, size), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if bal.b.Pick(nodes, skip) == nil {
							b.Fatal("no pick")
						}
					}
				})
			})
		}
	}
}
