// Package process runs one service of the shop as a process of its own,
// on real infrastructure: it registers in Consul with a health check and
// finds the services it calls there (or, with SHOP_DISCOVERY=dns, finds
// them in DNS SRV records and leaves registering to the platform, as on
// Kubernetes), keeps its data in its own database
// (PostgreSQL, created and migrated at start, or an SQLite file), sends
// and receives events through an external NATS server, and exports
// traces as the OTEL_* environment says. Each program under
// examples/shop/cmd/<service> is a few lines around [Run].
//
// Settings come only from flags and the environment; -help lists both,
// the environment under the heading "Environment:", each variable marked
// "(required)" where the program refuses to start without it. A missing
// one, or a malformed flag, makes [Exit] end the process with status 2
// and a message naming it with an example value.
//
// Scaling a service is one more process of it: it registers once ready,
// the callers' watches add it to their rotation, and SIGTERM takes it out
// of the registry before it stops accepting, so no call is lost.
package process

import (
	"context"
	"crypto"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/consul"
	"github.com/tailorkit/tailor/discovery/dns"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/internal/assembly"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
)

// DefaultShutdownDelay is how long a service keeps serving after it has
// left the registry, unless -shutdown-delay says otherwise: long enough
// for the callers' watches, which Consul answers at once, to drop it.
const DefaultShutdownDelay = time.Second

// settings are what one service's process runs with.
type settings struct {
	cfg           service.Config
	discovery     string // DiscoveryConsul or DiscoveryDNS
	consulAddr    string
	dnsServer     string
	databaseURL   string
	natsURL       string
	replicas      int
	log           observability.LogConfig
	signingKey    crypto.Signer
	adminPassword string
	faults        payments.Faults
	gateway       gateway.Config
}

// Run runs the service called name (users, catalog, inventory, payments,
// orders, reviews, stats or gateway) until ctx ends or the process gets
// SIGINT or SIGTERM, when it drains: it leaves the registry, keeps
// serving for -shutdown-delay, lets in-flight requests finish and stops.
// args are the command-line arguments after the program's name;
// lookupEnv reads the environment (pass os.LookupEnv). Logs go to
// stderr; stdout shows what a person must see, such as a generated
// administrator's password.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) error {
	s, err := parse(name, args, stderr, lookupEnv)
	if err != nil {
		return err
	}
	return s.serve(ctx, stdout, stderr)
}

// parse reads the flags and the environment of the service called name.
func parse(name string, args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (*settings, error) {
	vars := environment(name)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s (the shop's %s service, as a process of its own):\n", fs.Name(), name)
		fs.PrintDefaults()
		printEnvironment(fs.Output(), vars)
	}
	s := &settings{cfg: service.Config{Name: name, ShutdownDelay: DefaultShutdownDelay}}
	if err := s.cfg.Bind(fs, "", lookupEnv); err != nil {
		return nil, usageErrorf("%v", err)
	}
	if name == "gateway" {
		fs.Float64Var(&s.gateway.PerIP.Rate, "ip-rate", gateway.DefaultIPRate, "the limit of requests a second from one IP address, in bursts of twice as many; -1 turns it off")
		fs.Float64Var(&s.gateway.PerUser.Rate, "user-rate", gateway.DefaultUserRate, "the limit of requests a second from one user, in bursts of twice as many; -1 turns it off")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("unexpected arguments %q; settings are flags and environment variables, see -help", fs.Args())
	}
	switch d, _ := lookupEnv(EnvDiscovery); d {
	case "", DiscoveryConsul:
		s.discovery = DiscoveryConsul
	case DiscoveryDNS:
		s.discovery = DiscoveryDNS
	default:
		return nil, usageErrorf("%s is %q; set it to %s (the default: register in Consul) or %s (find the services in DNS SRV records)", EnvDiscovery, d, DiscoveryConsul, DiscoveryDNS)
	}
	if err := missing(vars, lookupEnv); err != nil {
		return nil, err
	}
	// What the service does not use, it does not read.
	get := func(name string) string {
		if !slices.ContainsFunc(vars, func(v variable) bool { return v.name == name }) {
			return ""
		}
		v, _ := lookupEnv(name)
		return v
	}
	switch s.discovery {
	case DiscoveryConsul:
		if v := get(EnvDNSServer); v != "" {
			return nil, usageErrorf("%s is set but the services are found in Consul; set %s=%s to find them in DNS, or unset %s", EnvDNSServer, EnvDiscovery, DiscoveryDNS, EnvDNSServer)
		}
		s.consulAddr = get(EnvConsulAddr)
	case DiscoveryDNS:
		s.dnsServer = get(EnvDNSServer)
		if _, err := dns.New(dns.Config{Server: s.dnsServer}); err != nil { // checks the address, asks nothing
			return nil, usageErrorf("%s: %v", EnvDNSServer, err)
		}
	}
	s.databaseURL = get(EnvDatabaseURL)
	s.natsURL = get(messaging.EnvURL)
	if v := get(EnvStreamReplicas); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return nil, usageErrorf("%s=%q is not a number of replicas; give 1 to 5 (JetStream's limit), such as %s=3 on a three-server cluster", EnvStreamReplicas, v, EnvStreamReplicas)
		}
		s.replicas = n
	}
	var err error
	if s.log, err = observability.LogConfigFromEnv(lookupEnv); err != nil {
		return nil, usageErrorf("%v", err)
	}
	switch name {
	case "users":
		if s.signingKey, err = users.SigningKeyFromEnv(lookupEnv); err != nil {
			return nil, usageErrorf("%v", err)
		}
		s.adminPassword = get(users.EnvAdminPassword)
	case "payments":
		if s.faults, err = payments.FaultsFromEnv(lookupEnv); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return s, nil
}

// serve runs the service s describes until ctx ends or a signal stops it.
func (s *settings) serve(ctx context.Context, stdout, stderr io.Writer) (err error) {
	name := s.cfg.Name
	logger := observability.NewLogger(stderr, s.log) // the service adds its name to each record
	resolver, registrar, closeRegistry, err := s.registry(logger)
	if err != nil {
		return err
	}
	defer closeRegistry()
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: name, Logger: logger})
	if err != nil {
		return err
	}
	started := false
	defer func() {
		if !started { // Run shuts it down once it has started
			_ = tel.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	opts := []service.Option{service.WithLogger(logger), service.WithTelemetry(tel)}
	var verifier *auth.Verifier
	if name != "users" {
		// Every service but the issuer trusts the users service's tokens,
		// checking them against the keys any users instance publishes.
		v, watch, err := assembly.NewVerifier(resolver)
		if err != nil {
			return err
		}
		defer watch.Close()
		verifier = v
		opts = append(opts, assembly.AuthOptions(verifier)...)
	}
	svc, err := service.New(s.cfg, opts...)
	if err != nil {
		return err
	}
	cleanup, err := assembly.Build(ctx, svc, assembly.Deps{
		Resolver:  resolver,
		Registrar: registrar,
		Address:   assembly.AdvertisedHost(s.cfg.HTTPAddr),
		OpenDB: func(ctx context.Context, _ string) (*sql.DB, error) {
			return assembly.OpenDatabase(ctx, s.databaseURL)
		},
		Connect: func(name string) (*nats.Conn, jetstream.JetStream, error) {
			nc, err := messaging.Connect(s.natsURL, svc.Telemetry(), nats.Name("shop-"+name))
			if err != nil {
				return nil, nil, err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				nc.Close()
				return nil, nil, fmt.Errorf("JetStream at %s: %w", messaging.RedactURL(s.natsURL), err)
			}
			return nc, js, nil
		},
		StreamReplicas: s.replicas,
		Verifier:       verifier,
		SigningKey:     s.signingKey,
		AdminPassword:  s.adminPassword,
		Stdout:         stdout,
		PaymentFaults:  s.faults,
		Gateway:        s.gateway,
	})
	if err != nil {
		return err
	}
	defer cleanup()
	if svc.GRPCServer() != nil && name == "catalog" && registrar != nil {
		// Its gRPC API under the same name, as a gRPC instance: callers
		// over HTTP pass it over, gRPC callers find it, and Consul checks
		// it with the gRPC health service.
		svc.Add(discovery.NewRegistration(registrar, func() discovery.Instance {
			return discovery.Instance{Service: name, Address: assembly.AdvertisedHost(s.cfg.GRPCAddr), Port: svc.GRPCAddr().Port, Protocol: discovery.ProtocolGRPC}
		}))
	}
	started = true
	return svc.Run(ctx)
}

// registry returns where the service finds the others and where it
// registers: both Consul, or DNS and nowhere (the platform registers
// it). closeRegistry stops them.
func (s *settings) registry(logger *slog.Logger) (discovery.Resolver, discovery.Registrar, func(), error) {
	if s.discovery == DiscoveryDNS {
		r, err := dns.New(dns.Config{Server: s.dnsServer}, dns.WithLogger(logger))
		if err != nil {
			return nil, nil, nil, err
		}
		return r, nil, func() { _ = r.Close() }, nil
	}
	reg, err := consul.New(consul.Config{Address: s.consulAddr}, consul.WithLogger(logger))
	if err != nil {
		return nil, nil, nil, err
	}
	return reg, reg, func() { _ = reg.Close() }, nil
}

// usageError is a setting that is missing or malformed: the program
// exits with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// Exit ends the process of the service called name as err says: status
// 0 when it is nil or the answer to -help, 2 (with the message) when a
// setting is missing or malformed, 1 (with the message) otherwise.
func Exit(name string, err error) {
	code := exitCode(err)
	if code != 0 {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(code)
}

// exitCode is the status Exit ends the process with for err.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		return 2
	default:
		return 1
	}
}
