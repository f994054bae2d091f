// Package load is a closed-loop load generator: a fixed number of callers,
// each sending its next call as soon as the last one answers, for a fixed
// time. cmd/grpcload and cmd/httpclient measure with it.
package load

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/tailorkit/tailor/bench/internal/report"
)

// Run calls call from concurrency goroutines for warmup, then for
// duration, and returns what the second part measured: calls completed,
// failures, latency percentiles, and the CPU time this process spent.
func Run(ctx context.Context, concurrency int, warmup, duration time.Duration, call func(context.Context) error) (report.Sample, error) {
	if warmup > 0 {
		if _, err := phase(ctx, concurrency, warmup, call); err != nil {
			return report.Sample{}, err
		}
	}
	cpu0, err := cpuTime()
	if err != nil {
		return report.Sample{}, err
	}
	lat, err := phase(ctx, concurrency, duration, call)
	if err != nil {
		return report.Sample{}, err
	}
	cpu1, err := cpuTime()
	if err != nil {
		return report.Sample{}, err
	}
	s := report.Sample{Elapsed: duration, CPU: cpu1 - cpu0}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l.ok...)
		s.Errors += l.errors
		if s.FirstError == "" && l.first != nil {
			s.FirstError = l.first.Error()
		}
	}
	s.Requests = int64(len(all)) + s.Errors
	slices.Sort(all)
	s.P50 = percentile(all, 0.50)
	s.P99 = percentile(all, 0.99)
	return s, nil
}

type latencies struct {
	ok     []time.Duration
	errors int64
	first  error
}

func phase(ctx context.Context, concurrency int, d time.Duration, call func(context.Context) error) ([]latencies, error) {
	// Callers stop starting calls at end and let the calls in flight
	// finish; a call cut short by a deadline would count as a failure to a
	// circuit breaker under test, which would then open.
	end := time.Now().Add(d)
	lat := make([]latencies, concurrency)
	var wg sync.WaitGroup
	for i := range lat {
		l := &lat[i]
		l.ok = make([]time.Duration, 0, 1<<16)
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				err := call(ctx)
				done := time.Now()
				if !done.Before(end) {
					return // ended after the window: not counted
				}
				if err != nil {
					l.errors++
					if l.first == nil {
						l.first = err
					}
					continue
				}
				l.ok = append(l.ok, done.Sub(t))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return lat, nil
}

// percentile returns the q-quantile of sorted, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
