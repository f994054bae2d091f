package observability

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every span and instrument this
// package makes.
const ScopeName = "github.com/tailorkit/tailor/observability"

// Config says where a [Telemetry] sends what it observes. The zero
// value observes nothing and costs next to nothing: every field's default
// is in its doc.
type Config struct {
	// TracerProvider makes the spans. Default: none (no spans, no trace
	// context taken or sent).
	TracerProvider trace.TracerProvider
	// MeterProvider makes the instruments. Default: none (no metrics).
	MeterProvider metric.MeterProvider
	// Propagator reads and writes the trace context on the wire. Default:
	// W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
	// Logger receives the access log. Default: none.
	Logger *slog.Logger
	// AccessLog logs one record per server request at level Info (method,
	// route, status, duration, bytes) to Logger. Default false: off.
	AccessLog bool
	// EndpointStats keeps, per server route, the requests, errors and
	// latencies of the last minute, in memory, for
	// [Telemetry.Endpoints], and the same per callee of
	// [Telemetry.CallMiddleware], for [Telemetry.Calls]. Default false:
	// off.
	EndpointStats bool
}

// Telemetry is the one description of where a service reports what it
// observes: its tracer and meter providers, its propagator and its
// logger. Every tailor package that observes takes a *Telemetry; this
// type makes the middlewares, interceptors and hooks, and other packages
// make their own instruments from its providers. Build one with [New];
// the zero value is not usable.
// It is safe for concurrent use.
type Telemetry struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	tracer  trace.Tracer
	tracing bool
	// serverSpan and clientSpan are the start options of every span of
	// their kind, made once: an option built per call allocates.
	serverSpan, clientSpan []trace.SpanStartOption
	propagator             propagation.TextMapPropagator
	logger                 *slog.Logger
	accessLog              bool

	httpServer, httpClient metric.Float64Histogram
	rpcServer, rpcClient   metric.Float64Histogram
	breakerState           metric.Int64Gauge
	breakerTransitions     metric.Int64Counter
	rejections             metric.Int64Counter
	retries                metric.Int64Counter
	meter                  metric.Meter
	budgetRefused          metric.Int64ObservableCounter
	instances              metric.Int64ObservableGauge

	attrs attrCache
	names cache[[2]string, string] // server span names by method and route

	live      live
	processes processes // tracked under live's lock
	guards    guards
	endpoints *windows[[2]string] // by method and route; nil unless Config.EndpointStats
	calls     *windows[string]    // by callee; nil unless Config.EndpointStats
}

// New returns a Telemetry for cfg. It fails only when the meter
// provider refuses to make an instrument.
func New(cfg Config) (*Telemetry, error) {
	in := &Telemetry{propagator: cfg.Propagator, logger: cfg.Logger, accessLog: cfg.AccessLog && cfg.Logger != nil}
	if cfg.EndpointStats {
		in.endpoints, in.calls = &windows[[2]string]{}, &windows[string]{}
	}
	if in.logger == nil {
		in.logger = slog.New(slog.DiscardHandler)
	}
	if in.propagator == nil {
		in.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	tp := cfg.TracerProvider
	if tp != nil {
		_, isNoop := tp.(tracenoop.TracerProvider)
		in.tracing = !isNoop
	} else {
		tp = tracenoop.NewTracerProvider()
	}
	in.tp = tp
	in.tracer = tp.Tracer(ScopeName)
	in.serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	in.clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	in.mp = mp
	if err := in.makeInstruments(mp.Meter(ScopeName)); err != nil {
		return nil, err
	}
	return in, nil
}

// durationBuckets are the semantic conventions' advice for request
// durations, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func (in *Telemetry) makeInstruments(m metric.Meter) error {
	in.meter = m
	var errs [10]error
	hist := func(name, desc string, err *error) metric.Float64Histogram {
		h, e := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(durationBuckets...))
		*err = e
		return h
	}
	in.httpServer = hist("http.server.request.duration", "Duration of HTTP server requests.", &errs[0])
	in.httpClient = hist("http.client.request.duration", "Duration of HTTP client requests.", &errs[1])
	in.rpcServer = hist("rpc.server.call.duration", "Duration of gRPC server calls.", &errs[2])
	in.rpcClient = hist("rpc.client.call.duration", "Duration of gRPC client calls.", &errs[3])
	in.breakerState, errs[4] = m.Int64Gauge("tailor.breaker.state", metric.WithUnit("{state}"),
		metric.WithDescription("1 for a circuit breaker's current state, 0 for the others."))
	in.breakerTransitions, errs[5] = m.Int64Counter("tailor.breaker.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state changes."))
	in.rejections, errs[6] = m.Int64Counter("tailor.resilience.rejections", metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused by a resilience mechanism: open breaker, full bulkhead, rate limit or load shedding."))
	in.retries, errs[7] = m.Int64Counter("tailor.retry.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts after the first, made by retries and hedges."))
	in.budgetRefused, errs[8] = m.Int64ObservableCounter("tailor.retry.budget.refused", metric.WithUnit("{attempt}"),
		metric.WithDescription("Retries and hedges a retry budget refused: the budget is exhausted."))
	in.instances, errs[9] = m.Int64ObservableGauge("tailor.discovery.instances", metric.WithUnit("{instance}"),
		metric.WithDescription("Instances of a service a client can call."))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Inject writes the trace context and baggage of ctx into carrier, for a
// message about to be sent: message headers, a map, or http.Header through
// [propagation.HeaderCarrier].
func (in *Telemetry) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	in.propagator.Inject(ctx, carrier)
}

// Extract returns ctx with the trace context and baggage found in carrier,
// for a message just received; start the consumer's span from it.
func (in *Telemetry) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return in.propagator.Extract(ctx, carrier)
}

// TracerProvider returns the provider the Telemetry was made with, for
// packages that make spans under a scope of their own (messaging, the
// outbox). It is a no-op provider when none was given.
func (in *Telemetry) TracerProvider() trace.TracerProvider { return in.tp }

// MeterProvider returns the provider the Telemetry was made with, for
// packages that make instruments under a scope of their own. It is a
// no-op provider when none was given.
func (in *Telemetry) MeterProvider() metric.MeterProvider { return in.mp }

// Propagator returns the propagator that reads and writes trace context
// on the wire.
func (in *Telemetry) Propagator() propagation.TextMapPropagator { return in.propagator }

// Logger returns the logger the Telemetry was made with; it discards
// every record when none was given.
func (in *Telemetry) Logger() *slog.Logger { return in.logger }

// Tracer returns the tracer the Telemetry makes its spans with, for
// spans of a service's own.
func (in *Telemetry) Tracer() trace.Tracer { return in.tracer }

// attrCache keeps the record options of each distinct attribute set, so a
// request records its metrics without allocating: attribute.NewSet sorts
// and copies, and a lone option passed to Record allocates its variadic
// slice, so both are made once per set.
type attrCache = cache[attrKey, []metric.RecordOption]

// attrKey is what varies between measurements of one instrument: every
// value its attribute set is built from.
type attrKey struct {
	kind    uint8  // which instrument family
	method  string // HTTP method
	route   string // route template or full gRPC method
	scheme  string // url.scheme of a server request
	host    string // server.address of a client call
	port    int    // server.port of a client call
	status  int    // HTTP status or gRPC code
	errType string // error.type of a client call
}

// recordOptions returns the options that record with the attributes of
// k, which build makes the first time. Callers must not change them.
func (in *Telemetry) recordOptions(k attrKey, build func() []attribute.KeyValue) []metric.RecordOption {
	if opts, ok := in.attrs.lookup(k); ok {
		return opts
	}
	return in.attrs.keep(k, []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(build()...))})
}

// cache keeps values that are costly to make per request (attribute sets,
// span names) by a key the callers bound (route templates, known methods,
// status codes); past maxCached keys values are made afresh each time
// rather than kept. Reads take no lock: the map is replaced, never
// changed, so the hot path is one atomic load and a lookup. Writers copy
// it under mu; they are rare once a service has seen its routes. The zero
// value is an empty cache; it is safe for concurrent use.
type cache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

const maxCached = 4096

// lookup returns the value kept for k.
func (c *cache[K, V]) lookup(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// keep keeps v for k, unless a value is kept already, and returns the
// value kept (v when the cache is full).
func (c *cache[K, V]) keep(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if kept, ok := old[k]; ok {
		return kept
	}
	if len(old) >= maxCached {
		return v
	}
	m := maps.Clone(old)
	if m == nil {
		m = map[K]V{}
	}
	m[k] = v
	c.m.Store(&m)
	return v
}

// knownMethod returns m when it is a standard HTTP method and "_OTHER"
// otherwise, as the semantic conventions ask, so a client cannot mint
// label values.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
