package report

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	samples := map[string][]Sample{
		"raw": {
			{Requests: 10000, Elapsed: time.Second, P50: 100 * time.Microsecond, P99: 1000 * time.Microsecond, CPU: 200 * time.Millisecond},
			{Requests: 30000, Elapsed: time.Second, P50: 300 * time.Microsecond, P99: 3000 * time.Microsecond, CPU: 600 * time.Millisecond},
		},
		"tailor": {
			{Requests: 8000, Elapsed: time.Second, P50: 300 * time.Microsecond, P99: 3000 * time.Microsecond, CPU: 200 * time.Millisecond, Errors: 1},
			{Requests: 12000, Elapsed: time.Second, P50: 500 * time.Microsecond, P99: 5000 * time.Microsecond, CPU: 600 * time.Millisecond, Errors: 2},
		},
	}
	tab, err := Summarize("t", "raw", "server", []string{"raw", "tailor", "missing"}, samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 2 {
		t.Fatalf("got %d rows, want 2 (a setting without samples is left out)", len(tab.Rows))
	}
	raw, tailor := tab.Rows[0], tab.Rows[1]
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"raw req/s", raw.PerSecond, 20000},
		{"raw p50 µs", micros(raw.P50), 200},
		{"raw p99 µs", micros(raw.P99), 2000},
		{"raw CPU µs/req", micros(raw.CPUPerCall), 20},
		{"raw ratio", raw.PerSecondRatio, 1},
		{"tailor req/s", tailor.PerSecond, 10000},
		{"tailor req/s ratio", tailor.PerSecondRatio, 0.5},
		{"tailor p50 ratio", tailor.P50Ratio, 2},
		{"tailor p99 ratio", tailor.P99Ratio, 2},
		{"tailor CPU µs/req", micros(tailor.CPUPerCall), 40},
		{"tailor CPU ratio", tailor.CPURatio, 2},
		{"tailor errors", float64(tailor.Errors), 3},
		{"tailor rounds", float64(tailor.Rounds), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	var b strings.Builder
	if err := tab.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if want := "| tailor | 10000 | 0.50 | 400 | 2.00 | 4000 | 2.00 | 40.0 | 2.00 | 3 |"; !strings.Contains(b.String(), want) {
		t.Errorf("got table\n%s\nwant a row %q", b.String(), want)
	}
}

func TestSummarizeWithoutBaseline(t *testing.T) {
	samples := map[string][]Sample{"tailor": {{Requests: 1, Elapsed: time.Second}}}
	if _, err := Summarize("t", "raw", "server", []string{"raw", "tailor"}, samples); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("got %v, want ErrNoBaseline", err)
	}
}

const wrkOutput = `Running 10s test @ http://127.0.0.1:41235/v1/orders
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms    2.31ms  45.90ms   97.12%
    Req/Sec    17.00k     1.20k   19.10k    71.00%
  Latency Distribution
     50%  755.00us
     75%    1.02ms
     90%    1.51ms
     99%    2.41ms
  170123 requests in 10.01s, 30.12MB read
  Socket errors: connect 0, read 2, write 1, timeout 0
  Non-2xx or 3xx responses: 4
Requests/sec:  16995.30
Transfer/sec:      3.01MB
`

func TestParseWrk(t *testing.T) {
	s, err := ParseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{Requests: 170123, Errors: 7, Elapsed: 10010 * time.Millisecond, P50: 755 * time.Microsecond, P99: 2410 * time.Microsecond}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestParseWrkWithoutLatency(t *testing.T) {
	out := strings.Replace(wrkOutput, "     99%    2.41ms\n", "", 1)
	if _, err := ParseWrk(out); err == nil || !strings.Contains(err.Error(), "--latency") {
		t.Errorf("got %v, want an error that asks for --latency", err)
	}
}
