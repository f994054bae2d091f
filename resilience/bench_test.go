package resilience

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
)

func bare(_ context.Context, request any) (any, error) { return request, nil }

func runBench(b *testing.B, e endpoint.Endpoint) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e(ctx, "req"); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks run side by side against the bare endpoint; compare each
// with BenchmarkBare.
func BenchmarkBare(b *testing.B) { runBench(b, bare) }

func BenchmarkBreakerClosed(b *testing.B) {
	runBench(b, NewBreaker("bench", BreakerConfig{}).Middleware()(bare))
}

// A set of breakers keyed by instance, as a balancer keeps them: the cost
// of the least-recently-used lookup on top of a breaker's.
func BenchmarkBreakers(b *testing.B) {
	keys := []string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}
	n := 0
	key := func(context.Context, any) string { n++; return keys[n%len(keys)] }
	runBench(b, NewBreakers("bench", key, BreakerConfig{}).Middleware()(bare))
}

func BenchmarkThrottle(b *testing.B) {
	runBench(b, NewThrottle("bench", ThrottleConfig{}).Middleware()(bare))
}

func BenchmarkBulkhead(b *testing.B) {
	runBench(b, NewBulkhead("bench", BulkheadConfig{}).Middleware()(bare))
}

func BenchmarkRateLimiter(b *testing.B) {
	runBench(b, NewRateLimiter("bench", RateLimitConfig{Rate: math.MaxFloat64}).Middleware()(bare))
}

func BenchmarkShedder(b *testing.B) {
	runBench(b, NewShedder("bench", ShedConfig{}).Middleware()(bare))
}

func BenchmarkRetry(b *testing.B) {
	runBench(b, NewRetry(RetryConfig{}).Middleware()(bare))
}

// The full client policy: timeout, retry with budget, breaker, bulkhead.
func BenchmarkPolicy(b *testing.B) {
	runBench(b, NewPolicy(PolicyConfig{
		Name:     "bench",
		Timeout:  time.Second,
		Retry:    &RetryConfig{},
		Breaker:  &BreakerConfig{},
		Bulkhead: &BulkheadConfig{},
	}).Middleware()(bare))
}

// go-kit's own retry, for comparison.
func BenchmarkGoKitRetry(b *testing.B) {
	balancer := lb.NewRoundRobin(sd.FixedEndpointer{bare})
	runBench(b, lb.Retry(3, time.Second, balancer))
}

// The timeout alone: context.WithTimeout and its timer.
func BenchmarkTimeout(b *testing.B) {
	runBench(b, Timeout(time.Second)(bare))
}
