package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailorkit/tailor/internal/testenv"
)

// TestShopBinary builds the shop, runs it as a user would, sends it a bad
// request and a good one through the gateway, and stops it with SIGTERM:
// it must answer 400 problem+json, then 200, and exit 0 within the drain
// deadline.
func TestShopBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	testenv.Crowd(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-dash-addr", "127.0.0.1:0", "-data", t.TempDir(), "-shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(), "SHOP_ADMIN_PASSWORD="+testAdminPassword, "NATS_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr, dash string
	var grpcLine bool
	timeout := time.After(60 * time.Second)
	for addr == "" || dash == "" || !grpcLine {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the shop ended its output before saying where it serves")
			}
			if m := regexp.MustCompile(`serving at http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(line); m != nil {
				addr = m[1]
			}
			if m := regexp.MustCompile(`^dashboard: (http://127\.0\.0\.1:\d+/dash/)$`).FindStringSubmatch(line); m != nil {
				dash = m[1]
			}
			grpcLine = grpcLine || strings.Contains(line, "gRPC at 127.0.0.1:")
		case <-timeout:
			t.Fatal("the shop did not say where it serves, over HTTP and gRPC, and its dashboard, within 60s")
		}
	}

	// curl -X POST -d '{bad' http://ADDR/v1/products
	resp, err := http.Post("http://"+addr+"/v1/products", "application/x-www-form-urlencoded", strings.NewReader("{bad"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST {bad = %d %q %s; want 400 application/problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = http.Post("http://"+addr+"/v1/sessions", "application/json", strings.NewReader(`{"email":"admin@shop.local","password":"`+testAdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var session struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&session)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || session.Token == "" {
		t.Fatalf("admin login = %d (%v), want 200 with a token", resp.StatusCode, err)
	}

	// The dashboard lists the gateway and every registered service, up.
	resp, err = http.Get(dash + "api/targets")
	if err != nil {
		t.Fatal(err)
	}
	var targets struct {
		Targets []struct {
			Service string
			Up      bool
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	up := map[string]bool{}
	for _, tg := range targets.Targets {
		up[tg.Service] = tg.Up
	}
	for _, name := range serviceNames {
		if !up[name] {
			t.Errorf("GET %sapi/targets = %d (%v) %+v; want %s listed up", dash, resp.StatusCode, err, targets, name)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("shop exited with %v after SIGTERM, want 0", err)
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("shop did not exit within 20s of SIGTERM (drain deadline 5s for the gateway, then 5s for the rest)")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Setenv(envDatabaseURL, "")
	t.Setenv("NATS_URL", "")
	t.Setenv("TAILOR_ADMIN_TOKEN", "")
	var out, errOut strings.Builder
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-http-addr", "nonsense"}, `"nonsense" (-http-addr / TAILOR_HTTP_ADDR)`},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-no-such-flag"}, "no-such-flag"},
		{[]string{"-database-url", "mysql://shop"}, "-database-url (or DATABASE_URL) is not a PostgreSQL URL"},
		{[]string{"-database-url", "postgres://postgres@127.0.0.1:5432/postgres", "-database-prefix", "Shop-1"}, `-database-prefix "Shop-1" is not a plain PostgreSQL name`},
		{[]string{"-addr", "127.0.0.1:0", "-lease", "10s"}, "orders: -lease 10s: orders: Config.Lease of 10s is too short"},
		{[]string{"-dash-addr", "0.0.0.0:8081"}, `-dash-addr "0.0.0.0:8081" can be reached from other machines and no admin token is set`},
		{[]string{"-dash-addr", "8081"}, `-dash-addr "8081" is not host:port`},
	}
	for _, tt := range tests {
		err := run(context.Background(), append(tt.args, "-data", t.TempDir()), &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %s", tt.args, err, tt.want)
		}
	}
}
