// Package consultest finds and runs the Consul agents the discovery tests
// use. The shared agent's address comes from TAILOR_TEST_CONSUL and the
// binary from TAILOR_TEST_CONSUL_BIN; bash .ci/run sets both through
// scripts/consul.sh. Without them the tests follow internal/testenv's
// rule: they fail in CI, saying how to start an agent, and skip
// elsewhere; -short skips them outside CI.
//
// Start with [Addr], the shared agent for tests that only register and
// watch; a test that stops or restarts Consul takes an agent of its own
// with [StartAgent].
package consultest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailorkit/tailor/internal/testenv"
)

const howTo = "start an agent with `scripts/consul.sh start` and export TAILOR_TEST_CONSUL=<the address it prints> " +
	"and TAILOR_TEST_CONSUL_BIN=$(scripts/consul.sh build); bash .ci/run does both"

// Addr returns the shared agent's HTTP address.
func Addr(t testing.TB) string {
	t.Helper()
	return need(t, "TAILOR_TEST_CONSUL")
}

// Bin returns the path of the consul binary.
func Bin(t testing.TB) string {
	t.Helper()
	return need(t, "TAILOR_TEST_CONSUL_BIN")
}

func need(t testing.TB, name string) string {
	t.Helper()
	testenv.Short(t, "Consul")
	v := os.Getenv(name)
	if v == "" {
		testenv.Missing(t, name+" is not set: "+howTo)
	}
	return v
}

// Agent is a consul dev agent of a test's own, for tests that stop and
// restart it. Its ports stay the same across restarts.
type Agent struct {
	t     testing.TB
	bin   string
	ports [6]int
	cmd   *exec.Cmd
	log   string
}

// StartAgent starts a dev agent on free loopback ports; it is stopped when
// the test ends.
func StartAgent(t testing.TB) *Agent {
	t.Helper()
	a := &Agent{t: t, bin: Bin(t), log: filepath.Join(t.TempDir(), "consul.log")}
	for k := range a.ports {
		a.ports[k] = freePort(t)
	}
	a.Start()
	t.Cleanup(a.Stop)
	return a
}

// Addr is the agent's HTTP address.
func (a *Agent) Addr() string { return fmt.Sprintf("127.0.0.1:%d", a.ports[0]) }

// Start starts the agent and waits until it has a leader.
func (a *Agent) Start() {
	a.t.Helper()
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	defer logf.Close()
	p := a.ports
	a.cmd = exec.Command(a.bin, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-log-level", "warn",
		"-hcl", fmt.Sprintf("ports { http = %d, server = %d, serf_lan = %d, serf_wan = %d, grpc = %d, grpc_tls = %d, dns = -1 }", p[0], p[1], p[2], p[3], p[4], p[5]))
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		a.t.Fatalf("starting %s: %v; %s", a.bin, err, howTo)
	}
	// A dev agent elects itself in well under a second; the bound is for a
	// machine busy with other builds, where it has taken over 15 s.
	const bound = 60 * time.Second
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if Leader(a.Addr()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ := os.ReadFile(a.log)
	a.t.Fatalf("the consul agent on %s did not elect a leader within %v; its log:\n%s", a.Addr(), bound, out)
}

// Stop stops the agent as SIGTERM does (it exits 1, which is normal) and
// waits for it to exit.
func (a *Agent) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
	a.cmd = nil
}

// Leader reports whether the agent at addr answers and has a leader.
func Leader(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status/leader", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	// The leader's address, "127.0.0.1:8300"; "" while there is none.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 128))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), ":")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
