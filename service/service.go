// Package service runs one microservice: its configuration, HTTP and gRPC
// listeners, health endpoints, components and graceful shutdown.
//
// Start with [New] and [Service.Run]:
//
//	svc, err := service.New(service.Config{Name: "catalog", HTTPAddr: ":8080"})
//	...
//	svc.Router().Handle("GET /v1/products", productsHandler)
//	svc.AddCheck("db", db.PingContext)
//	svc.Add(outboxRelay) // a Component: started in order, stopped in reverse
//	err = svc.Run(ctx)   // returns nil after a clean shutdown
//
// Run binds the listeners (a bad address or a port in use fails at once,
// naming the setting as the program spells it), starts the components and
// serves. It runs the readiness checks every [Config.CheckInterval]; once
// they all pass it calls Announce on the components that have it
// (registration in a registry goes there), and if a check then keeps
// failing ([Config.FailuresToWithdraw] times in a row) it calls Drain on
// them until the checks pass again, when it announces once more. On
// SIGINT, SIGTERM or the end of ctx it shuts down in this order:
//
//  1. report not ready: /readyz answers 503 and gRPC health NOT_SERVING;
//  2. call Drain on components that have it (deregistration goes here, so
//     callers stop sending before the service stops answering);
//  3. wait [Config.ShutdownDelay] while still serving;
//  4. stop accepting and let in-flight requests finish, up to
//     [Config.ShutdownTimeout];
//  5. stop the components in reverse order;
//  6. shut the telemetry down (see [WithTelemetry]).
//
// Every service answers GET /healthz (alive: 200 while the process runs)
// and GET /readyz (ready: 200 only when serving and every check passes,
// with a JSON body naming each check and its state: pass, fail or
// timeout). A failing check's error goes to the log, never to the body.
//
// # Telemetry
//
// Every service logs without code: its logger writes JSON to standard
// error at level Info and adds trace_id, span_id and request_id to every
// record logged with a request's context; TAILOR_LOG_LEVEL,
// TAILOR_LOG_FORMAT (json or text) and TAILOR_ACCESS_LOG (true logs every
// request) change that, and [WithLogger] replaces it.
//
// Traces and metrics need providers, which main builds once and hands
// over with [WithTelemetry] (usually
// [github.com/tailorkit/tailor/observability/telemetry.New], which reads
// the standard OTEL_* environment). The service then puts
// [github.com/tailorkit/tailor/observability]'s middleware in the HTTP
// router and its interceptors in the gRPC server (a span and RED metrics
// per request, named by route template or gRPC method), serves the
// metrics at GET /metrics, and shuts the providers down at the end of
// Run, flushing the last spans. Without WithTelemetry there are no spans
// and no metrics, and the program links no exporter.
// [Service.Telemetry] gives the one [observability.Telemetry] to
// everything else that observes: clients, resilience policies, messaging.
//
// # Admin listener
//
// With [Config.AdminAddr] set, the service serves a second HTTP listener
// for operators, never on the public port: the operations dashboard
// ([github.com/tailorkit/tailor/observability/dashboard]: its page at
// /dash/ and its JSON API under /dash/api/, named after Config.Name; its
// traces are those the providers' span buffer keeps when they have one,
// as telemetry's do, and its API explorer tries requests on the
// service's own router) and whatever packages add to
// [Service.AdminRouter]. With [Config.AdminToken] set
// (TAILOR_ADMIN_TOKEN), every request to it but the page's files must
// carry Authorization: Bearer <token>; others get 401 problem+json. An
// admin address other than a loopback one without a token is refused at
// [New]. The admin listener is bound, served and drained with the HTTP
// one; when the service stops accepting, the context of every admin
// request still running ends, so event streams close.
package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Component is a part of a service with a life of its own: a message
// consumer, an outbox relay, a telemetry exporter, a database pool. Start
// may block only to get going (it must return once started); Stop must
// undo Start and return once done or when ctx ends.
type Component interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Drainer is a [Component] that wants a word when the service stops being
// ready: at the start of shutdown, right after the service reports not
// ready and before it stops accepting, and, after an Announce, when a
// readiness check has failed [Config.FailuresToWithdraw] times in a row. A
// registry registration deregisters here, so callers stop sending before
// the service stops answering. Drain must allow being called again, and
// an Announce to follow it when the checks pass again.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Announcer is a [Component] that wants a word each time the service turns
// ready: it serves and every readiness check passes. A registry
// registration registers here, so no caller is sent to an instance that
// cannot answer. Its pair is [Drainer]. An error from Announce shuts the
// service down and Run returns it.
type Announcer interface {
	Announce(ctx context.Context) error
}

// Hook is a [Component] made of functions; either may be nil. Name appears
// in logs and errors.
type Hook struct {
	Name    string
	OnStart func(ctx context.Context) error
	OnStop  func(ctx context.Context) error
}

// Start calls h.OnStart if set.
func (h Hook) Start(ctx context.Context) error {
	if h.OnStart == nil {
		return nil
	}
	return h.OnStart(ctx)
}

// Stop calls h.OnStop if set.
func (h Hook) Stop(ctx context.Context) error {
	if h.OnStop == nil {
		return nil
	}
	return h.OnStop(ctx)
}

// String returns h.Name, the name logs and errors give the hook.
func (h Hook) String() string { return h.Name }

// Check reports whether a dependency the service needs is usable, such as
// a database ping. It must respect ctx.
type Check func(ctx context.Context) error

// Option configures a [Service].
type Option func(*Service)

// WithLogger sets the logger for lifecycle events, recovered panics and
// the access log; its records get trace_id, span_id and request_id (see
// [observability.NewLogHandler]). The default writes JSON to standard
// error as TAILOR_LOG_LEVEL and TAILOR_LOG_FORMAT say
// ([observability.LogConfigFromEnv]).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) { s.log = l }
}

// Providers are the OpenTelemetry providers a service reports to, and the
// handler that serves its metrics to a scraper.
// *[github.com/tailorkit/tailor/observability/telemetry.Providers] is
// one.
type Providers interface {
	TracerProvider() trace.TracerProvider
	MeterProvider() metric.MeterProvider
	// MetricsHandler serves the metrics at GET /metrics.
	MetricsHandler() http.Handler
	// Shutdown flushes what is left and stops the providers.
	Shutdown(ctx context.Context) error
}

// WithTelemetry makes the service trace and measure its requests with p
// and serve p's metrics at GET /metrics (see the package doc). The service
// takes p over: Run shuts it down on its way out, after the components
// have stopped, so their last spans are flushed too; a Run that fails to
// start shuts it down as well. Without this option the service has no
// providers: it logs and serves health, but makes no spans or metrics.
func WithTelemetry(p Providers) Option {
	return func(s *Service) { s.tel = p }
}

// WithGRPCServerOptions adds options to the gRPC server (used only when
// [Config.GRPCAddr] is set). tailor's interceptors (request ID, panic
// recovery, error mapping) always run first.
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return func(s *Service) { s.grpcOpts = append(s.grpcOpts, opts...) }
}

// WithHTTPMiddleware adds mw to the HTTP router (see
// [thttp.WithMiddleware]): it runs for every request, routes, health and
// metrics included, after tailor's request ID, panic recovery, tracing and
// metrics, so that what it refuses is still traced, measured and counted.
// Middlewares given in several options run in the order given, the first
// outermost. A service that accepts bearer tokens installs its verifier's
// here:
//
//	service.WithHTTPMiddleware(verifier.HTTPMiddleware())
func WithHTTPMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(s *Service) { s.httpMW = append(s.httpMW, mw) }
}

// WithoutSignals stops Run from reacting to SIGINT and SIGTERM; only the
// end of its context stops it. For tests and for programs that own signal
// handling.
func WithoutSignals() Option {
	return func(s *Service) { s.noSignals = true }
}

// Service is one running microservice; see the package doc. Register
// routes, checks and components before calling Run. Its methods are safe
// for concurrent use.
type Service struct {
	cfg       Config
	log       *slog.Logger
	grpcOpts  []grpc.ServerOption
	httpMW    []func(http.Handler) http.Handler
	noSignals bool
	tel       Providers // nil without WithTelemetry
	inst      *observability.Telemetry

	router *thttp.Router
	admin  *thttp.Router // nil without Config.AdminAddr
	grpc   *grpc.Server
	health *tgrpc.Health

	mu         sync.Mutex
	checks     []namedCheck
	failing    map[string]bool // by check name, as last run
	inflight   inflight
	components []Component
	running    bool

	state     atomic.Int32 // a lifecycle value
	httpAddr  atomic.Pointer[net.TCPAddr]
	grpcAddr  atomic.Pointer[net.TCPAddr]
	adminAddr atomic.Pointer[net.TCPAddr]
	started   chan struct{}
	ready     chan struct{}
}

type namedCheck struct {
	name  string
	check Check
}

// Lifecycle states, as /readyz reports them.
const (
	stateStarting int32 = iota
	stateReady
	stateDraining
	stateStopped
)

var stateNames = [...]string{"starting", "ready", "draining", "stopped"}

// New validates cfg and returns a service ready to take routes, checks and
// components. An invalid setting is an error that names it and its value.
func New(cfg Config, opts ...Option) (*Service, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, started: make(chan struct{}), ready: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if err := s.setupTelemetry(); err != nil {
		return nil, err
	}
	routerOpts := []thttp.RouterOption{thttp.WithLogger(s.log), thttp.WithMiddleware(s.inst.HTTPMiddleware)}
	for _, mw := range s.httpMW {
		routerOpts = append(routerOpts, thttp.WithMiddleware(mw))
	}
	s.router = thttp.NewRouter(routerOpts...)
	s.router.HandleFunc("GET /healthz", s.serveHealthz)
	s.router.HandleFunc("GET /readyz", s.serveReadyz)
	if s.tel != nil {
		s.router.Handle("GET /metrics", s.tel.MetricsHandler())
	}
	if cfg.AdminAddr != "" {
		s.admin = thttp.NewRouter(thttp.WithLogger(s.log), thttp.WithMiddleware(s.adminAuth))
		dashOpts := []dashboard.Option{dashboard.WithService(cfg.Name), dashboard.WithAPI(s.router)}
		if src, ok := s.tel.(interface{ Spans() *spanbuffer.Buffer }); ok {
			dashOpts = append(dashOpts, dashboard.WithSpans(src.Spans()))
		}
		dashboard.Mount(s.admin, s.inst, dashOpts...)
	}
	if cfg.GRPCAddr != "" {
		opts := append(tgrpc.ServerOptions(tgrpc.WithLogger(s.log)),
			grpc.ChainUnaryInterceptor(s.inst.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(s.inst.StreamServerInterceptor()))
		s.grpc = grpc.NewServer(append(opts, s.grpcOpts...)...)
		s.health = tgrpc.NewHealth(s.grpc)
	}
	return s, nil
}

// setupTelemetry makes the logger and the instrumentation (see the
// package doc).
func (s *Service) setupTelemetry() error {
	logCfg, err := observability.LogConfigFromEnv(os.LookupEnv)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if s.log == nil {
		s.log = observability.NewLogger(os.Stderr, logCfg)
	} else {
		s.log = slog.New(observability.NewLogHandler(s.log.Handler()))
	}
	s.log = s.log.With("service", s.cfg.Name)
	cfg := observability.Config{Logger: s.log, AccessLog: logCfg.AccessLog, EndpointStats: s.cfg.AdminAddr != ""}
	if s.tel != nil {
		cfg.TracerProvider, cfg.MeterProvider = s.tel.TracerProvider(), s.tel.MeterProvider()
	}
	s.inst, err = observability.New(cfg)
	if err != nil {
		return fmt.Errorf("service: cannot make the telemetry instruments: %w", err)
	}
	return nil
}

// Telemetry returns the service's one telemetry, for everything else that
// observes: the clients it makes
// ([observability.Telemetry.HTTPClientOptions],
// [observability.Telemetry.UnaryClientInterceptor]), its resilience
// policies, messaging and the outbox. Its providers are those of
// [WithTelemetry], or no-op ones; its logger is the service's.
func (s *Service) Telemetry() *observability.Telemetry { return s.inst }

// Config returns the service's configuration with defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.log }

// Router returns the HTTP router; register routes on it before Run.
func (s *Service) Router() *thttp.Router { return s.router }

// AdminRouter returns the router of the admin listener, for packages to
// add operators' routes to before Run, or nil when [Config.AdminAddr] is
// empty. Its requests need the admin token when one is set (see the
// package doc); the dashboard's routes under /dash/api/ are taken.
func (s *Service) AdminRouter() *thttp.Router { return s.admin }

// GRPCServer returns the gRPC server to register services on before Run,
// or nil when [Config.GRPCAddr] is empty.
func (s *Service) GRPCServer() *grpc.Server { return s.grpc }

// AddCheck adds a readiness check: /readyz answers 200 only when every
// check passes within [Config.CheckTimeout].
func (s *Service) AddCheck(name string, check Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, namedCheck{name, check})
}

// Add adds components; Run starts them in the order added and stops them
// in reverse.
func (s *Service) Add(c ...Component) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.components = append(s.components, c...)
}

// Started is closed once Run has bound its listeners, started every
// component and begun serving.
func (s *Service) Started() <-chan struct{} { return s.started }

// Ready is closed once the service has first turned ready: it serves,
// every readiness check passed, and every Announce (a registry
// registration) returned without error.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// HTTPAddr returns the address the HTTP listener is bound to, or nil before
// Run has bound it. With port 0 in the config, this tells the port picked.
func (s *Service) HTTPAddr() *net.TCPAddr { return s.httpAddr.Load() }

// GRPCAddr returns the address the gRPC listener is bound to, or nil.
func (s *Service) GRPCAddr() *net.TCPAddr { return s.grpcAddr.Load() }

// AdminAddr returns the address the admin listener is bound to, or nil.
func (s *Service) AdminAddr() *net.TCPAddr { return s.adminAddr.Load() }

// adminAuth refuses, with 401, admin requests without the admin token,
// when one is set.
func (s *Service) adminAuth(next http.Handler) http.Handler {
	if s.cfg.AdminToken == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dashboard.IsPage(r) {
			next.ServeHTTP(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			thttp.WriteError(w, r, fault.New(fault.Unauthenticated,
				"the admin listener needs the admin token; send Authorization: Bearer <token> with the service's admin token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Run runs the service until ctx ends or, unless [WithoutSignals], the
// process gets SIGINT or SIGTERM, then shuts down gracefully (see the
// package doc). It returns nil after a clean shutdown, and an error if a
// listener cannot be bound, a component fails to start, a server fails, or
// the drain or a component's stop fails. Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("service: Run called twice; make a new Service for each run")
	}
	s.running = true
	components := append([]Component(nil), s.components...)
	s.mu.Unlock()

	// The first signal starts the shutdown (it ends ctx); a second one
	// ends the drain at once (it ends drainCtx).
	drainCtx, cutDrain := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cutDrain(nil)
	if !s.noSignals {
		var stop context.CancelCauseFunc
		ctx, stop = context.WithCancelCause(ctx)
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		go func() {
			select {
			case sig := <-sigs:
				stop(fmt.Errorf("service: got %v", sig))
			case <-drainCtx.Done():
				return
			}
			select {
			case sig := <-sigs:
				s.log.Warn("second signal; ending the drain at once", "signal", sig.String())
				cutDrain(fmt.Errorf("service: a second signal (%v) ended the drain", sig))
			case <-drainCtx.Done():
			}
		}()
	}

	httpLn, err := s.listen(settingHTTPAddr, s.cfg.HTTPAddr)
	if err != nil {
		return s.abandon(ctx, err, nil)
	}
	s.httpAddr.Store(httpLn.Addr().(*net.TCPAddr))
	var grpcLn net.Listener
	if s.grpc != nil {
		grpcLn, err = s.listen(settingGRPCAddr, s.cfg.GRPCAddr)
		if err != nil {
			return s.abandon(ctx, err, nil, httpLn)
		}
		s.grpcAddr.Store(grpcLn.Addr().(*net.TCPAddr))
	}
	var adminLn net.Listener
	if s.admin != nil {
		adminLn, err = s.listen(settingAdminAddr, s.cfg.AdminAddr)
		if err != nil {
			return s.abandon(ctx, err, nil, httpLn, grpcLn)
		}
		s.adminAddr.Store(adminLn.Addr().(*net.TCPAddr))
	}

	startedN, err := s.startComponents(ctx, components)
	if err != nil {
		return s.abandon(ctx, err, components[:startedN], httpLn, grpcLn, adminLn)
	}

	srv := &http.Server{
		Handler:           s.inflight.track(s.router),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 3)
	go func() { serveErr <- srv.Serve(httpLn) }()
	if s.grpc != nil {
		go func() { serveErr <- s.grpc.Serve(grpcLn) }()
	}
	var adminSrv *http.Server
	if s.admin != nil {
		// The admin requests' context ends when the server stops
		// accepting, so that event streams close and do not hold the
		// drain up.
		adminCtx, endAdmin := context.WithCancel(context.WithoutCancel(ctx))
		adminSrv = &http.Server{
			Handler:           s.admin,
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.ReadTimeout,
			IdleTimeout:       s.cfg.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return adminCtx },
		}
		adminSrv.RegisterOnShutdown(endAdmin)
		go func() { serveErr <- adminSrv.Serve(adminLn) }()
	}

	s.setState(stateReady)
	close(s.started)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchErr := make(chan error, 1)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if err := s.watchReadiness(watchCtx, components); err != nil {
			watchErr <- err
		}
	}()
	attrs := []any{"http", s.HTTPAddr().String()}
	if s.grpc != nil {
		attrs = append(attrs, "grpc", s.GRPCAddr().String())
	}
	if s.admin != nil {
		attrs = append(attrs, "admin", s.AdminAddr().String())
	}
	s.log.Info("serving", attrs...)

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "reason", context.Cause(ctx).Error())
	case err := <-serveErr:
		runErr = fmt.Errorf("service: %s server stopped: %w", s.cfg.Name, err)
		s.log.Error("server failed; shutting down", "error", err.Error())
	case err := <-watchErr:
		runErr = err
		s.log.Error("announce failed; shutting down", "error", err.Error())
	}
	stopWatch()
	<-watchDone
	return errors.Join(runErr, s.shutdown(drainCtx, srv, adminSrv, components))
}

// watchReadiness runs the readiness checks every [Config.CheckInterval]
// until ctx ends. It keeps gRPC health in step with them (gRPC clients
// cannot run /readyz), announces the service each time every check
// passes, and drains it when a check has failed
// [Config.FailuresToWithdraw] times in a row since. It returns the error
// of a failed Announce, or nil when ctx ends.
func (s *Service) watchReadiness(ctx context.Context, cs []Component) error {
	announced, everReady := false, false
	failures := 0
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	for {
		ok, _ := s.checkReadiness(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if s.health != nil {
			s.health.SetServing(ok)
		}
		switch {
		case ok && !announced:
			if err := s.announce(ctx, cs); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if !everReady {
				close(s.ready)
				everReady = true
			}
			announced, failures = true, 0
		case ok:
			failures = 0
		case announced:
			failures++
			if failures >= s.cfg.FailuresToWithdraw {
				s.log.Warn("readiness checks keep failing; withdrawing until they pass", "failures", failures)
				if err := s.drain(ctx, cs); err != nil {
					s.log.Error("withdrawing failed", "error", err.Error())
				}
				announced = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// abandon undoes a Run that failed before serving: it closes lns, stops
// the components that started, in reverse, and shuts down the telemetry
// given with WithTelemetry. It returns err joined with whatever failed on
// the way.
func (s *Service) abandon(ctx context.Context, err error, started []Component, lns ...net.Listener) error {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, s.stopComponents(stopCtx, started), s.shutdownTelemetry(stopCtx))
}

func (s *Service) announce(ctx context.Context, cs []Component) error {
	for _, c := range cs {
		if a, ok := c.(Announcer); ok {
			if err := a.Announce(ctx); err != nil {
				return fmt.Errorf("service: announce %s: %w", componentName(c), err)
			}
		}
	}
	return nil
}

// drain calls Drain on every component that has it, each even if another
// failed.
func (s *Service) drain(ctx context.Context, cs []Component) error {
	var errs []error
	for _, c := range cs {
		if d, ok := c.(Drainer); ok {
			if err := d.Drain(ctx); err != nil {
				errs = append(errs, fmt.Errorf("service: drain %s: %w", componentName(c), err))
			}
		}
	}
	return errors.Join(errs...)
}

// listen binds addr, the value of setting st, or says what went wrong
// and which setting, as the program spells it, to change.
func (s *Service) listen(st setting, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	name := s.cfg.name(st)
	var dnsErr *net.DNSError
	var hint string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		hint = "another process is using the port; stop it or pick a free port"
	case errors.As(err, &dnsErr):
		hint = "the host name does not resolve; use an IP address or a name this machine resolves"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		hint = "the host is not an address of this machine; use one of its addresses, or an empty host for all"
	case errors.Is(err, syscall.EACCES):
		hint = "binding this port needs privileges; pick a port above 1023"
	default:
		hint = "check the address"
	}
	return nil, fmt.Errorf("service: cannot listen on %q (%s): %w; %s", addr, name, err, hint)
}

func (s *Service) startComponents(ctx context.Context, cs []Component) (int, error) {
	for i, c := range cs {
		if err := c.Start(ctx); err != nil {
			return i, fmt.Errorf("service: start %s: %w", componentName(c), err)
		}
	}
	return len(cs), nil
}

// stopComponents stops cs in reverse order, each even if another failed.
func (s *Service) stopComponents(ctx context.Context, cs []Component) error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("service: stop %s: %w", componentName(cs[i]), err))
		}
	}
	return errors.Join(errs...)
}

func componentName(c Component) string {
	if s, ok := c.(fmt.Stringer); ok && s.String() != "" {
		return s.String()
	}
	return fmt.Sprintf("%T", c)
}

// shutdown runs the shutdown steps of the package doc. Steps 2 to 4 (the
// drain) end early when ctx ends (a second signal); the components and
// the telemetry get ShutdownTimeout each whatever happened before. The
// admin server, when there is one, stops with the HTTP server.
func (s *Service) shutdown(ctx context.Context, srv, admin *http.Server, components []Component) error {
	s.setState(stateDraining)
	var errs []error

	drainCtx, cancelDrain := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancelDrain()
	if err := s.drain(drainCtx, components); err != nil {
		errs = append(errs, err)
	}
	if s.cfg.ShutdownDelay > 0 {
		t := time.NewTimer(s.cfg.ShutdownDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}

	httpCtx, cancelHTTP := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancelHTTP()
	var wg sync.WaitGroup
	if s.grpc != nil {
		wg.Go(func() { s.stopGRPC(httpCtx) })
	}
	if admin != nil {
		wg.Go(func() {
			if admin.Shutdown(httpCtx) != nil {
				admin.Close()
			}
		})
	}
	if err := srv.Shutdown(httpCtx); err != nil {
		if err := s.cut(srv, context.Cause(ctx)); err != nil {
			errs = append(errs, err)
		}
	}
	wg.Wait()

	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancelStop()
	if err := s.stopComponents(stopCtx, components); err != nil {
		errs = append(errs, err)
	}
	if err := s.shutdownTelemetry(stopCtx); err != nil {
		errs = append(errs, err)
	}
	s.setState(stateStopped)
	if s.health != nil {
		s.health.Shutdown()
	}
	if len(errs) == 0 {
		s.log.Info("stopped")
	}
	return errors.Join(errs...)
}

// cut closes every connection still open after the drain ran out of time
// (or a second signal, the cause, ended it) and logs each request it cut.
// A request whose handler was waiting for the client to send more of its
// body is the client's fault and cut without complaint; the error names
// those that were not: handlers still at work.
func (s *Service) cut(srv *http.Server, cause error) error {
	reqs := s.inflight.list()
	srv.Close()
	var slow []string
	for _, r := range reqs {
		attrs := []any{"method", r.method, "path", r.path, "elapsed", r.elapsed.Round(time.Millisecond).String()}
		if r.waitingForClient {
			s.log.Warn("request cut at shutdown: the client stalled sending its body", attrs...)
			continue
		}
		s.log.Error("request cut at shutdown: its handler did not finish", attrs...)
		slow = append(slow, r.method+" "+r.path)
	}
	if len(slow) == 0 {
		return nil
	}
	why := fmt.Sprintf("did not finish within %s (%s); raise it or find the slow handler", s.cfg.ShutdownTimeout, s.cfg.name(settingShutdownTimeout))
	if cause != nil {
		why = "were cut: " + cause.Error()
	}
	return fmt.Errorf("service: %d in-flight HTTP requests (%s) %s", len(slow), strings.Join(slow, ", "), why)
}

// shutdownTelemetry shuts down the providers given with WithTelemetry.
func (s *Service) shutdownTelemetry(ctx context.Context) error {
	if s.tel == nil {
		return nil
	}
	if err := s.tel.Shutdown(ctx); err != nil {
		return fmt.Errorf("service: shut down telemetry: %w", err)
	}
	return nil
}

// stopGRPC drains gRPC calls until ctx ends, then cuts the rest.
func (s *Service) stopGRPC(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

func (s *Service) setState(st int32) {
	s.state.Store(st)
	if s.health != nil {
		s.health.SetServing(st == stateReady)
	}
}

func (s *Service) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"alive"}` + "\n"))
}

// checkResult is one check in the /readyz body. It names the check and
// its state, never the error, which may tell internals to whoever can
// reach /readyz; the error goes to the log.
type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "pass", "fail" or "timeout"
}

type readiness struct {
	Service string        `json:"service"`
	Status  string        `json:"status"` // "ready" or the lifecycle state
	Checks  []checkResult `json:"checks"`
}

// checkReadiness runs every check (concurrently, each bounded by
// [Config.CheckTimeout]) and reports whether the service is serving and
// all checks pass, with each check's result. A check that turns failing
// is logged with its error at level Warn; one that passes again, at Info.
func (s *Service) checkReadiness(ctx context.Context) (bool, readiness) {
	s.mu.Lock()
	checks := append([]namedCheck(nil), s.checks...)
	s.mu.Unlock()
	st := s.state.Load()
	rd := readiness{Service: s.cfg.Name, Status: stateNames[st], Checks: make([]checkResult, len(checks))}
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
			defer cancel()
			err := c.check(cctx)
			res := checkResult{Name: c.name, Status: "pass"}
			switch {
			case err != nil && cctx.Err() == context.DeadlineExceeded:
				res.Status = "timeout"
			case err != nil:
				res.Status = "fail"
			}
			rd.Checks[i] = res
			s.noteCheck(ctx, c.name, err)
		})
	}
	wg.Wait()
	ok := st == stateReady
	for _, c := range rd.Checks {
		if c.Status != "pass" {
			ok = false
		}
	}
	if st == stateReady && !ok {
		rd.Status = "not_ready"
	}
	return ok, rd
}

// noteCheck logs a check's result when it differs from the last one.
func (s *Service) noteCheck(ctx context.Context, name string, err error) {
	failing := err != nil
	s.mu.Lock()
	was := s.failing[name]
	if s.failing == nil {
		s.failing = map[string]bool{}
	}
	s.failing[name] = failing
	s.mu.Unlock()
	switch {
	case failing && !was:
		s.log.WarnContext(ctx, "readiness check failing", "check", name, "error", err.Error())
	case !failing && was:
		s.log.InfoContext(ctx, "readiness check passing again", "check", name)
	}
}

func (s *Service) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ok, rd := s.checkReadiness(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}
