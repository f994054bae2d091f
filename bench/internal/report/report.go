// Package report turns load-generator results into the benchmark tables:
// each setting's throughput, latency and CPU cost, and each as a ratio to
// the baseline setting measured in the same run.
//
// Start with Summarize, which takes the samples of every round and returns
// a Table; Table.WriteMarkdown prints it. ParseWrk reads a sample from
// wrk's output.
package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Sample is what one run of a load generator against one setting measured.
type Sample struct {
	// Requests is how many requests completed in the measured window,
	// failed ones included.
	Requests int64 `json:"requests"`
	// Errors is how many of them failed (a socket error or a status other
	// than 2xx or 3xx).
	Errors int64 `json:"errors"`
	// Elapsed is the measured window.
	Elapsed time.Duration `json:"elapsed_ns"`
	// P50 and P99 are latency percentiles.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	// CPU is the user and system CPU time the measured process spent in
	// the window: the server's, or the client's in a client benchmark.
	CPU time.Duration `json:"cpu_ns"`
	// FirstError is the first failure's message, when a generator knows it.
	FirstError string `json:"first_error,omitempty"`
}

// PerSecond is the throughput, requests per second.
func (s Sample) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Row is one setting's figures over all its rounds: throughput and CPU from
// the totals, latency percentiles as the mean of the rounds'.
type Row struct {
	Setting    string
	Rounds     int
	Errors     int64
	PerSecond  float64
	P50, P99   time.Duration
	CPUPerCall time.Duration
	// The same as ratios to the baseline row (1 for the baseline).
	PerSecondRatio, P50Ratio, P99Ratio, CPURatio float64
}

// Table is one benchmark's result.
type Table struct {
	Title    string
	Baseline string
	// CPUOf names the process whose CPU is counted ("server", "client").
	CPUOf string
	Rows  []Row
}

// ErrNoBaseline is returned by Summarize when the baseline setting has no
// samples to compare with.
var ErrNoBaseline = errors.New("report: no samples of the baseline setting")

// Summarize builds a table with one row per setting, in the order given,
// from the samples of each (one per round). Every ratio is to baseline,
// which must be among settings and have samples.
func Summarize(title, baseline, cpuOf string, settings []string, samples map[string][]Sample) (Table, error) {
	t := Table{Title: title, Baseline: baseline, CPUOf: cpuOf}
	if !slices.Contains(settings, baseline) || len(samples[baseline]) == 0 {
		return t, fmt.Errorf("%w %q; run it along with the others", ErrNoBaseline, baseline)
	}
	for _, name := range settings {
		ss := samples[name]
		if len(ss) == 0 {
			continue
		}
		r := Row{Setting: name, Rounds: len(ss)}
		var requests int64
		var elapsed, cpu, p50, p99 time.Duration
		for _, s := range ss {
			requests += s.Requests
			r.Errors += s.Errors
			elapsed += s.Elapsed
			cpu += s.CPU
			p50 += s.P50
			p99 += s.P99
		}
		if elapsed > 0 {
			r.PerSecond = float64(requests) / elapsed.Seconds()
		}
		if requests > 0 {
			r.CPUPerCall = cpu / time.Duration(requests)
		}
		r.P50 = p50 / time.Duration(len(ss))
		r.P99 = p99 / time.Duration(len(ss))
		t.Rows = append(t.Rows, r)
	}
	base := t.Rows[slices.IndexFunc(t.Rows, func(r Row) bool { return r.Setting == baseline })]
	for i := range t.Rows {
		r := &t.Rows[i]
		r.PerSecondRatio = ratio(r.PerSecond, base.PerSecond)
		r.P50Ratio = ratio(float64(r.P50), float64(base.P50))
		r.P99Ratio = ratio(float64(r.P99), float64(base.P99))
		r.CPURatio = ratio(float64(r.CPUPerCall), float64(base.CPUPerCall))
	}
	return t, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteMarkdown writes t as a Markdown table, latencies and CPU in
// microseconds.
func (t Table) WriteMarkdown(w io.Writer) error {
	var err error
	printf := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	printf("%s (ratios to %s)\n\n", t.Title, t.Baseline)
	printf("| setting | req/s | × | p50 µs | × | p99 µs | × | %s CPU µs/req | × | errors |\n", t.CPUOf)
	printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range t.Rows {
		printf("| %s | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.1f | %.2f | %d |\n",
			r.Setting, r.PerSecond, r.PerSecondRatio,
			micros(r.P50), r.P50Ratio, micros(r.P99), r.P99Ratio,
			micros(r.CPUPerCall), r.CPURatio, r.Errors)
	}
	printf("\n")
	return err
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
