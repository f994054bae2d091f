//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/observability"
)

// The kill-and-scale scenario's timeline, from the first order placed.
const (
	loadRate  = 40 // orders a second, through the gateway
	killAt    = 3 * time.Second
	scaleAt   = 8 * time.Second
	sigtermAt = 13 * time.Second
	loadFor   = 18 * time.Second
	pollEvery = 100 * time.Millisecond // of the gateway's metrics
)

// TestClusterKillAndScale runs the multi-process shop as the runner does
// (two orders instances; Consul, PostgreSQL and NATS real) under the
// load generator placing loadRate orders a second through the gateway,
// and in turn: kills one orders instance with SIGKILL, starts a third,
// and stops one with SIGTERM. It measures, from the load generator's
// outcomes, the failed orders of each phase by kind; from the orders
// database, the orders the killed instance had taken and not finished
// (their Idempotency-Key still held); and from the gateway's own metric
// of its calls to each instance (http.client.request.duration, counted
// by server port), read every pollEvery, how long the dead instance got
// calls and how soon the new one did.
//
// Wanted: no failed order but those the killed instance had taken, which
// the gateway's retry finds still held and answers 409; no call to the
// dead instance 1 s after the kill (but for a rare one that tries it
// again once client.UnreachableFor has passed, and goes on to a live
// instance); the new instance called within 2 s of its registration;
// not one failed order around the SIGTERM.
func TestClusterKillAndScale(t *testing.T) {
	testenv.Short(t, "the multi-process shop's")
	consulAddr := os.Getenv("TAILOR_TEST_CONSUL")
	if consulAddr == "" {
		testenv.Missing(t, "TAILOR_TEST_CONSUL is not set: start an agent with `scripts/consul.sh start` and export TAILOR_TEST_CONSUL=<the address it prints>; bash .ci/run does both")
	}
	pgURL, prefix := testDatabases(t)
	nats := testNATS(t)
	t.Setenv(users.EnvAdminPassword, testAdminPassword)
	t.Setenv(observability.EnvLogFormat, "json")
	ctx := t.Context()

	mod, err := moduleDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr, err := pickPort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{cfg: config{addr: addr, data: filepath.Join(dir, "data"), postgres: pgURL, dbPrefix: prefix, nats: nats,
		consul: consulAddr, ipRate: -1, userRate: -1, stdout: io.Discard, stderr: io.Discard, moduleDir: mod},
		exited: make(chan *instance, 16)}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Errorf("stopping the shop: %v", err)
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "data", "logs", "*.log"))
			for _, l := range logs {
				t.Logf("%s:\n%s", filepath.Base(l), tail(l))
			}
		}
	})
	began := time.Now()
	if err := c.start(ctx); err != nil {
		t.Fatal(err)
	}
	loadgen := filepath.Join(dir, "loadgen")
	build := exec.CommandContext(ctx, "go", "build", "-o", loadgen, "./examples/shop/cmd/loadgen")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build loadgen: %v\n%s", err, out)
	}
	t.Logf("the shop ready in %v", time.Since(began).Round(time.Millisecond))

	watch := watchConsul(t, consulAddr, "orders")
	registered := func(port int) bool {
		return slices.ContainsFunc(watch.State().Instances, func(i discovery.Instance) bool { return i.Port == port })
	}
	orders := c.ofService("orders")
	if len(orders) != 2 {
		t.Fatalf("%d orders instances, want 2", len(orders))
	}
	victim, stopped := orders[0], orders[1]
	victimPort, stoppedPort := servingPort(t, victim), servingPort(t, stopped)

	// The load, and the gateway's calls to each instance.
	load := startLoad(t, loadgen, c.gatewayURL)
	poll := pollCalls(t, c.gatewayURL, watch)
	t0 := load.placing(t)

	// SIGKILL one orders instance.
	sleepUntil(t0.Add(killAt))
	beforeKill := load.outcomesAt(time.Now())
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done

	// A third instance.
	sleepUntil(t0.Add(scaleAt))
	beforeScale := load.outcomesAt(time.Now())
	spawned := time.Now()
	if err := c.startInstance("orders", 3); err != nil {
		t.Fatal(err)
	}
	third := c.ofService("orders")[2]
	thirdPort := servingPort(t, third)
	var joined time.Time
	for joined.IsZero() {
		if registered(thirdPort) {
			joined = time.Now()
			break
		}
		if time.Since(spawned) > readyWithin {
			t.Fatalf("the third orders instance did not register within %v", readyWithin)
		}
		time.Sleep(10 * time.Millisecond) // a real process registering in a real agent
	}

	// SIGTERM another.
	sleepUntil(t0.Add(sigtermAt))
	beforeTerm := load.outcomesAt(time.Now())
	terminated := time.Now()
	if err := stopped.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-stopped.done
	drained := time.Since(terminated)
	if stopped.err != nil {
		t.Errorf("the orders instance stopped with SIGTERM exited with %v, want status 0", stopped.err)
	}

	summary := load.wait(t)
	end := load.outcomesAt(time.Now())
	samples := poll.stop()

	// What the killed instance had taken and not finished: the keys it
	// claimed and never released, once every order has been answered.
	inFlight := heldKeys(t, c.databaseURL("orders"))

	phases := []struct {
		name     string
		from, to map[string]int64
	}{
		{"before the kill", nil, beforeKill},
		{"SIGKILL of one of two", beforeKill, beforeScale},
		{"a third started", beforeScale, beforeTerm},
		{"SIGTERM of one", beforeTerm, end},
	}
	failed := make([]map[string]int64, len(phases))
	for k, p := range phases {
		failed[k] = failures(p.from, p.to)
		t.Logf("phase %-22s orders %5d, failed %d %v", p.name+":", placed(p.to)-placed(p.from), total(failed[k]), failed[k])
	}
	burst, probes := callsAfter(samples, victimPort, killed)
	off := burst.Sub(killed)
	if burst.IsZero() {
		off = 0
	}
	t.Logf("SIGKILL: %d orders in flight on the killed instance (keys it held); calls to it ended %v after the kill (read every %v); %d calls to it later (probes); Consul dropped it %v after the kill",
		inFlight, off.Round(time.Millisecond), pollEvery, probes, since(dropped(samples, victimPort, killed), killed))
	first := firstCall(samples, thirdPort)
	t.Logf("third instance: registered %v after its start, first called %v after its registration (%v after its start)",
		joined.Sub(spawned).Round(time.Millisecond), since(first, joined), since(first, spawned))
	lastTerm, _ := callsAfter(samples, stoppedPort, terminated)
	t.Logf("SIGTERM: exited %v after the signal; its last call ended %v after the signal", drained.Round(time.Millisecond), since(lastTerm, terminated))
	t.Logf("load generator:\n%s", summary)

	if n := total(failed[0]); n != 0 {
		t.Errorf("%d orders failed before the kill, want 0: %v", n, failed[0])
	}
	if n := total(failed[1]); n > inFlight || n != failed[1]["HTTP 409"] {
		t.Errorf("%d orders failed after the SIGKILL (%v), want at most the %d the killed instance held, each answered 409", n, failed[1], inFlight)
	}
	if off > time.Second {
		t.Errorf("the dead instance got calls for %v after the kill, want at most 1s", off)
	}
	if first.IsZero() {
		t.Errorf("the third instance got no call")
	} else if d := first.Sub(joined); d > 2*time.Second {
		t.Errorf("the third instance got its first call %v after it registered, want within 2s", d)
	}
	for k := 2; k < len(phases); k++ {
		if n := total(failed[k]); n != 0 {
			t.Errorf("%d orders failed in the phase %q, want 0: %v", n, phases[k].name, failed[k])
		}
	}
	if placed(end) < int64(loadRate*loadFor/time.Second)*9/10 {
		t.Errorf("%d orders placed in %v at %d a second, want at least 90%% of them", placed(end), loadFor, loadRate)
	}
}

// ofService returns the instances of service the cluster started, in the
// order it started them.
func (c *cluster) ofService(service string) []*instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*instance
	for _, in := range c.instances {
		if in.service == service {
			out = append(out, in)
		}
	}
	return out
}

// servingPort reads the HTTP port of an instance from its "serving" log
// record, waiting for it.
func servingPort(t *testing.T, in *instance) int {
	t.Helper()
	deadline := time.Now().Add(readyWithin)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(in.log)
		for line := range strings.Lines(string(b)) {
			var rec struct{ Msg, HTTP string }
			if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "serving" {
				continue
			}
			_, port, err := net.SplitHostPort(rec.HTTP)
			if err != nil {
				t.Fatalf("%s: serving at %q: %v", in, rec.HTTP, err)
			}
			p, _ := strconv.Atoi(port)
			return p
		}
		select {
		case <-in.done:
			t.Fatalf("%s exited before it served: %v", in, in.err)
		case <-time.After(20 * time.Millisecond): // a real process starting
		}
	}
	t.Fatalf("%s did not log that it serves within %v", in, readyWithin)
	return 0
}

func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

// since is at-from, or "never" when at is zero.
func since(at, from time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return at.Sub(from).Round(time.Millisecond).String()
}

// load is a run of the load generator: its progress lines, each with the
// outcomes counted so far and the time it arrived.
type load struct {
	cmd     *exec.Cmd
	stdout  strings.Builder
	started chan time.Time
	done    chan error

	mu       sync.Mutex
	progress []progressLine
}

type progressLine struct {
	at       time.Time
	outcomes map[string]int64
}

// startLoad runs the load generator against the gateway at base.
func startLoad(t *testing.T, bin, base string) *load {
	t.Helper()
	l := &load{started: make(chan time.Time, 1), done: make(chan error, 1)}
	// The cap on orders in flight only guards the load generator: at
	// loadRate it allows answers 10 s slow, as on a machine busy with
	// other tests, before an order due is not sent.
	l.cmd = exec.Command(bin, "-addr", base, "-users", "4", "-products", "2",
		"-rate", strconv.Itoa(loadRate), "-concurrency", strconv.Itoa(10*loadRate), "-duration", loadFor.String(), "-saga-sample", "0")
	l.cmd.Stdout = &l.stdout
	stderr, err := l.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			now := time.Now()
			switch {
			case strings.Contains(line, "placing orders"):
				l.started <- now
			case strings.Contains(line, " orders/s "):
				l.mu.Lock()
				l.progress = append(l.progress, progressLine{now, parseOutcomes(line)})
				l.mu.Unlock()
			default:
				rest.WriteString(line + "\n")
			}
		}
		err := l.cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, rest.String())
		}
		l.done <- err
	}()
	t.Cleanup(func() {
		if l.cmd.ProcessState == nil {
			_ = l.cmd.Process.Kill()
		}
	})
	return l
}

// placing waits until the load generator has set the shop up and starts
// placing orders, and returns when it did.
func (l *load) placing(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-l.started:
		return at
	case err := <-l.done:
		t.Fatalf("the load generator ended before placing orders: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the load generator did not start placing orders within 2 minutes")
	}
	return time.Time{}
}

// wait waits for the load generator to end and returns its summary.
func (l *load) wait(t *testing.T) string {
	t.Helper()
	select {
	case err := <-l.done:
		if err != nil {
			t.Fatalf("the load generator: %v", err)
		}
	case <-time.After(loadFor + time.Minute):
		t.Fatal("the load generator did not end")
	}
	return l.stdout.String()
}

// outcomesAt is the outcomes counted by the last progress line that
// arrived by at.
func (l *load) outcomesAt(at time.Time) map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int64{}
	for _, p := range l.progress {
		if p.at.After(at) {
			break
		}
		out = p.outcomes
	}
	return out
}

// parseOutcomes reads the counts at the end of a progress line: after
// its last "overall  ", "confirmed 120, HTTP 409 1".
func parseOutcomes(line string) map[string]int64 {
	out := map[string]int64{}
	i := strings.LastIndex(line, "overall  ")
	if i < 0 {
		return out
	}
	for item := range strings.SplitSeq(line[i+len("overall  "):], ", ") {
		j := strings.LastIndexByte(item, ' ')
		if j < 0 {
			continue
		}
		if n, err := strconv.ParseInt(item[j+1:], 10, 64); err == nil {
			out[item[:j]] = n
		}
	}
	return out
}

// placed counts the orders answered 201 or 202.
func placed(outcomes map[string]int64) int64 {
	var n int64
	for k, v := range outcomes {
		if k == "confirmed" || k == "pending (202)" || strings.HasPrefix(k, "cancelled: ") {
			n += v
		}
	}
	return n
}

// failures is the outcomes other than a confirmed or pending order,
// counted in to but not in from.
func failures(from, to map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range to {
		if k == "confirmed" || k == "pending (202)" {
			continue
		}
		if d := v - from[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func total(m map[string]int64) int64 {
	var n int64
	for v := range maps.Values(m) {
		n += v
	}
	return n
}

// calls is one reading of the gateway's metrics: its calls so far to each
// server port, and the orders instances Consul lists as healthy.
type calls struct {
	at      time.Time
	byPort  map[int]float64
	healthy []int
}

type poller struct {
	stopc chan struct{}
	done  chan []calls
	once  sync.Once
	calls []calls
}

var callCount = regexp.MustCompile(`^http_client_request_duration_seconds_count\{[^}]*server_port="(\d+)"[^}]*\} (\S+)$`)

// pollCalls reads the gateway's metrics every pollEvery until stopped.
func pollCalls(t *testing.T, base string, watch discovery.Instancer) *poller {
	t.Helper()
	p := &poller{stopc: make(chan struct{}), done: make(chan []calls, 1)}
	hc := &http.Client{Timeout: time.Second}
	go func() {
		var out []calls
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-p.stopc:
				p.done <- out
				return
			case <-tick.C:
			}
			at := time.Now()
			resp, err := hc.Get(base + "/metrics")
			if err != nil {
				continue
			}
			c := calls{at: at, byPort: map[int]float64{}}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			for sc.Scan() {
				if m := callCount.FindStringSubmatch(sc.Text()); m != nil {
					port, _ := strconv.Atoi(m[1])
					v, _ := strconv.ParseFloat(m[2], 64)
					c.byPort[port] += v
				}
			}
			resp.Body.Close()
			for _, inst := range watch.State().Instances {
				c.healthy = append(c.healthy, inst.Port)
			}
			out = append(out, c)
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop stops the polling, once, and returns the readings.
func (p *poller) stop() []calls {
	p.once.Do(func() {
		close(p.stopc)
		p.calls = <-p.done
	})
	return p.calls
}

// callsAfter reads, in samples, the calls to port after from: when the
// last reading that saw their count grow was taken, before the first
// second in which it did not; and how many calls came after that second
// (the breaker's probes).
func callsAfter(samples []calls, port int, from time.Time) (last time.Time, later int) {
	quiet := false
	for k := 1; k < len(samples); k++ {
		s, grew := samples[k], samples[k].byPort[port]-samples[k-1].byPort[port]
		if s.at.Before(from) || grew <= 0 {
			continue
		}
		if quiet || !last.IsZero() && s.at.Sub(last) > time.Second {
			quiet = true
			later += int(grew)
			continue
		}
		last = s.at
	}
	return last, later
}

// dropped is when the first reading after from was taken in which Consul
// no longer listed port as healthy.
func dropped(samples []calls, port int, from time.Time) time.Time {
	for _, s := range samples {
		if !s.at.Before(from) && !slices.Contains(s.healthy, port) {
			return s.at
		}
	}
	return time.Time{}
}

// firstCall is when the first reading that saw a call to port was taken.
func firstCall(samples []calls, port int) time.Time {
	for _, s := range samples {
		if s.byPort[port] > 0 {
			return s.at
		}
	}
	return time.Time{}
}

// heldKeys counts the Idempotency-Keys the orders database at url holds
// for a request still running: once every order has been answered, those
// of the requests an instance took and never finished.
func heldKeys(t *testing.T, url string) int64 {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM tailor_idempotency WHERE state = 'in_progress'").Scan(&n); err != nil {
		t.Fatalf("counting the orders' held keys: %v", err)
	}
	return n
}
