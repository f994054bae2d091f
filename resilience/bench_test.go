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

func BenchmarkBreakerThrottle(b *testing.B) {
	runBench(b, NewBreaker("bench", BreakerConfig{Strategy: StrategyThrottle}).Middleware()(bare))
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

// The same policy without its timeout, whose cost is one clock reading and
// its context's allocation (see the package doc, "Cost").
func BenchmarkPolicyNoTimeout(b *testing.B) {
	runBench(b, NewPolicy(PolicyConfig{
		Name:     "bench",
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

// The timeout alone: one clock reading and one allocation.
func BenchmarkTimeout(b *testing.B) {
	runBench(b, Timeout(time.Second)(bare))
}
