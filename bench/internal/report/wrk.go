package report

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseWrk reads a Sample from the output of `wrk --latency`: the requests
// and the window from "N requests in 10.00s", the 50% and 99% lines of the
// latency distribution, and the errors from the "Socket errors" and
// "Non-2xx or 3xx responses" lines. CPU is left zero.
func ParseWrk(out string) (Sample, error) {
	var s Sample
	var haveTotal, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return s, fmt.Errorf("report: wrk's request count %q: %w", f[0], err)
			}
			d, err := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return s, fmt.Errorf("report: wrk's duration %q: %w", f[3], err)
			}
			s.Requests, s.Elapsed, haveTotal = n, d, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return s, fmt.Errorf("report: wrk's %s latency %q: %w", f[0], f[1], err)
			}
			if f[0] == "50%" {
				s.P50, have50 = d, true
			} else {
				s.P99, have99 = d, true
			}
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				if err != nil {
					return s, fmt.Errorf("report: wrk's socket errors %q: %w", sc.Text(), err)
				}
				s.Errors += n
			}
		case len(f) == 5 && f[0] == "Non-2xx":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return s, fmt.Errorf("report: wrk's non-2xx count %q: %w", f[4], err)
			}
			s.Errors += n
		}
	}
	if !haveTotal || !have50 || !have99 {
		return s, fmt.Errorf("report: wrk's output lacks the request count or the 50%%/99%% latencies (was it run with --latency?):\n%s", out)
	}
	return s, nil
}
