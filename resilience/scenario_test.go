package resilience_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The load scenarios run real HTTP on loopback and report figures; see
// SCENARIO.md. They take about 45 s and run only with TAILOR_SCENARIO=1.

func scenario(t *testing.T) {
	t.Helper()
	if os.Getenv("TAILOR_SCENARIO") != "1" {
		t.Skip("set TAILOR_SCENARIO=1 to run the load scenarios")
	}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, IdleConnTimeout: 30 * time.Second}}
}

// httpEndpoint is a plain net/http client endpoint: 5xx and connection
// errors are Unavailable, 4xx are client errors.
func httpEndpoint(c *http.Client, url string) endpoint.Endpoint {
	return func(ctx context.Context, _ any) (any, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fault.Wrap(err, fault.Unavailable, "connection failed")
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			return nil, fault.New(fault.FromHTTPStatus(resp.StatusCode), resp.Status)
		}
		return nil, nil
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func TestScenarioBreaker(t *testing.T) {
	scenario(t)
	var down atomic.Bool
	var hits atomic.Int64
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	const openTimeout = 500 * time.Millisecond
	b := resilience.NewBreaker("dependency", resilience.BreakerConfig{ConsecutiveFailures: 5, OpenTimeout: openTimeout})
	e := b.Middleware()(httpEndpoint(httpClient(), url))
	ctx := context.Background()
	for range 50 {
		if _, err := e(ctx, nil); err != nil {
			t.Fatalf("healthy dependency: %v", err)
		}
	}

	down.Store(true)
	before := hits.Load()
	for b.State() == resilience.StateClosed {
		_, _ = e(ctx, nil)
	}
	tripped := hits.Load() - before
	var open []time.Duration
	for range 2000 {
		start := time.Now()
		_, err := e(ctx, nil)
		open = append(open, time.Since(start))
		if fault.KindOf(err) != fault.Unavailable {
			t.Fatalf("while open: got %v, want unavailable", err)
		}
	}
	leaked := hits.Load() - before - tripped

	down.Store(false)
	recovered := time.Now()
	var restored time.Duration
	for restored == 0 {
		if _, err := e(ctx, nil); err == nil {
			restored = time.Since(recovered)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("breaker: opened after %d failed calls (configured 5); %d calls while open reached the dependency", tripped, leaked)
	t.Logf("breaker: while open, p50 %v, p99 %v per refused call", percentile(open, 0.5), percentile(open, 0.99))
	t.Logf("breaker: traffic restored %v after the dependency recovered (open timeout %v)", restored.Round(time.Millisecond), openTimeout)
	if tripped != 5 || leaked != 0 {
		t.Errorf("got %d calls to trip and %d leaked, want 5 and 0", tripped, leaked)
	}
	if p99 := percentile(open, 0.99); p99 >= time.Millisecond {
		t.Errorf("got p99 %v while open, want under 1ms", p99)
	}
	if restored > openTimeout+50*time.Millisecond {
		t.Errorf("got recovery after %v, want within the open timeout %v", restored, openTimeout)
	}
}

// A retry above an open breaker fails fast and does not delay recovery:
// calls to a dead dependency end at once once the breaker opens, and
// traffic comes back one open timeout after the dependency does, run
// after run.
func TestScenarioRetryOverOpenBreaker(t *testing.T) {
	scenario(t)
	const openTimeout, calls, runs = 300 * time.Millisecond, 100, 5
	for run := range runs {
		var down atomic.Bool
		url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
		}))
		p := resilience.NewPolicy(resilience.PolicyConfig{
			Name:    "dependency",
			Retry:   &resilience.RetryConfig{AllIdempotent: true},
			Breaker: &resilience.BreakerConfig{ConsecutiveFailures: 5, OpenTimeout: openTimeout},
		})
		e := p.Middleware()(httpEndpoint(httpClient(), url))
		ctx := context.Background()

		down.Store(true)
		start := time.Now()
		for range calls {
			_, _ = e(ctx, nil)
		}
		dead := time.Since(start)

		down.Store(false)
		recovered := time.Now()
		var restored time.Duration
		for restored == 0 {
			if _, err := e(ctx, nil); err == nil {
				restored = time.Since(recovered)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("retry over breaker, run %d: %d calls to a dead dependency took %v; traffic restored %v after it recovered (open timeout %v)",
			run+1, calls, dead.Round(time.Millisecond), restored.Round(time.Millisecond), openTimeout)
		if dead > openTimeout {
			t.Errorf("got %v for %d calls, want them refused at once once the breaker opened", dead, calls)
		}
		if restored > openTimeout+50*time.Millisecond {
			t.Errorf("got recovery after %v, want within the open timeout %v", restored, openTimeout)
		}
	}
}

func TestScenarioRetryBudget(t *testing.T) {
	scenario(t)
	for _, budgeted := range []bool{true, false} {
		var hits atomic.Int64
		url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
		}))
		cfg := resilience.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, AllIdempotent: true,
			Budget: resilience.BudgetConfig{Disabled: !budgeted}}
		p := resilience.NewPolicy(resilience.PolicyConfig{Name: "dependency", Retry: &cfg})
		e := p.Middleware()(httpEndpoint(httpClient(), url))
		const workers, duration = 8, 2 * time.Second
		var requests atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for time.Since(start) < duration {
					requests.Add(1)
					_, _ = e(context.Background(), nil)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		n, attempts := requests.Load(), hits.Load()
		floor := 10 + 10*elapsed.Seconds() // the initial tokens and MinPerSecond over the run
		bound := 1.1*float64(n) + floor
		t.Logf("retry (budget %v): %d requests, %d attempts = %.2f per request; bound 1.1 × requests + floor (%.0f) = %.0f",
			budgeted, n, attempts, float64(attempts)/float64(n), floor, bound)
		if budgeted && float64(attempts) > bound {
			t.Errorf("got %d attempts, want at most %.0f", attempts, bound)
		}
	}
}

// capacityServer serves `slots` requests at a time, each for `work`; the
// rest queue, as a server bound by CPU or a connection pool does.
func capacityServer(slots int, work time.Duration) http.Handler {
	sem := make(chan struct{}, slots)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		time.Sleep(work)
		<-sem
	})
}

type loadResult struct {
	sent, ok, shed int
	okLatency      []time.Duration
	elapsed        time.Duration
}

// openLoad sends rate requests a second for warmup + d, regardless of
// answers (an open loop, as independent clients do), and counts what came
// back within the client timeout of the requests sent after the warm-up.
// The load runs without a break, so what adapts during the warm-up meets
// the same load after it.
func openLoad(c *http.Client, url string, rate int, warmup, d time.Duration) loadResult {
	var mu sync.Mutex
	var res loadResult
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= warmup+d {
			break
		}
		time.Sleep(time.Until(at))
		counted := at.Sub(start) >= warmup
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			t0 := time.Now()
			_, err := httpEndpoint(c, url)(ctx, nil)
			lat := time.Since(t0)
			if !counted {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			res.sent++
			switch {
			case err == nil:
				res.ok++
				res.okLatency = append(res.okLatency, lat)
			case fault.KindOf(err) == fault.Unavailable:
				res.shed++
			}
		})
	}
	wg.Wait()
	res.elapsed = d
	return res
}

func TestScenarioShedding(t *testing.T) {
	scenario(t)
	const slots, work = 4, 20 * time.Millisecond
	capacity := float64(slots) * float64(time.Second/work) // 200 requests a second
	c := httpClient()

	// The unloaded reference: half the capacity, evenly spaced, so no
	// request waits for a slot; 600 requests, so that its p99 is not one
	// outlier of a busy machine's.
	unloadedURL := serve(t, capacityServer(slots, work))
	unloaded := openLoad(c, unloadedURL, int(capacity/2), 0, 6*time.Second)
	unloadedP99 := percentile(unloaded.okLatency, 0.99)
	t.Logf("shedding: unloaded at %.0f/s: p50 %v, p99 %v", capacity/2, percentile(unloaded.okLatency, 0.5), unloadedP99)

	for _, shedding := range []bool{true, false} {
		h := capacityServer(slots, work)
		var s *resilience.Shedder
		if shedding {
			s = resilience.NewShedder("server", resilience.ShedConfig{})
			h = thttp.Shed(s)(h)
		}
		url := serve(t, h)
		res := openLoad(c, url, int(3*capacity), time.Second, 4*time.Second) // the limit adapts in the warm-up
		goodput := float64(res.ok) / res.elapsed.Seconds()
		p99 := percentile(res.okLatency, 0.99)
		limit := ""
		if s != nil {
			limit = fmt.Sprintf(", limit %d", s.Limit())
		}
		t.Logf("shedding %v at 3× capacity (%.0f/s): goodput %.0f/s = %.0f%% of capacity, %d shed, admitted p50 %v p99 %v = %.1f× unloaded p99%s",
			shedding, 3*capacity, goodput, 100*goodput/capacity, res.shed, percentile(res.okLatency, 0.5), p99,
			float64(p99)/float64(unloadedP99), limit)
		if shedding {
			if goodput < 0.8*capacity {
				t.Errorf("got goodput %.0f/s, want at least 80%% of %.0f/s", goodput, capacity)
			}
			if p99 > 2*unloadedP99 {
				t.Errorf("got admitted p99 %v, want at most twice the unloaded %v", p99, unloadedP99)
			}
		}
	}
}
