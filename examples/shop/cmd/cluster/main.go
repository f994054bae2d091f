//go:build unix

// Command cluster runs the shop on this machine the way it runs in
// production: every service a process of its own (the programs under
// examples/shop/cmd), registered in Consul, each with its own PostgreSQL
// database, their events through NATS JetStream.
//
//	go run ./examples/shop/cmd/cluster [-addr 127.0.0.1:8080] [-data DIR] \
//	    [-postgres postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable] [-db-prefix shop_] \
//	    [-nats nats://127.0.0.1:4222] [-consul ADDR] [-ip-rate 20] [-user-rate 10]
//
// It starts a Consul dev agent on loopback with the project's
// scripts/consul.sh (which builds Consul once and caches it; -consul uses
// an agent already running instead), builds the services' programs once
// into -data, makes a signing key for the users service there, and starts
// two instances of orders, inventory and catalog and one of users,
// payments, reviews and stats, each on a free loopback port (the
// catalog's gRPC API on another, registered too), then the gateway at
// -addr. Each service creates its database (-db-prefix and its
// name: shop_orders, ...) on the PostgreSQL server -postgres names when it
// is missing, and migrates it; every instance of a service shares it.
// Events go through the NATS server -nats names (default $NATS_URL, else
// nats://127.0.0.1:4222). Each instance's log is a file under -data/logs.
//
// Once every instance has registered and the gateway is ready it prints
// the gateway's URL and the command line that starts one more instance
// of a service: scaling a service is one more process of it, which
// registers once ready and gets traffic, and leaves the registry before
// it stops when sent SIGTERM (or Ctrl-C).
//
// Ctrl-C or SIGTERM stops the shop in order: SIGTERM to the gateway,
// then, once it has drained, to every other instance at once, then the
// Consul agent. An instance that stops on its own stops the shop, with
// the end of its log. The environment is passed on to every instance, so
// OTEL_EXPORTER_OTLP_ENDPOINT, TAILOR_LOG_LEVEL, SHOP_ADMIN_PASSWORD,
// SHOP_PAYMENTS_* and the like apply as for the programs themselves.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/observability"
)

// The services in the order they start, with the number of instances of
// each. The gateway starts last, once everything it routes to is
// registered, and stops first.
var layout = []struct {
	service   string
	instances int
}{
	{"users", 1}, {"catalog", 2}, {"inventory", 2}, {"payments", 1},
	{"orders", 2}, {"reviews", 1}, {"stats", 1}, {"gateway", 1},
}

// readyWithin bounds the wait for each service's instances to register,
// and for the gateway to answer; a busy machine has taken seconds.
const readyWithin = 60 * time.Second

// stopWithin bounds the wait for one instance to drain after SIGTERM
// before it is killed.
const stopWithin = 30 * time.Second

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// config is what the cluster is run with.
type config struct {
	addr      string
	data      string
	postgres  string
	dbPrefix  string
	nats      string
	consul    string
	ipRate    float64
	userRate  float64
	stdout    io.Writer
	stderr    io.Writer
	moduleDir string
}

// run starts the cluster and blocks until ctx ends or a signal arrives.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{stdout: stdout, stderr: stderr}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "the gateway's address, the shop's one public entry")
	fs.StringVar(&cfg.data, "data", defaultDataDir(), "folder for the programs, the signing key, the logs and the Consul agent's files")
	fs.StringVar(&cfg.postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "the PostgreSQL server the services' databases are made on (its database part is replaced by each service's)")
	fs.StringVar(&cfg.dbPrefix, "db-prefix", "shop_", "prefix of the services' database names")
	fs.StringVar(&cfg.nats, "nats", cmp.Or(os.Getenv(messaging.EnvURL), "nats://127.0.0.1:4222"), "the NATS server (JetStream) the events go through (default $"+messaging.EnvURL+", else nats://127.0.0.1:4222)")
	fs.StringVar(&cfg.consul, "consul", "", "the HTTP address of a Consul agent already running, such as 127.0.0.1:8500 (default: start a dev agent with scripts/consul.sh)")
	fs.Float64Var(&cfg.ipRate, "ip-rate", gateway.DefaultIPRate, "the gateway's limit of requests a second from one IP address; -1 turns it off")
	fs.Float64Var(&cfg.userRate, "user-rate", gateway.DefaultUserRate, "the gateway's limit of requests a second from one user; -1 turns it off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -help", fs.Args())
	}
	if _, err := url.Parse(cfg.postgres); err != nil || !strings.HasPrefix(cfg.postgres, "postgres") {
		return fmt.Errorf("-postgres %q is not a PostgreSQL URL; use a form like postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", cfg.postgres)
	}
	var err error
	if cfg.data, err = filepath.Abs(cfg.data); err != nil {
		return err
	}
	if cfg.moduleDir, err = moduleDir(ctx); err != nil {
		return err
	}
	if cfg.addr, err = pickPort(cfg.addr); err != nil {
		return err
	}

	// The first SIGINT or SIGTERM stops the cluster in order; once it has
	// arrived the signals kill the runner as usual.
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	c := &cluster{cfg: cfg, exited: make(chan *instance, 16)}
	err = c.start(ctx)
	if err == nil {
		c.printBanner()
		select {
		case <-ctx.Done():
		case in := <-c.exited:
			err = fmt.Errorf("%s stopped on its own (%v); the end of its log %s:\n%s", in, in.err, in.log, tail(in.log))
		}
	}
	stopSignals()
	fmt.Fprintln(stderr, "cluster: stopping the gateway, then the services, then the Consul agent it started")
	return errors.Join(err, c.stop())
}

// cluster is the shop's processes and the Consul agent they use.
type cluster struct {
	cfg        config
	bin        string // folder of the programs
	env        []string
	consulAddr string
	consulDir  string // the agent's folder, when the cluster started it
	gatewayURL string

	mu        sync.Mutex
	instances []*instance
	exited    chan *instance // an instance that ended on its own
	stopping  bool
}

// instance is one process of a service.
type instance struct {
	service string
	n       int
	log     string
	cmd     *exec.Cmd
	done    chan struct{} // closed once it has exited
	err     error         // how it exited, once done is closed
}

func (in *instance) String() string {
	return fmt.Sprintf("%s #%d (pid %d)", in.service, in.n, in.cmd.Process.Pid)
}

// start brings the whole shop up, returning once the gateway is ready.
func (c *cluster) start(ctx context.Context) error {
	for _, dir := range []string{"bin", "logs"} {
		if err := os.MkdirAll(filepath.Join(c.cfg.data, dir), 0o755); err != nil {
			return err
		}
	}
	if err := c.startConsul(ctx); err != nil {
		return err
	}
	if err := c.build(ctx); err != nil {
		return err
	}
	keyFile, err := signingKey(filepath.Join(c.cfg.data, "users-signing-key.pem"))
	if err != nil {
		return err
	}
	c.env = append(os.Environ(),
		"CONSUL_HTTP_ADDR="+c.consulAddr,
		messaging.EnvURL+"="+c.cfg.nats,
		users.EnvSigningKeyFile+"="+keyFile,
	)
	if _, set := os.LookupEnv(observability.EnvLogFormat); !set {
		c.env = append(c.env, observability.EnvLogFormat+"=text")
	}
	reg, err := consul.New(consul.Config{Address: c.consulAddr})
	if err != nil {
		return err
	}
	defer reg.Close()
	for _, l := range layout {
		for n := 1; n <= l.instances; n++ {
			if err := c.startInstance(l.service, n); err != nil {
				return err
			}
		}
		if l.service == "gateway" {
			if err := c.waitGateway(ctx); err != nil {
				return err
			}
			continue
		}
		if err := c.waitRegistered(ctx, reg, l.service, l.instances); err != nil {
			return err
		}
	}
	return nil
}

// startConsul starts a dev agent with scripts/consul.sh, unless -consul
// names one.
func (c *cluster) startConsul(ctx context.Context) error {
	if c.cfg.consul != "" {
		c.consulAddr = c.cfg.consul
		return nil
	}
	c.consulDir = filepath.Join(c.cfg.data, "consul")
	fmt.Fprintln(c.cfg.stderr, "cluster: starting a Consul dev agent with scripts/consul.sh (the first time, it builds Consul: about 5 minutes)")
	out, err := c.script(ctx, "start", c.consulDir)
	if err != nil {
		c.consulDir = ""
		return err
	}
	c.consulAddr = lastLine(out)
	return nil
}

// script runs scripts/consul.sh with args, its messages going to stderr,
// and returns what it printed on stdout.
func (c *cluster) script(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(c.cfg.moduleDir, "scripts", "consul.sh")}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, c.cfg.stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/consul.sh %s: %w; see its messages above", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// build builds every service's program, once, into -data/bin.
func (c *cluster) build(ctx context.Context) error {
	c.bin = filepath.Join(c.cfg.data, "bin")
	args := []string{"build", "-o", c.bin + string(filepath.Separator)}
	for _, l := range layout {
		args = append(args, "./examples/shop/cmd/"+l.service)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = c.cfg.moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// args are the command-line arguments of instance n of service.
func (c *cluster) args(service string) []string {
	switch service {
	case "gateway":
		return []string{"-http-addr", c.cfg.addr,
			"-ip-rate", strconv.FormatFloat(c.cfg.ipRate, 'g', -1, 64),
			"-user-rate", strconv.FormatFloat(c.cfg.userRate, 'g', -1, 64)}
	case "catalog": // its gRPC API too, registered beside its HTTP one
		return []string{"-http-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0"}
	default:
		return []string{"-http-addr", "127.0.0.1:0"}
	}
}

// databaseURL is the URL of service's own database.
func (c *cluster) databaseURL(service string) string {
	u, _ := url.Parse(c.cfg.postgres) // checked in run
	u.Path = "/" + c.cfg.dbPrefix + service
	return u.String()
}

// startInstance starts instance n of service.
func (c *cluster) startInstance(service string, n int) error {
	log := filepath.Join(c.cfg.data, "logs", fmt.Sprintf("%s-%d.log", service, n))
	logf, err := os.Create(log)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(c.bin, service), c.args(service)...)
	cmd.Env = c.env
	if service != "gateway" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+c.databaseURL(service))
	}
	// stdout shows what a person must see (a generated administrator's
	// password); the logs go to the file.
	cmd.Stdout, cmd.Stderr = c.cfg.stdout, logf
	// A process group of its own: a Ctrl-C in the terminal reaches the
	// runner only, which stops the instances in order.
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", service, err)
	}
	in := &instance{service: service, n: n, log: log, cmd: cmd, done: make(chan struct{})}
	c.mu.Lock()
	c.instances = append(c.instances, in)
	c.mu.Unlock()
	go func() {
		in.err = cmd.Wait()
		close(in.done)
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if !stopping {
			select {
			case c.exited <- in:
			default:
			}
		}
	}()
	return nil
}

// waitRegistered waits until want instances of service pass their
// health checks in Consul.
func (c *cluster) waitRegistered(ctx context.Context, reg *consul.Registry, service string, want int) error {
	w, err := reg.Resolve(service)
	if err != nil {
		return err
	}
	defer w.Stop()
	return c.wait(ctx, fmt.Sprintf("%d instances of %s registered in Consul at %s", want, service, c.consulAddr), func() bool {
		n := 0
		for _, inst := range w.State().Instances {
			if inst.Protocol != discovery.ProtocolGRPC {
				n++
			}
		}
		return n >= want
	})
}

// waitGateway waits until the gateway answers /readyz with 200.
func (c *cluster) waitGateway(ctx context.Context) error {
	c.gatewayURL = "http://" + c.cfg.addr
	hc := &http.Client{Timeout: time.Second}
	return c.wait(ctx, "the gateway ready at "+c.gatewayURL, func() bool {
		resp, err := hc.Get(c.gatewayURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// wait polls done until it holds, an instance exits, ctx ends or
// readyWithin passes.
func (c *cluster) wait(ctx context.Context, what string, done func() bool) error {
	deadline := time.NewTimer(readyWithin)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-tick.C:
		case in := <-c.exited:
			return fmt.Errorf("waiting for %s: %s exited (%v); the end of its log %s:\n%s", what, in, in.err, in.log, tail(in.log))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%s not within %v; see the logs in %s", what, readyWithin, filepath.Join(c.cfg.data, "logs"))
		}
	}
	return nil
}

// printBanner says where the shop serves and how to scale it.
func (c *cluster) printBanner() {
	w := c.cfg.stdout
	fmt.Fprintf(w, "cluster: serving at %s; Ctrl-C stops it\n", c.gatewayURL)
	fmt.Fprintf(w, "cluster: %d processes registered in Consul at %s (UI: http://%s/ui), databases %s<service> on %s, events through NATS at %s\n",
		len(c.instances)-1, c.consulAddr, c.consulAddr, c.cfg.dbPrefix, redactedHost(c.cfg.postgres), messaging.RedactURL(c.cfg.nats))
	fmt.Fprintf(w, "cluster: logs in %s\n", filepath.Join(c.cfg.data, "logs"))
	fmt.Fprintf(w, "cluster: one more orders instance (any service the same way, with its own DATABASE_URL); SIGTERM or Ctrl-C takes it out again:\n")
	fmt.Fprintf(w, "  CONSUL_HTTP_ADDR=%s NATS_URL=%s DATABASE_URL='%s' %s -http-addr 127.0.0.1:0\n",
		c.consulAddr, c.cfg.nats, c.databaseURL("orders"), filepath.Join(c.bin, "orders"))
}

// stop sends SIGTERM to the gateway and waits for it, then to every other
// instance at once and waits for them, then stops the Consul agent if
// the cluster started it.
func (c *cluster) stop() error {
	c.mu.Lock()
	c.stopping = true
	all := c.instances
	c.mu.Unlock()
	var gw, rest []*instance
	for _, in := range all {
		if in.service == "gateway" {
			gw = append(gw, in)
		} else {
			rest = append(rest, in)
		}
	}
	errs := []error{terminate(gw), terminate(rest)}
	if c.consulDir != "" {
		_, err := c.script(context.Background(), "stop", c.consulDir)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// terminate sends SIGTERM to every instance of ins at once and waits for
// them to exit, killing those that take longer than stopWithin. An
// instance that exits with an error is reported, with the end of its log.
func terminate(ins []*instance) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ins))
	for k, in := range ins {
		wg.Go(func() {
			select {
			case <-in.done:
				return // it had already stopped; that was reported
			default:
			}
			_ = in.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(stopWithin):
				_ = in.cmd.Process.Kill()
				<-in.done
				errs[k] = fmt.Errorf("%s did not stop within %v of SIGTERM and was killed; see %s", in, stopWithin, in.log)
				return
			}
			if in.err != nil {
				errs[k] = fmt.Errorf("%s: %v; the end of its log %s:\n%s", in, in.err, in.log, tail(in.log))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// signingKey returns the path of the users service's signing key, made
// at path the first time, so every users instance and every restart
// signs with the same key.
func signingKey(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	key, err := auth.GenerateKey()
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// moduleDir is the folder of tailor's module, where the programs are
// built from and scripts/consul.sh is.
func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w; is Go installed?", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run this from within tailor's source tree (go run ./examples/shop/cmd/cluster), where it builds the services")
	}
	return filepath.Dir(gomod), nil
}

// pickPort returns addr, with a free port in place of port 0, so that
// the gateway's URL is known before it starts.
func pickPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("-addr %q is not host:port: %v; use a form like 127.0.0.1:8080", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort(host, port), nil
}

// defaultDataDir is a folder in the user's cache directory, or in the
// temporary directory where there is none.
func defaultDataDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "tailor-shop-cluster")
}

// tail returns the last lines of the file at path.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// redactedHost is the host:port of a URL, for messages.
func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return net.JoinHostPort(u.Hostname(), cmp.Or(u.Port(), "5432"))
}
