package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tailorkit/tailor/bench/internal/dashclient"
)

// watcher is a running cmd/dashwatch: dashboards open on a server's admin
// listener, on the load generator's core.
type watcher struct {
	cmd    *exec.Cmd
	stderr strings.Builder
	done   chan struct{} // closed once it has exited; then last and err are set
	last   string        // its last line of output
	err    error

	once sync.Once
	sum  dashclient.Summary
	fail error
}

// startWatcher opens n dashboards on the admin listener at admin, on core
// 1 with GOMAXPROCS=1, and waits until each has read its first snapshot.
func startWatcher(ctx context.Context, cfg config, admin string, n int) (*watcher, error) {
	w := &watcher{done: make(chan struct{})}
	w.cmd = exec.CommandContext(ctx, "taskset", "-c", "1", filepath.Join(cfg.bin, "dashwatch"), // taskset execs it: same pid
		"-admin", admin, "-clients", strconv.Itoa(n), "-poll", cfg.dashPoll.String())
	w.cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	w.cmd.Stderr = &w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start dashwatch: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				continue
			}
			w.last = sc.Text()
		}
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	select {
	case <-ready:
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("dashwatch exited before its dashboards were open (%v): %s", w.err, strings.TrimSpace(w.stderr.String()))
	case <-time.After(30 * time.Second):
		_, _ = w.stop()
		return nil, fmt.Errorf("the dashboards did not read their first snapshot from %s within 30 s: %s", admin, strings.TrimSpace(w.stderr.String()))
	}
}

// stop closes the dashboards (SIGTERM) and returns what they read. It may
// be called again and then returns the same.
func (w *watcher) stop() (dashclient.Summary, error) {
	w.once.Do(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		if w.err != nil {
			w.fail = fmt.Errorf("dashwatch: %w: %s", w.err, strings.TrimSpace(w.stderr.String()))
			return
		}
		if err := json.Unmarshal([]byte(w.last), &w.sum); err != nil {
			w.fail = fmt.Errorf("dashwatch printed %q, want a JSON summary: %w", w.last, err)
		}
	})
	return w.sum, w.fail
}

// measureIdleDashboards loads a server with an admin listener for
// cfg.warmup, so that its endpoint stats hold a route's requests, then
// opens n dashboards on it, idle, for cfg.duration, and returns the
// server's CPU time from before they open to after they close, and what
// they read. Without requests to hide it, that CPU time is what the
// dashboards cost (and the little an idle service spends).
func measureIdleDashboards(ctx context.Context, cfg config, n int) (time.Duration, dashclient.Summary, error) {
	srv, err := startServer(ctx, cfg, "tailor-admin", "")
	if err != nil {
		return 0, dashclient.Summary{}, err
	}
	defer srv.stop()
	if _, err := generate(ctx, cfg, "wrk", srv.addr, max(cfg.warmup, time.Second)); err != nil {
		return 0, dashclient.Summary{}, fmt.Errorf("filling the endpoint stats: %w", err)
	}
	cpu0, err := srv.cpu(cfg.tick)
	if err != nil {
		return 0, dashclient.Summary{}, err
	}
	w, err := startWatcher(ctx, cfg, srv.admin, n)
	if err != nil {
		return 0, dashclient.Summary{}, err
	}
	select {
	case <-ctx.Done():
	case <-time.After(cfg.duration):
	}
	d, err := w.stop()
	if err != nil {
		return 0, d, err
	}
	cpu1, err := srv.cpu(cfg.tick)
	if err != nil {
		return 0, d, err
	}
	return cpu1 - cpu0, d, ctx.Err()
}

// idleNote tells what n idle dashboards cost the server over open: cpu in
// all, per dashboard and second, and for cfg.dashboards of them, as a
// share of the server's one core.
func idleNote(cfg config, cpu time.Duration, d dashclient.Summary, open time.Duration) string {
	perSecond := 0.0 // µs of CPU per dashboard and second
	perSnapshot := 0.0
	if d.Clients > 0 && open > 0 {
		perSecond = float64(cpu) / float64(time.Microsecond) / float64(d.Clients) / open.Seconds()
	}
	if n := d.Snapshots(); n > 0 {
		perSnapshot = float64(cpu) / float64(time.Microsecond) / float64(n)
	}
	return fmt.Sprintf("idle server, %s: %v of server CPU over %s: %.1f µs per snapshot, all requests included; "+
		"%.1f µs per dashboard and second, so %d open dashboards take %.3f%% of the server's core",
		d, cpu, open.Round(time.Second), perSnapshot, perSecond, cfg.dashboards, perSecond*float64(cfg.dashboards)/1e4)
}
