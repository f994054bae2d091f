// Command bench measures tailor side by side with the plain alternatives in
// one run and prints each setting's throughput, latency percentiles and CPU
// per request as ratios to the baseline measured in the same run. Run it
// through bench/run.sh, which builds the programs it starts:
//
//	bench/run.sh              # every table, 10 s per setting and round, 2 rounds
//	bench/run.sh -quick       # a smoke test: 1 s per setting
//
// The server under test runs on core 0 with GOMAXPROCS=1, the load
// generator on core 1 (taskset), so neither takes the other's CPU. Each
// round runs the settings of a table in turn, the next round in reverse
// order (ABC, CBA), so a drift in the machine's speed is shared out.
// Before each measurement the same load runs for -warmup.
//
// Tables: http (wrk against each server), middleware (tailor's OTel HTTP
// middleware against otelhttp), grpc (cmd/grpcload against each gRPC
// server; server CPU per call), grpcmw (tailor's gRPC interceptors against
// otelgrpc), client (cmd/httpclient's clients against the raw server;
// client CPU per call) and dash (a tailor service with its admin listener,
// the operations dashboard closed and open, against the same service
// without the admin listener; the open dashboards are cmd/dashwatch's
// readers of its event stream, on the load generator's core).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tailorkit/tailor/bench/internal/dashclient"
	"github.com/tailorkit/tailor/bench/internal/order"
	"github.com/tailorkit/tailor/bench/internal/report"
)

// A table is one comparison: its settings, the first of them the baseline.
type table struct {
	name, title string
	load        string // "wrk", "grpc" or "client"
	settings    []string
	// setups are the settings that are more than the server's mode of
	// the same name.
	setups map[string]setup
}

// setup is how a setting runs: the server's mode, and whether dashboards
// are open on its admin listener while it is loaded.
type setup struct {
	mode      string
	dashboard bool
}

func (t table) setup(setting string) setup {
	if s, ok := t.setups[setting]; ok {
		return s
	}
	return setup{mode: setting}
}

func tables() []table {
	return []table{
		{name: "http", title: "HTTP server, POST of a small JSON order decoded and encoded", load: "wrk",
			settings: []string{"raw", "gokit", "naive", "tailor", "tailor-notrace", "tailor-100"}},
		{name: "middleware", title: "OTel HTTP middleware, tailor's against otelhttp, on tailor's router", load: "wrk",
			settings: []string{"raw", "mw-tailor-1", "mw-otelhttp-1", "mw-tailor-100", "mw-otelhttp-100"}},
		{name: "grpc", title: "gRPC server, unary call of a small order", load: "grpc",
			settings: []string{"grpc-raw", "grpc-tailor"}},
		{name: "grpcmw", title: "OTel gRPC instrumentation, tailor's interceptors against otelgrpc, on tailor's gRPC server", load: "grpc",
			settings: []string{"grpc-raw", "grpc-mw-tailor-1", "grpc-otelgrpc-1", "grpc-mw-tailor-100", "grpc-otelgrpc-100"}},
		{name: "client", title: "HTTP client, round trip to the raw server", load: "client",
			settings: []string{"raw", "tailor", "tailor-policy"}},
		{name: "dash", title: "Operations dashboard, a tailor service with its admin listener, the dashboard closed and open, and without the listener", load: "wrk",
			settings: []string{"dash-closed", "dash-open", "admin-off"},
			setups: map[string]setup{
				"dash-closed": {mode: "tailor-admin"},
				"dash-open":   {mode: "tailor-admin", dashboard: true},
				"admin-off":   {mode: "tailor"},
			}},
	}
}

func tableNames() string {
	var names []string
	for _, t := range tables() {
		names = append(names, t.name)
	}
	return strings.Join(names, ",")
}

type config struct {
	bin         string
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	connections int
	tables      []string
	profileDir  string
	work        string
	tick        time.Duration
	dashboards  int           // open dashboards in the dash table's dash-open
	dashPoll    time.Duration // how often each polls the traces
	dashIdle    int           // dashboards open on an idle server after the dash table
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.bin, "bin", "", "the folder holding the built server, grpcload and httpclient")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "how long each setting is measured per round")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "how long each setting is loaded before it is measured")
	fs.IntVar(&cfg.rounds, "rounds", 2, "rounds; every other one runs the settings in reverse order")
	fs.IntVar(&cfg.connections, "c", 32, "concurrent connections (wrk) or callers")
	only := fs.String("tables", tableNames(), "the tables to run, comma-separated")
	fs.IntVar(&cfg.dashboards, "dashboards", 3, "open dashboards (readers of the event stream) in the dash table's dash-open setting")
	fs.DurationVar(&cfg.dashPoll, "dash-poll", 2*time.Second, "how often each open dashboard fetches GET /dash/api/traces")
	fs.IntVar(&cfg.dashIdle, "dash-idle", 200, "after the dash table, open this many dashboards on an idle server for -d to measure their CPU cost alone (0: do not)")
	fs.StringVar(&cfg.profileDir, "cpuprofile", "", "write each server's CPU profile (the client table: each client's) to this folder as TABLE-SETTING.pprof (the last round's)")
	quick := fs.Bool("quick", false, "a smoke test: 1 s per setting, 200 ms warm-up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quick {
		cfg.duration, cfg.warmup = time.Second, 200*time.Millisecond
	}
	if cfg.bin == "" {
		return errors.New("-bin is required: the folder bench/run.sh builds the programs into")
	}
	if cfg.dashboards < 1 {
		return fmt.Errorf("-dashboards %d: want 1 or more", cfg.dashboards)
	}
	if cfg.rounds < 1 {
		return fmt.Errorf("-rounds %d: want 1 or more", cfg.rounds)
	}
	if runtime.NumCPU() < 2 {
		return fmt.Errorf("this machine has %d core; the server and the load generator need one each", runtime.NumCPU())
	}
	cfg.tables = strings.Split(*only, ",")
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
	}
	var err error
	if cfg.tick, err = clockTick(); err != nil {
		return err
	}
	if cfg.work, err = os.MkdirTemp("", "tailor-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(cfg.work)
	if err := os.WriteFile(filepath.Join(cfg.work, "post.lua"), []byte(wrkScript()), 0o644); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "%s, %s, %s per setting and round after %s warm-up, %d rounds, %d connections; server on core 0 (GOMAXPROCS=1), load on core 1\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), cfg.duration, cfg.warmup, cfg.rounds, cfg.connections)
	known := tables()
	for _, name := range cfg.tables {
		i := slices.IndexFunc(known, func(t table) bool { return t.name == name })
		if i < 0 {
			return fmt.Errorf("no table %q; the tables are %s", name, tableNames())
		}
		t := known[i]
		before := loadAverage()
		samples, dashboards, err := measure(ctx, cfg, t, stderr)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		cpuOf := "server"
		if t.load == "client" {
			cpuOf = "client"
		}
		res, err := report.Summarize(t.title, t.settings[0], cpuOf, t.settings, samples)
		if err != nil {
			return err
		}
		if err := res.WriteMarkdown(stdout); err != nil {
			return err
		}
		for _, setting := range t.settings {
			if d, ok := dashboards[setting]; ok {
				fmt.Fprintf(stdout, "%s\n\n", dashboardNote(setting, d, time.Duration(cfg.rounds)*(cfg.warmup+cfg.duration)))
			}
		}
		if t.name == "dash" && cfg.dashIdle > 0 {
			cpu, d, err := measureIdleDashboards(ctx, cfg, cfg.dashIdle)
			if err != nil {
				return fmt.Errorf("table dash, %d dashboards on an idle server: %w", cfg.dashIdle, err)
			}
			fmt.Fprintf(stdout, "%s\n\n", idleNote(cfg, cpu, d, cfg.duration))
		}
		fmt.Fprintf(stdout, "load average before: %s; after: %s\n\n", before, loadAverage())
	}
	return nil
}

// measure runs every round of t and returns each setting's samples, and
// what the open dashboards read in each setting that has them.
func measure(ctx context.Context, cfg config, t table, log io.Writer) (map[string][]report.Sample, map[string]dashclient.Summary, error) {
	samples := map[string][]report.Sample{}
	dashboards := map[string]dashclient.Summary{}
	var target *server
	if t.load == "client" {
		// One raw server for every client.
		s, err := startServer(ctx, cfg, "raw", "")
		if err != nil {
			return nil, nil, err
		}
		defer s.stop()
		target = s
	}
	for round := range cfg.rounds {
		order := slices.Clone(t.settings)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, setting := range order {
			var s report.Sample
			var d *dashclient.Summary
			var err error
			profile := ""
			if cfg.profileDir != "" {
				profile = filepath.Join(cfg.profileDir, t.name+"-"+setting+".pprof")
			}
			if t.load == "client" {
				s, err = measureClient(ctx, cfg, setting, target, profile)
			} else {
				s, d, err = measureServer(ctx, cfg, t.load, t.setup(setting), profile)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s, round %d: %w", setting, round+1, err)
			}
			fmt.Fprintf(log, "%s round %d %-16s %8.0f req/s  p50 %-9v p99 %-9v CPU %v/req  errors %d\n",
				t.name, round+1, setting, s.PerSecond(), s.P50, s.P99, perCall(s), s.Errors)
			if s.FirstError != "" {
				fmt.Fprintf(log, "%s round %d %s: first failure: %s\n", t.name, round+1, setting, s.FirstError)
			}
			if d != nil {
				fmt.Fprintf(log, "%s round %d %s: %s\n", t.name, round+1, setting, d)
				all := dashboards[setting]
				all.Add(*d)
				dashboards[setting] = all
			}
			samples[setting] = append(samples[setting], s)
		}
	}
	return samples, dashboards, nil
}

// dashboardNote tells what the open dashboards of setting read over
// loaded, the time the server was loaded with them open.
func dashboardNote(setting string, d dashclient.Summary, loaded time.Duration) string {
	rate := 0.0
	if d.Clients > 0 && loaded > 0 {
		rate = float64(d.Snapshots()) / float64(d.Clients) / loaded.Seconds()
	}
	return fmt.Sprintf("%s: %s; %.2f snapshots per dashboard and second of load", setting, d, rate)
}

func perCall(s report.Sample) time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Requests)
}

// measureServer starts the server in st's mode, opens the dashboards st
// asks for, loads the server for the warm-up, then measures it, counting
// the server's CPU time in the measured window. It returns what the
// dashboards read, or nil without them.
func measureServer(ctx context.Context, cfg config, load string, st setup, profile string) (report.Sample, *dashclient.Summary, error) {
	srv, err := startServer(ctx, cfg, st.mode, profile)
	if err != nil {
		return report.Sample{}, nil, err
	}
	defer srv.stop()
	var dash *watcher
	if st.dashboard {
		if srv.admin == "" {
			return report.Sample{}, nil, fmt.Errorf("server -mode %s has no admin listener to open dashboards on", st.mode)
		}
		if dash, err = startWatcher(ctx, cfg, srv.admin, cfg.dashboards); err != nil {
			return report.Sample{}, nil, err
		}
		defer dash.stop() // before the server's
	}
	if cfg.warmup > 0 {
		if _, err := generate(ctx, cfg, load, srv.addr, cfg.warmup); err != nil {
			return report.Sample{}, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu0, err := srv.cpu(cfg.tick)
	if err != nil {
		return report.Sample{}, nil, err
	}
	s, err := generate(ctx, cfg, load, srv.addr, cfg.duration)
	if err != nil {
		return report.Sample{}, nil, err
	}
	cpu1, err := srv.cpu(cfg.tick)
	if err != nil {
		return report.Sample{}, nil, err
	}
	s.CPU = cpu1 - cpu0
	if dash == nil {
		return s, nil, nil
	}
	d, err := dash.stop()
	if err != nil {
		return report.Sample{}, nil, err
	}
	return s, &d, nil
}

// generate runs the load generator on core 1 against addr for d.
func generate(ctx context.Context, cfg config, load, addr string, d time.Duration) (report.Sample, error) {
	switch load {
	case "wrk":
		out, err := pinned(ctx, 1, "wrk", "-t1", "-c"+strconv.Itoa(cfg.connections), "-d"+seconds(d), "--latency",
			"-s", filepath.Join(cfg.work, "post.lua"), "http://"+addr+order.Path)
		if err != nil {
			return report.Sample{}, err
		}
		return report.ParseWrk(out)
	case "grpc":
		out, err := pinned(ctx, 1, filepath.Join(cfg.bin, "grpcload"), "-addr", addr,
			"-c", strconv.Itoa(cfg.connections), "-d", d.String())
		if err != nil {
			return report.Sample{}, err
		}
		var s report.Sample
		err = json.Unmarshal([]byte(out), &s)
		s.CPU = 0 // the generator's; the server's is counted instead
		return s, err
	}
	return report.Sample{}, fmt.Errorf("no load generator %q", load)
}

// measureClient runs the client in mode on core 1 against the raw server;
// the client reports its own CPU time, and writes its CPU profile to
// profile when that is not empty.
func measureClient(ctx context.Context, cfg config, mode string, target *server, profile string) (report.Sample, error) {
	out, err := pinned(ctx, 1, filepath.Join(cfg.bin, "httpclient"), "-mode", mode,
		"-url", "http://"+target.addr+order.Path, "-c", strconv.Itoa(cfg.connections),
		"-d", cfg.duration.String(), "-warmup", cfg.warmup.String(), "-cpuprofile", profile)
	if err != nil {
		return report.Sample{}, err
	}
	var s report.Sample
	return s, json.Unmarshal([]byte(out), &s)
}

// pinned runs name on core with GOMAXPROCS=1 and returns its output.
func pinned(ctx context.Context, core int, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(core), name}, args...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

// server is a running cmd/server.
type server struct {
	cmd   *exec.Cmd
	addr  string
	admin string // its admin listener's address, when it has one
	done  chan error
}

// startServer starts cmd/server in mode on core 0 with GOMAXPROCS=1 and
// waits for the address it prints.
func startServer(ctx context.Context, cfg config, mode, profile string) (*server, error) {
	args := []string{"-c", "0", filepath.Join(cfg.bin, "server"), "-mode", mode}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	cmd := exec.CommandContext(ctx, "taskset", args...) // taskset execs the server: same pid
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	logFile, err := os.Create(filepath.Join(cfg.work, "server-"+mode+".log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start the server: %w", err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
		s.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			err := <-s.done
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("server -mode %s exited before listening (%v): %s", mode, err, strings.TrimSpace(string(log)))
		}
		if s.addr, s.admin, err = parseAddrs(line); err != nil {
			s.stop()
			return nil, fmt.Errorf("server -mode %s: %w", mode, err)
		}
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("server -mode %s did not say where it listens within 30 s", mode)
	}
	return s, nil
}

// parseAddrs reads the line the server prints once it listens: its
// address, then its admin listener's when it has one.
func parseAddrs(line string) (addr, admin string, err error) {
	f := strings.Fields(line)
	switch len(f) {
	case 1:
		return f[0], "", nil
	case 2:
		return f[0], f[1], nil
	}
	return "", "", fmt.Errorf("printed %q, want its address and, when it has one, its admin listener's, space-separated", line)
}

// stop ends the server with SIGTERM, so it writes its profile, and waits
// for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// cpu is the server's user and system CPU time so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks).
func (s *server) cpu(tick time.Duration) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces; utime and stime are the 12th and 13th of them.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the name, want 13 or more", s.cmd.Process.Pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", s.cmd.Process.Pid, err)
	}
	return time.Duration(utime+stime) * tick, nil
}

// clockTick is the unit of /proc's CPU times (getconf CLK_TCK).
func clockTick() (time.Duration, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("getconf CLK_TCK: %w", err)
	}
	hz, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || hz <= 0 {
		return 0, fmt.Errorf("getconf CLK_TCK printed %q, want a positive number", out)
	}
	return time.Second / time.Duration(hz), nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// wrkScript makes wrk send the order as a JSON POST.
func wrkScript() string {
	return fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", order.Body)
}
