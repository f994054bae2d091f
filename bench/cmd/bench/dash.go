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

// startWatcher opens cfg.dashboards dashboards on the admin listener at
// admin, on core 1 with GOMAXPROCS=1, and waits until each has read its
// first snapshot.
func startWatcher(ctx context.Context, cfg config, admin string) (*watcher, error) {
	w := &watcher{done: make(chan struct{})}
	w.cmd = exec.CommandContext(ctx, "taskset", "-c", "1", filepath.Join(cfg.bin, "dashwatch"), // taskset execs it: same pid
		"-admin", admin, "-clients", strconv.Itoa(cfg.dashboards), "-poll", cfg.dashPoll.String())
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
