package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/discovery/dns"
	"github.com/tailorkit/tailor/internal/scaffold"
	"github.com/tailorkit/tailor/observability/dashboard"
)

// envAdminToken is where tailor dash reads the admin token from, as every
// service does.
const envAdminToken = "TAILOR_ADMIN_TOKEN"

// defaultDashAddr is where tailor dash serves by default.
const defaultDashAddr = "127.0.0.1:8090"

// dashCommand is tailor dash.
func dashCommand() command {
	return command{
		name:     "dash",
		synopsis: "tailor dash [--consul ADDR | --dns [--dns-server HOST:PORT]] [--services a,b,c] [--target [ID=]HOST:PORT ...] [--addr HOST:PORT]",
		help: `Serves the operations dashboard of several services on one page: every
instance of the services, found in Consul or in DNS, and the admin
listeners given with --target. It prints the page's address and serves
until interrupted.

An instance shows when it registers its admin listener in its metadata
(discovery.Instance.WithAdmin; the key is "admin"). With --dns, each
service's admin listeners are the SRV records _admin._tcp.SERVICE, which
Kubernetes publishes for a port named "admin" of a headless Service;
--services is then required. With Consul, the default is every service
in its catalog, listed at the start.

The admin token is read from TAILOR_ADMIN_TOKEN: tailor dash sends it to
every service and asks it of the page's requests. An --addr other than
loopback needs it.

Example:
  tailor dash --consul 127.0.0.1:8500
  tailor dash --dns --services orders,payments --target gateway=127.0.0.1:9100
  TAILOR_ADMIN_TOKEN=... tailor dash --addr 0.0.0.0:8090`,
		flags: func(fs *flag.FlagSet) {
			fs.String("consul", os.Getenv("CONSUL_HTTP_ADDR"), "the Consul agent's HTTP address (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)")
			fs.Bool("dns", false, "find the services' admin listeners in DNS, as the SRV records _admin._tcp.SERVICE, instead of Consul")
			fs.String("dns-server", "", "the DNS server to ask, HOST:PORT (implies --dns; default the system's)")
			fs.String("services", "", "the services to show, comma-separated (default with Consul: every service in its catalog)")
			fs.Var(new(targetsFlag), "target", "an admin listener to show besides, [ID=]HOST:PORT, such as an unregistered gateway's; repeatable")
			fs.String("addr", defaultDashAddr, "the address to serve the dashboard on")
		},
		run: runDash,
	}
}

// targetsFlag collects --target values.
type targetsFlag []dashboard.Target

func (f *targetsFlag) String() string {
	if f == nil {
		return ""
	}
	var s []string
	for _, t := range *f {
		s = append(s, t.ID+"="+t.Addr)
	}
	return strings.Join(s, ",")
}

func (f *targetsFlag) Set(v string) error {
	id, addr, named := strings.Cut(v, "=")
	if !named {
		addr = v
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not [ID=]HOST:PORT: %v", v, err)
	}
	if named {
		*f = append(*f, dashboard.Target{ID: id, Addr: addr})
	} else {
		*f = append(*f, dashboard.Target{Addr: addr})
	}
	return nil
}

func (f *targetsFlag) Get() any { return []dashboard.Target(*f) }

func runDash(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	if err := positional("dash", args); err != nil {
		return err
	}
	token := os.Getenv(envAdminToken)
	addr := str(fs, "addr")
	if err := checkDashAddr(addr, token); err != nil {
		return err
	}
	var services []string
	for _, s := range strings.Split(str(fs, "services"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			services = append(services, s)
		}
	}
	cfg := dashboard.HubConfig{
		Services: services, Token: token,
		Targets: fs.Lookup("target").Value.(flag.Getter).Get().([]dashboard.Target),
	}
	useDNS := boolean(fs, "dns") || str(fs, "dns-server") != ""
	if useDNS {
		if len(services) == 0 {
			return &scaffold.UsageError{Msg: "dash: --dns needs --services: DNS cannot list the services"}
		}
		reg, err := dns.New(dns.Config{Server: str(fs, "dns-server"), Name: func(s string) string { return "_admin._tcp." + s }})
		if err != nil {
			return err
		}
		defer reg.Close()
		cfg.Resolver = reg
		cfg.AdminAddr = func(i discovery.Instance) (string, bool) { return i.HostPort(), true }
	} else {
		reg, err := consul.New(consul.Config{Address: str(fs, "consul")})
		if err != nil {
			return err
		}
		defer reg.Close()
		cfg.Resolver = reg
		if len(services) == 0 {
			if cfg.Services, err = catalog(ctx, str(fs, "consul")); err != nil {
				return err
			}
		}
	}
	hub, err := dashboard.NewHub(cfg)
	if err != nil {
		return err
	}
	defer hub.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dash: --addr %s: %w; give a free address", addr, err)
	}
	// The streams' context ends at Shutdown, which would otherwise wait
	// for them.
	streams, endStreams := context.WithCancel(context.Background())
	srv := &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams }}
	srv.RegisterOnShutdown(endStreams)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	where := "services " + strings.Join(cfg.Services, ", ")
	if len(cfg.Services) == 0 {
		where = "no registered service"
	}
	fmt.Fprintf(stdout, "tailor dash: the dashboard of %s and %d more targets at http://%s/dash/; Ctrl-C stops it\n", where, len(cfg.Targets), ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// catalog lists the services of the Consul agent at addr ("" for the
// CONSUL_* environment), but Consul itself.
func catalog(ctx context.Context, addr string) ([]string, error) {
	ac := api.DefaultConfig()
	if addr != "" {
		ac.Address = addr
	}
	c, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("dash: consul: %w", err)
	}
	all, _, err := c.Catalog().Services((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("dash: cannot list Consul's services at %s: %w; is the agent running? (--consul, CONSUL_HTTP_ADDR)", ac.Address, err)
	}
	var out []string
	for name := range all {
		if name != "consul" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// checkDashAddr refuses an address other machines can reach when there is
// no token, as a service does for its admin listener.
func checkDashAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &scaffold.UsageError{Msg: fmt.Sprintf("dash: --addr %q is not HOST:PORT: %v; use a form like %s", addr, err, defaultDashAddr)}
	}
	if token != "" {
		return nil
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return &scaffold.UsageError{Msg: fmt.Sprintf("dash: --addr %q can be reached from other machines and %s is not set; set it to the services' admin token, or serve on 127.0.0.1", addr, envAdminToken)}
	}
	return nil
}
