package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/internal/scaffold"
	"github.com/tailorkit/tailor/internal/testenv"
	tailorsvc "github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

func TestDashRefusesBadSettings(t *testing.T) {
	t.Setenv(envAdminToken, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"dash", "--addr", "0.0.0.0:8090"}, "can be reached from other machines and TAILOR_ADMIN_TOKEN is not set"},
		{[]string{"dash", "--addr", "8090"}, `--addr "8090" is not HOST:PORT`},
		{[]string{"dash", "--dns"}, "--dns needs --services"},
		{[]string{"dash", "--target", "gateway=nowhere"}, `"gateway=nowhere" is not [ID=]HOST:PORT`},
		{[]string{"dash", "extra"}, `unexpected "extra"`},
	}
	for _, tt := range tests {
		var out strings.Builder
		err := run(context.Background(), tt.args, &out, &out)
		var usage *scaffold.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want a usage error mentioning %s", tt.args, err, tt.want)
		}
	}
}

// TestDashOverConsul registers two services with their admin listeners in
// a real Consul agent and shows them, up, with tailor dash's defaults:
// every service in the catalog.
func TestDashOverConsul(t *testing.T) {
	testenv.Short(t, "Consul")
	addr := os.Getenv("TAILOR_TEST_CONSUL")
	if addr == "" {
		testenv.Missing(t, "TAILOR_TEST_CONSUL is not set: start an agent with `scripts/consul.sh start` and export TAILOR_TEST_CONSUL=<the address it prints>")
	}
	const token = "dash-consul-token"
	t.Setenv(envAdminToken, token)
	reg, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	suffix := fmt.Sprint(time.Now().UnixNano())
	names := []string{"dash-orders-" + suffix, "dash-payments-" + suffix}
	for _, name := range names {
		svc := servicetest.New(t, tailorsvc.Config{Name: name, AdminAddr: "127.0.0.1:0", AdminToken: token})
		svc.Add(discovery.NewRegistration(reg, func() discovery.Instance {
			return discovery.Instance{Service: name, Address: "127.0.0.1", Port: svc.HTTPAddr().Port}.WithAdmin(svc.AdminAddr())
		}))
		servicetest.Start(t, svc)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"dash", "--consul", addr, "--addr", "127.0.0.1:0", "--target", "gone=127.0.0.1:1"}, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("tailor dash said nothing: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/dash/);`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("tailor dash printed %q, want the dashboard's address", line)
	}
	for _, name := range names {
		if !strings.Contains(line, name) {
			t.Errorf("tailor dash printed %q, want %s among the services", line, name)
		}
	}

	// The watches show the instances once Consul first answers them.
	type target struct {
		ID, Service, Error string
		Up                 bool
	}
	targets := func() []target {
		req, _ := http.NewRequest("GET", m[1]+"api/targets", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Targets []target }
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET api/targets = %d (%v)", resp.StatusCode, err)
		}
		return got.Targets
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := targets()
		up := map[string]bool{}
		for _, tg := range got {
			up[tg.Service] = tg.Up
		}
		if up[names[0]] && up[names[1]] {
			if v, listed := up["gone"]; !listed || v {
				t.Errorf("targets %+v; want the static target gone listed down", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets %+v; want %s and %s up within 10s", got, names[0], names[1])
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("tailor dash stopped with %v, want nil", err)
	}
}
