//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/messaging/embedded"
)

const testAdminPassword = "cluster test admin password"

// TestClusterOrderAndTrace runs the shop as the runner does, a process
// per service (two of orders, inventory and catalog), on the Consul agent
// TAILOR_TEST_CONSUL names, databases of their own on the test
// PostgreSQL server and a NATS JetStream server of the test's own (a
// real nats-server, on loopback, so that the streams and consumers no
// other run shares), exporting every span to an OTLP/HTTP receiver in
// the test. Through the gateway: a customer signs up, the administrator
// creates a product with stock, the customer's order is confirmed and
// reads back as such. Then one trace holds spans of the gateway, orders,
// inventory and payments, each service's spans reached from the
// gateway's through their parents: gateway → orders → inventory and
// gateway → orders → payments. One more orders instance, started with the
// command line the runner prints, registers and leaves on SIGTERM. At the
// end SIGTERM stops the runner, which exits 0 with nothing of the shop
// left registered.
func TestClusterOrderAndTrace(t *testing.T) {
	testenv.Short(t, "the multi-process shop's")
	consulAddr := os.Getenv("TAILOR_TEST_CONSUL")
	if consulAddr == "" {
		testenv.Missing(t, "TAILOR_TEST_CONSUL is not set: start an agent with `scripts/consul.sh start` and export TAILOR_TEST_CONSUL=<the address it prints>; bash .ci/run does both")
	}
	pgURL, prefix := testDatabases(t)
	nats := testNATS(t)
	traces := newTraceReceiver(t)

	dir := t.TempDir()
	bin := filepath.Join(dir, "cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-data", filepath.Join(dir, "data"), "-addr", "127.0.0.1:0",
		"-postgres", pgURL, "-db-prefix", prefix, "-nats", nats, "-consul", consulAddr,
		"-ip-rate", "-1", "-user-rate", "-1")
	cmd.Env = append(os.Environ(),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+traces.url,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_TRACES_SAMPLER=always_on",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_BSP_SCHEDULE_DELAY=100",
		users.EnvAdminPassword+"="+testAdminPassword,
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out strings.Builder
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		}
		if t.Failed() {
			t.Logf("the runner's output:\n%s\n%s", out.String(), stderr.String())
			logs, _ := filepath.Glob(filepath.Join(dir, "data", "logs", "*.log"))
			for _, l := range logs {
				t.Logf("%s:\n%s", filepath.Base(l), tail(l))
			}
		}
	})

	// The banner: the gateway's URL and the command line of one more
	// orders instance.
	var base, more string
	serving := regexp.MustCompile(`^cluster: serving at (http://\S+);`)
	deadline := time.After(5 * time.Minute) // building the programs, then starting 11 processes
	for more == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the runner ended before it served: %v", <-exited)
			}
			out.WriteString(line + "\n")
			if m := serving.FindStringSubmatch(line); m != nil {
				base = m[1]
			}
			if strings.HasPrefix(line, "  CONSUL_HTTP_ADDR=") {
				more = strings.TrimSpace(line)
			}
		case <-deadline:
			t.Fatal("the runner did not say where it serves within 5 minutes")
		}
	}
	go func() {
		for line := range lines {
			_ = line // the rest of the output is not looked at
		}
	}()
	start := time.Now()

	// One order, end to end.
	c := &shopClient{t: t, base: base}
	customer := c.login("ada@example.com", "correct horse battery", true)
	admin := c.login(users.AdminEmail, testAdminPassword, false)
	var mug struct{ ID string }
	c.expect("POST", "/v1/products", admin, `{"name":"Mug","price":{"amount":1299,"currency":"EUR"},"stock":5}`, "", http.StatusCreated, &mug)
	eventually(t, "the inventory learning the mug's stock", func() bool {
		var page struct{ Stock *struct{ Available int64 } }
		c.expect("GET", "/v1/products/"+mug.ID, "", "", "", http.StatusOK, &page)
		return page.Stock != nil && page.Stock.Available == 5
	})
	var placed struct {
		ID, Status string
		Total      int64
	}
	c.expect("POST", "/v1/orders", customer, `{"items":[{"product_id":"`+mug.ID+`","quantity":2}]}`, "cluster-1", http.StatusCreated, &placed)
	if placed.Status != "confirmed" || placed.Total != 2*1299 {
		t.Fatalf("the order: %+v, want confirmed for 2598", placed)
	}
	var read struct{ ID, Status string }
	c.expect("GET", "/v1/orders/"+placed.ID, customer, "", "", http.StatusOK, &read)
	if read.ID != placed.ID || read.Status != "confirmed" {
		t.Fatalf("GET /v1/orders/%s: %+v, want it confirmed", placed.ID, read)
	}
	t.Logf("an order confirmed through the gateway %v after the runner was ready", time.Since(start).Round(time.Millisecond))

	// One trace from the gateway through orders to inventory and payments.
	var chain string
	t.Cleanup(func() {
		if chain == "" {
			t.Logf("the traces received:\n%s", traces.describe())
		}
	})
	eventually(t, "one trace spanning gateway → orders → inventory and payments", func() bool {
		chain = traces.chain("gateway", "orders", "inventory", "payments")
		return chain != ""
	})
	t.Log(chain)

	// One more orders instance, as the runner says: it registers, and
	// leaves the registry on SIGTERM.
	w := watchConsul(t, consulAddr, "orders")
	count := func() int { return len(w.State().Instances) }
	eventually(t, "the two orders instances in the watch", func() bool { return count() == 2 })
	extra := startMore(t, more, filepath.Join(dir, "orders-3.log"))
	eventually(t, "a third orders instance registering", func() bool { return count() == 3 })
	if err := extra.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := extra.Wait(); err != nil {
		t.Fatalf("the third orders instance after SIGTERM: %v, want exit status 0", err)
	}
	if n := count(); n != 2 {
		t.Errorf("after the third orders instance stopped: %d in the watch, want 2 (it deregisters before it exits)", n)
	}

	// Ctrl-C's signal stops everything, and nothing stays registered.
	stopped = true
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the runner after SIGTERM: %v, want exit status 0\n%s", err, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the runner did not stop within 2 minutes of SIGTERM")
	}
	eventually(t, "every orders instance leaving the registry", func() bool { return w.State().Registered == 0 })
}

// testDatabases returns the URL of the test PostgreSQL server and a
// prefix for the cluster's databases that no other run uses; they are
// dropped when the test ends. It holds [testenv.Crowd] until
// then. A server that cannot be reached is [testenv.Missing].
func testDatabases(t *testing.T) (pgURL, prefix string) {
	t.Helper()
	testenv.Crowd(t)
	cfg, err := pgx.ParseConfig(testenv.PostgresURL())
	if err != nil {
		t.Fatalf("TAILOR_TEST_POSTGRES is not a valid PostgreSQL connection string: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		testenv.Missing(t, fmt.Sprintf("PostgreSQL at %s:%d is unreachable: %v; start it with scripts/services.sh or point TAILOR_TEST_POSTGRES at a running server", cfg.Host, cfg.Port, err))
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	prefix = "cluster_test_" + hex.EncodeToString(suffix[:]) + "_"
	t.Cleanup(func() { dropDatabases(t, admin, prefix) })
	return testenv.PostgresURL(), prefix
}

func dropDatabases(t *testing.T, admin *sql.DB, prefix string) {
	rows, err := admin.Query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		t.Errorf("listing the test's databases: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err == nil {
			names = append(names, name)
		}
	}
	rows.Close()
	for _, name := range names {
		if _, err := admin.Exec("DROP DATABASE " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	}
}

// testNATS starts a NATS server with JetStream on loopback for the
// test, and returns its URL.
func testNATS(t *testing.T) string {
	t.Helper()
	srv, err := embedded.New(embedded.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv.ClientURL()
}

// startMore starts the command line the runner printed for one more
// instance, its logs going to log, and waits for nothing.
func startMore(t *testing.T, line, log string) *exec.Cmd {
	t.Helper()
	fields := strings.Fields(line)
	var env, args []string
	for _, f := range fields {
		if len(args) == 0 && strings.Contains(f, "=") && !strings.HasPrefix(f, "/") {
			env = append(env, strings.ReplaceAll(f, "'", ""))
			continue
		}
		args = append(args, f)
	}
	logf, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(log), tail(log))
		}
	})
	return cmd
}

// shopClient calls the shop through its gateway.
type shopClient struct {
	t    *testing.T
	base string
}

// expect sends a request and fails the test unless the answer has
// status want; it decodes a JSON body into out when out is not nil.
func (c *shopClient) expect(method, path, token, body, idempotencyKey string, want int, out any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// login returns a token for the account, signing it up first when
// signUp is set.
func (c *shopClient) login(email, password string, signUp bool) string {
	c.t.Helper()
	if signUp {
		c.expect("POST", "/v1/users", "", `{"email":"`+email+`","password":"`+password+`","name":"Test"}`, "", http.StatusCreated, nil)
	}
	var session struct{ Token string }
	c.expect("POST", "/v1/sessions", "", `{"email":"`+email+`","password":"`+password+`"}`, "", http.StatusOK, &session)
	return session.Token
}

// eventually calls check until it reports done; it fails the test after
// a minute. It waits on real processes and a real registry.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// traceReceiver is an OTLP/HTTP receiver of traces: it keeps every span
// it is sent, with the service.name of its resource.
type traceReceiver struct {
	url string

	mu    sync.Mutex
	spans map[string][]span // by trace ID
}

type span struct {
	id, parent, service, name string
}

func newTraceReceiver(t *testing.T) *traceReceiver {
	r := &traceReceiver{spans: map[string][]span{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *traceReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &export); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range export.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				trace := hex.EncodeToString(s.GetTraceId())
				r.spans[trace] = append(r.spans[trace], span{
					id: hex.EncodeToString(s.GetSpanId()), parent: hex.EncodeToString(s.GetParentSpanId()),
					service: service, name: s.GetName(),
				})
			}
		}
	}
	r.mu.Unlock()
	answer, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(answer)
}

// chain looks for a trace whose root span is root's and in which a span
// of each of leaves descends, through spans of the trace, from a span of
// middle that descends from that root: root → middle → leaf, for every
// leaf. It returns the trace and the chains found, or "".
func (r *traceReceiver) chain(root, middle string, leaves ...string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for trace, spans := range r.spans {
		byID := make(map[string]span, len(spans))
		for _, s := range spans {
			byID[s.id] = s
		}
		// path returns the services met from s up to the trace's root,
		// and whether every parent was found (an empty parent ends it).
		path := func(s span) ([]string, bool) {
			var services []string
			for {
				if len(services) == 0 || services[len(services)-1] != s.service {
					services = append(services, s.service)
				}
				if s.parent == "" || s.parent == "0000000000000000" {
					return services, true
				}
				p, ok := byID[s.parent]
				if !ok {
					return services, false
				}
				s = p
			}
		}
		var found []string
		for _, leaf := range leaves {
			for _, s := range spans {
				if s.service != leaf {
					continue
				}
				services, whole := path(s)
				want := []string{leaf, middle, root}
				if whole && len(services) == 3 && services[0] == want[0] && services[1] == want[1] && services[2] == want[2] {
					found = append(found, fmt.Sprintf("%s → %s → %s (span %q)", root, middle, leaf, s.name))
					break
				}
			}
		}
		if len(found) == len(leaves) {
			return fmt.Sprintf("trace %s (%d spans): %s", trace, len(spans), strings.Join(found, "; "))
		}
	}
	return ""
}

// describe lists the traces received, each span with its service, name
// and parent, for a failing test's log.
func (r *traceReceiver) describe() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for trace, spans := range r.spans {
		fmt.Fprintf(&b, "trace %s:\n", trace)
		for _, s := range spans {
			fmt.Fprintf(&b, "  %s %s/%q parent %s\n", s.id, s.service, s.name, s.parent)
		}
	}
	return b.String()
}

// watchConsul watches the instances of service in the Consul agent at
// addr until the test ends.
func watchConsul(t *testing.T, addr, service string) discovery.Instancer {
	t.Helper()
	reg, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	w, err := reg.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}
