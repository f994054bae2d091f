package resilience

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/fault"
)

func TestTimeout(t *testing.T) {
	tests := []struct {
		name   string
		parent time.Duration // 0: no parent deadline
		d      time.Duration
		want   time.Duration // the deadline the endpoint sees, from now
	}{
		{"sets deadline", 0, time.Second, time.Second},
		{"shorter than parent", 10 * time.Second, time.Second, time.Second},
		{"never longer than parent", time.Second, 10 * time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.parent > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.parent)
					defer cancel()
				}
				start := time.Now()
				var got time.Duration
				_, _ = Timeout(tt.d)(func(ctx context.Context, _ any) (any, error) {
					dl, _ := ctx.Deadline()
					got = dl.Sub(start)
					return nil, nil
				})(ctx, "req")
				if got != tt.want {
					t.Errorf("got deadline in %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestTimeoutErrorSaysSo(t *testing.T) { synctest.Test(t, testTimeoutErrorSaysSo) }

func testTimeoutErrorSaysSo(t *testing.T) {
	_, err := Timeout(time.Nanosecond)(func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})(context.Background(), "req")
	if !errors.Is(err, fault.DeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline exceeded fault wrapping context.DeadlineExceeded", err)
	}
}

func TestBulkhead(t *testing.T) {
	tests := []struct {
		name       string
		cfg        BulkheadConfig
		inFlight   int // calls held in the endpoint
		wantReject bool
	}{
		{"room", BulkheadConfig{MaxConcurrent: 2}, 1, false},
		{"full, no queue", BulkheadConfig{MaxConcurrent: 2}, 2, true},
		{"full, queue full", BulkheadConfig{MaxConcurrent: 1, MaxWaiting: 1}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := NewBulkhead("inventory", tt.cfg)
				release := make(chan struct{})
				var finished sync.WaitGroup
				entered := make(chan struct{}, tt.inFlight)
				e := b.Middleware()(func(ctx context.Context, _ any) (any, error) {
					if ctx.Err() != nil { // the probing call: do not hold the slot
						return nil, nil
					}
					entered <- struct{}{}
					<-release
					return nil, nil
				})
				held := min(tt.inFlight, tt.cfg.MaxConcurrent)
				for range tt.inFlight {
					finished.Add(1)
					go func() { defer finished.Done(); _, _ = e(context.Background(), "req") }()
				}
				for range held {
					<-entered
				}
				synctest.Wait() // let the waiter queue up
				ctx, cancel := context.WithCancel(context.Background())
				cancel() // a queued call gives up at once instead of waiting
				_, err := e(ctx, "req")
				close(release)
				finished.Wait()
				if gotReject := errors.Is(err, ErrBulkheadFull); gotReject != tt.wantReject {
					t.Errorf("got error %v, want rejection: %v", err, tt.wantReject)
				}
				if tt.wantReject && !errors.Is(err, fault.ResourceExhausted) {
					t.Errorf("got %v, want resource exhausted", err)
				}
			})
		})
	}
}

func TestBulkheadQueueWaitsForSlot(t *testing.T) { synctest.Test(t, testBulkheadQueueWaitsForSlot) }

func testBulkheadQueueWaitsForSlot(t *testing.T) {
	b := NewBulkhead("inventory", BulkheadConfig{MaxConcurrent: 1, MaxWaiting: 1})
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	e := b.Middleware()(func(context.Context, any) (any, error) {
		entered <- struct{}{}
		<-release
		return "ok", nil
	})
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := e(context.Background(), "req"); errs <- err }()
	}
	<-entered
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("got %v, want the queued call to run once a slot is free", err)
		}
	}
}

func TestRateLimiter(t *testing.T) {
	tests := []struct {
		name      string
		cfg       RateLimitConfig
		keyed     bool
		calls     []string // requests, all at the same instant
		wantAllow int
	}{
		{"shared bucket", RateLimitConfig{Rate: 10, Burst: 3}, false, []string{"a", "b", "c", "d", "e"}, 3},
		{"per key", RateLimitConfig{Rate: 10, Burst: 1}, true, []string{"a", "a", "b", "b", "c"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var opts []Option
				if tt.keyed {
					opts = append(opts, WithKey(func(_ context.Context, r any) string { return r.(string) }))
				}
				e := NewRateLimiter("api", tt.cfg, opts...).Middleware()(func(context.Context, any) (any, error) { return nil, nil })
				allowed := 0
				for _, r := range tt.calls {
					if _, err := e(context.Background(), r); err == nil {
						allowed++
					}
				}
				if allowed != tt.wantAllow {
					t.Errorf("got %d allowed, want %d", allowed, tt.wantAllow)
				}
			})
		})
	}
}

func TestRateLimiterRefusal(t *testing.T) { synctest.Test(t, testRateLimiterRefusal) }

func testRateLimiterRefusal(t *testing.T) {
	l := NewRateLimiter("api", RateLimitConfig{Rate: 2, Burst: 1})
	_ = l.Allow("")
	err := l.Allow("")
	if !errors.Is(err, fault.ResourceExhausted) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("got %v, want resource exhausted caused by ErrRateLimited", err)
	}
	if got, want := fault.RetryAfter(err), 500*time.Millisecond; got != want {
		t.Errorf("got RetryAfter %v, want %v", got, want)
	}
	time.Sleep(500 * time.Millisecond)
	if err := l.Allow(""); err != nil {
		t.Errorf("after RetryAfter: got %v, want allowed", err)
	}
}

func TestRateLimiterKeysBounded(t *testing.T) {
	l := NewRateLimiter("api", RateLimitConfig{MaxKeys: 10})
	for i := range 1000 {
		_ = l.Allow(string(rune('a' + i%500)))
	}
	if got := l.buckets.len(); got != 10 {
		t.Errorf("got %d keys held, want 10", got)
	}
}

// shedRun completes n requests of the given latency at the given
// concurrency, one window's worth at a time.
func shedRun(s *Shedder, windows, concurrency int, latency time.Duration) {
	for range windows {
		for range minWindowSamples {
			var starts []time.Duration
			for range concurrency {
				start, err := s.admit()
				if err == nil {
					starts = append(starts, start)
				}
			}
			time.Sleep(latency)
			for _, st := range starts {
				s.done(st)
			}
		}
		time.Sleep(s.cfg.Window)
	}
}

func TestShedderAdapts(t *testing.T) {
	tests := []struct {
		name      string
		initial   int
		latency   func(inFlight int) time.Duration
		offered   int
		wantLimit func(int) bool
	}{
		{"grows while latency holds", 10, func(int) time.Duration { return 10 * time.Millisecond }, 100,
			func(l int) bool { return l >= 40 }},
		{"shrinks when latency rises", 100, func(n int) time.Duration { return time.Duration(n) * time.Millisecond }, 100,
			func(l int) bool { return l <= 50 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := NewShedder("api", ShedConfig{InitialLimit: tt.initial})
				shedRun(s, 3, 10, 10*time.Millisecond) // learn the baseline at low load
				for range 30 {
					shedRun(s, 1, tt.offered, tt.latency(min(tt.offered, s.Limit())))
				}
				if got := s.Limit(); !tt.wantLimit(got) {
					t.Errorf("got limit %d", got)
				}
			})
		})
	}
}

// shedQueue offers a server with the given slots, each serving a request
// in service, offered requests at a time for the given number of windows;
// requests beyond the slots queue, so all admitted ones take
// service × admitted/slots. It returns the highest limit seen in the last
// half of the windows.
func shedQueue(s *Shedder, windows, offered, slots int, service time.Duration) int {
	highest := 0
	for w := range windows {
		for range minWindowSamples {
			var starts []time.Duration
			for range offered {
				if start, err := s.admit(); err == nil {
					starts = append(starts, start)
				}
			}
			time.Sleep(service * time.Duration(max(len(starts), slots)) / time.Duration(slots))
			for _, st := range starts {
				s.done(st)
			}
		}
		time.Sleep(s.cfg.Window)
		if w >= windows/2 {
			highest = max(highest, s.Limit())
		}
	}
	return highest
}

// Under sustained overload the limit settles near the server's real
// concurrency, though every window queues: the baseline is re-measured
// by probes at MinLimit.
func TestShedderSettlesUnderOverload(t *testing.T) {
	const slots = 4
	tests := []struct {
		name    string
		initial int
		before  time.Duration // service time for the first 100 windows
		after   time.Duration // and for the next 100
	}{
		{"starts too high", 20, 20 * time.Millisecond, 20 * time.Millisecond},
		{"starts far too high", 100, 20 * time.Millisecond, 20 * time.Millisecond},
		{"server gets slower", 20, 10 * time.Millisecond, 30 * time.Millisecond},
		{"server gets faster", 20, 30 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := NewShedder("api", ShedConfig{InitialLimit: tt.initial, Baseline: 20})
				_ = shedQueue(s, 100, 3*tt.initial, slots, tt.before)
				highest := shedQueue(s, 100, 3*tt.initial, slots, tt.after)
				if highest > slots*3/2 {
					t.Errorf("got limit up to %d, want at most 1.5 × the server's %d slots", highest, slots)
				}
			})
		})
	}
}

// A shedder that sheds nothing never probes: a probe would refuse requests
// the server can serve.
func TestShedderProbesOnlyWhenShedding(t *testing.T) {
	synctest.Test(t, testShedderProbesOnlyWhenShedding)
}

func testShedderProbesOnlyWhenShedding(t *testing.T) {
	s := NewShedder("api", ShedConfig{InitialLimit: 20, Baseline: 5})
	for range 50 {
		shedRun(s, 1, 10, 10*time.Millisecond)
		if got := s.Limit(); got < 20 {
			t.Fatalf("got limit %d, want no probe at MinLimit", got)
		}
	}
}

func TestShedderRefusal(t *testing.T) {
	s := NewShedder("api", ShedConfig{InitialLimit: 4, MinLimit: 4})
	for range 4 {
		if _, err := s.admit(); err != nil {
			t.Fatalf("got %v, want admitted", err)
		}
	}
	_, err := s.admit()
	if !errors.Is(err, fault.Unavailable) || !errors.Is(err, ErrShed) || fault.RetryAfter(err) != time.Second {
		t.Errorf("got %v, want unavailable caused by ErrShed with RetryAfter 1s", err)
	}
	if got := s.InFlight(); got != 4 {
		t.Errorf("got %d in flight, want 4", got)
	}
}

func TestHedge(t *testing.T) { synctest.Test(t, testHedge) }

func testHedge(t *testing.T) {
	h := NewHedge(HedgeConfig{Delay: 50 * time.Millisecond})
	var mu sync.Mutex
	calls := 0
	first := make(chan struct{})
	canceled := make(chan struct{})
	e := h.Middleware()(func(ctx context.Context, _ any) (any, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 { // the slow one
			close(first)
			<-ctx.Done()
			close(canceled)
			return nil, ctx.Err()
		}
		return "hedge", nil
	})
	got := make(chan any)
	go func() { r, _ := e(WithIdempotent(context.Background()), "req"); got <- r }()
	start := time.Now()
	<-first
	if r := <-got; r != "hedge" {
		t.Errorf("got %v, want the hedge's answer", r)
	}
	if got := time.Since(start); got != 50*time.Millisecond {
		t.Errorf("got the answer after %v, want it after the 50ms delay", got)
	}
	<-canceled // the slow attempt was canceled
}

func TestHedgeOnlyIdempotent(t *testing.T) {
	h := NewHedge(HedgeConfig{})
	s := &stub{}
	if _, err := h.Middleware()(s.endpoint)(context.Background(), "req"); err != nil || s.calls != 1 {
		t.Errorf("got %d calls, error %v; want 1 call, no error", s.calls, err)
	}
}

func TestFallback(t *testing.T) {
	e := Fallback(func(_ context.Context, _ any, err error) (any, error) {
		return "cached", nil
	})((&stub{err: fault.New(fault.Unavailable, "down")}).endpoint)
	if r, err := e(context.Background(), "req"); r != "cached" || err != nil {
		t.Errorf("got %v, %v; want cached, nil", r, err)
	}
}

// A keyed limiter forgets a key once its bucket has refilled: a fresh
// bucket would be the same.
func TestRateLimiterForgetsIdleKeys(t *testing.T) { synctest.Test(t, testRateLimiterForgetsIdleKeys) }

func testRateLimiterForgetsIdleKeys(t *testing.T) {
	l := NewRateLimiter("api", RateLimitConfig{Rate: 10, Burst: 5})
	for _, k := range []string{"a", "b", "c"} {
		_ = l.Allow(k)
	}
	time.Sleep(400 * time.Millisecond)
	_ = l.Allow("c")
	time.Sleep(100 * time.Millisecond) // a and b refilled 0.5 s after use
	if got := l.buckets.len(); got != 1 {
		t.Errorf("got %d keys held, want 1", got)
	}
}
