// Package telemetry sets up OpenTelemetry for one service in one call,
// from the standard OTEL_* environment: a tracer provider that exports to
// OTLP when an endpoint is set, a meter provider whose metrics are served
// in Prometheus format (and pushed over OTLP when an endpoint is set), and
// a resource naming the service, its version and its instance.
//
// Start with [New]; hand its providers to
// [github.com/tailorkit/tailor/observability.New], and call
// [Providers.Shutdown] on the way out so the last spans are flushed.
// Package [github.com/tailorkit/tailor/service] does all of this for every
// service. New sets no global provider: pass the providers where they are
// needed, or set them globally yourself with otel.SetTracerProvider if a
// library wants them there.
//
// # Environment
//
//	OTEL_SDK_DISABLED                 true: no spans and no metrics (/metrics serves an empty registry)
//	OTEL_SERVICE_NAME                 service.name; beats OTEL_RESOURCE_ATTRIBUTES and Config.ServiceName
//	OTEL_RESOURCE_ATTRIBUTES          key=value,... added to the resource (values URL-decoded)
//	OTEL_EXPORTER_OTLP_ENDPOINT       base URL of an OTLP receiver, such as http://127.0.0.1:4318; unset: no OTLP export
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
//	                                  full URL per signal; beats the base URL
//	OTEL_EXPORTER_OTLP_PROTOCOL       http/protobuf (default) or grpc; also _TRACES_PROTOCOL, _METRICS_PROTOCOL
//	OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE and the per-signal forms
//	                                  read by the OTLP exporters themselves
//	OTEL_TRACES_EXPORTER              otlp (default when an endpoint is set), console (stdout) or none
//	OTEL_METRICS_EXPORTER             otlp (default when an endpoint is set) or none; /metrics is always served
//	OTEL_METRIC_EXPORT_INTERVAL       milliseconds between OTLP metric pushes; default 60000
//	OTEL_TRACES_SAMPLER               always_on, always_off, traceidratio, parentbased_always_on,
//	                                  parentbased_always_off, parentbased_traceidratio (default)
//	OTEL_TRACES_SAMPLER_ARG           the ratio for the traceidratio samplers; default 0.01 (1%)
//	OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_EXPORT_TIMEOUT
//	                                  the batch span processor; defaults below
//
// # Batching, and tail latency
//
// Spans are exported by a batch span processor whose defaults differ from
// the SDK's, because the SDK's cost tail latency under load; see [Batch]
// for the settings and the reason.
//
// Recommended settings, measured with service's TestLoad (2 cores, client
// and server in one process, spans sent to an OTLP/HTTP receiver on
// loopback, medians of 7 rounds of 4 s in rotating order:
// TAILOR_LOAD=4 TAILOR_LOAD_ROUNDS=7 go test ./service -run TestLoad -v):
//
//   - Production: the defaults. 1% of new traces sampled, tailor's batch
//     settings. Unsampled requests cost a span context and no export: the
//     default stack (tracing at 1%, metrics, logs at info without the
//     access log) served 0.97-1.00 of raw net/http's requests per second
//     in two such runs, the same as with tracing off (0.97-0.99).
//   - Every request traced (OTEL_TRACES_SAMPLER=always_on): keep tailor's
//     batch settings. Larger batches make larger bursts: with the SDK's
//     512-span batches p99 was 1.26-1.47 times that of tracing off, with
//     tailor's 128-span batches 1.07-1.26 times. Expect about 19% fewer
//     requests per second on a saturated small machine, most of it the
//     OTLP exporter's marshalling and sending. Shorter runs (5 rounds of
//     2 s) scatter p99 from 0.8 to 1.8 times that of tracing off: the p99
//     of a saturated 2-core machine moves that much between short runs.
//   - No OTLP endpoint set: spans are sampled but nothing is queued or
//     exported, so tracing at any ratio costs next to nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// DefaultSampleRatio is the share of new traces sampled when
// OTEL_TRACES_SAMPLER_ARG does not say: 1%. Traces started upstream keep
// their caller's decision.
const DefaultSampleRatio = 0.01

// Defaults of the batch span processor, unless [Config.Batch] or the
// OTEL_BSP_* variables say otherwise. They differ from the SDK's (512-span
// batches, 5 s delay, 2048-span queue, 30 s timeout), which cost tail
// latency under load; see [Batch].
const (
	DefaultBatchDelay    = 200 * time.Millisecond
	DefaultMaxBatch      = 128
	DefaultMaxQueue      = 4096
	DefaultExportTimeout = 10 * time.Second
)

// Batch configures the batch span processor. The zero value is tailor's
// defaults.
//
// Why not the SDK's: with 512-span batches every export is a burst. At a
// few thousand requests a second a batch fills every few milliseconds to
// a few hundred, and the export goroutine then marshals and sends it in
// one go, holding a core for milliseconds and allocating a request body of
// hundreds of KiB, while the 2048-span queue keeps finished spans (a few
// KiB each with their attributes) alive on the heap. On a small machine
// requests wait behind that burst, and the collections its allocations
// bring forward charge mark assists to request goroutines: those are the
// export stalls that lift p99 with tracing at 100%. Smaller batches spread
// the same work evenly and keep the heap small; a larger queue absorbs
// bursts without dropping; a shorter export timeout keeps a slow receiver
// from holding spans for long. Spans are never waited for: a full queue
// drops them.
type Batch struct {
	// Delay is the longest a span waits before it is exported
	// (OTEL_BSP_SCHEDULE_DELAY, milliseconds). Default [DefaultBatchDelay].
	Delay time.Duration
	// MaxBatch is the most spans in one export
	// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE); a full batch is exported at once.
	// Default [DefaultMaxBatch].
	MaxBatch int
	// MaxQueue is the most spans waiting (OTEL_BSP_MAX_QUEUE_SIZE); more
	// are dropped. Default [DefaultMaxQueue].
	MaxQueue int
	// Timeout bounds one export (OTEL_BSP_EXPORT_TIMEOUT, milliseconds).
	// Default [DefaultExportTimeout].
	Timeout time.Duration
}

// Config configures [New]. The zero value reads the process environment
// and exports nothing unless it names an OTLP endpoint: every field's
// default is in its doc.
type Config struct {
	// ServiceName is service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES sets it. Default "unknown_service" plus the
	// executable's name, as the OTel specification says.
	ServiceName string
	// ServiceVersion is service.version. Default: the main module's
	// version from the build information, when it has one.
	ServiceVersion string
	// InstanceID is service.instance.id. Default: a random UUID per
	// process.
	InstanceID string
	// LookupEnv reads the environment. Default [os.LookupEnv].
	LookupEnv func(string) (string, bool)
	// SpanExporter, when set, receives the spans instead of the exporter
	// the environment names (tests pass an in-memory exporter). It is
	// batched like any other.
	SpanExporter sdktrace.SpanExporter
	// Batch configures the batch span processor; OTEL_BSP_* variables
	// beat it. The zero value is tailor's defaults (see [Batch]).
	Batch Batch
}

// Providers are a service's OpenTelemetry providers. Build them with
// [New]. They are safe for concurrent use.
type Providers struct {
	tracer   *sdktrace.TracerProvider // nil when disabled
	meter    *sdkmetric.MeterProvider // nil when disabled
	registry *prometheus.Registry
	res      *resource.Resource
	metrics  http.Handler
}

// New builds the providers that cfg and the environment describe. An
// environment value it cannot use is an error that names the variable and
// says what it takes. New starts no goroutine that outlives
// [Providers.Shutdown].
func New(ctx context.Context, cfg Config) (*Providers, error) {
	env := cfg.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	get := func(k string) string {
		v, _ := env(k)
		return strings.TrimSpace(v)
	}
	p := &Providers{registry: prometheus.NewRegistry()}
	p.metrics = promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{})
	if disabled, _ := strconv.ParseBool(get("OTEL_SDK_DISABLED")); disabled {
		return p, nil
	}

	res, err := buildResource(ctx, cfg, get)
	if err != nil {
		return nil, err
	}
	p.res = res

	sampler, err := samplerFromEnv(get)
	if err != nil {
		return nil, err
	}
	exporter := cfg.SpanExporter
	if exporter == nil {
		if exporter, err = spanExporterFromEnv(ctx, get); err != nil {
			return nil, err
		}
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	if exporter != nil {
		b, err := batchFromEnv(cfg.Batch, get)
		if err != nil {
			return nil, err
		}
		topts = append(topts, sdktrace.WithBatcher(exporter,
			sdktrace.WithBatchTimeout(b.Delay), sdktrace.WithMaxExportBatchSize(b.MaxBatch),
			sdktrace.WithMaxQueueSize(b.MaxQueue), sdktrace.WithExportTimeout(b.Timeout)))
	}
	p.tracer = sdktrace.NewTracerProvider(topts...)

	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExporter, err := otelprom.New(otelprom.WithRegisterer(p.registry))
	if err != nil {
		_ = p.tracer.Shutdown(ctx)
		return nil, fmt.Errorf("telemetry: cannot make the Prometheus exporter: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExporter)}
	reader, err := metricReaderFromEnv(ctx, get)
	if err != nil {
		_ = p.tracer.Shutdown(ctx)
		return nil, err
	}
	if reader != nil {
		mopts = append(mopts, sdkmetric.WithReader(reader))
	}
	p.meter = sdkmetric.NewMeterProvider(mopts...)
	return p, nil
}

// TracerProvider returns the tracer provider; a no-op one when
// OTEL_SDK_DISABLED is true.
func (p *Providers) TracerProvider() trace.TracerProvider {
	if p.tracer == nil {
		return tracenoop.NewTracerProvider()
	}
	return p.tracer
}

// MeterProvider returns the meter provider; a no-op one when
// OTEL_SDK_DISABLED is true.
func (p *Providers) MeterProvider() metric.MeterProvider {
	if p.meter == nil {
		return metricnoop.NewMeterProvider()
	}
	return p.meter
}

// MetricsHandler serves the metrics in the Prometheus exposition format,
// with the Go runtime's and the process's own; mount it at GET /metrics.
func (p *Providers) MetricsHandler() http.Handler { return p.metrics }

// Resource returns the resource that describes the service, or nil when
// disabled.
func (p *Providers) Resource() *resource.Resource { return p.res }

// ForceFlush exports every finished span and pushes the metrics now,
// waiting until done or until ctx ends.
func (p *Providers) ForceFlush(ctx context.Context) error {
	var errs []error
	if p.tracer != nil {
		errs = append(errs, p.tracer.ForceFlush(ctx))
	}
	if p.meter != nil {
		errs = append(errs, p.meter.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes what is left and stops the providers; spans started
// afterwards are dropped. It waits until done or until ctx ends.
func (p *Providers) Shutdown(ctx context.Context) error {
	var errs []error
	if p.tracer != nil {
		if err := p.tracer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: flush spans: %w", err))
		}
	}
	if p.meter != nil {
		if err := p.meter.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: flush metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}

func buildResource(ctx context.Context, cfg Config, get func(string) string) (*resource.Resource, error) {
	attrs := map[string]string{}
	if ra := get("OTEL_RESOURCE_ATTRIBUTES"); ra != "" {
		for _, kv := range strings.Split(ra, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES=%q has %q, which is not key=value; use a form like deployment.environment=prod,team=shop", ra, kv)
			}
			dv, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES=%q has a badly escaped value in %q; percent-encode commas and equals signs", ra, kv)
			}
			attrs[k] = dv
		}
	}
	name := get("OTEL_SERVICE_NAME")
	if name == "" {
		name = attrs["service.name"]
	}
	if name == "" {
		name = cfg.ServiceName
	}
	if name == "" {
		name = "unknown_service:" + exeName()
	}
	attrs["service.name"] = name
	if _, ok := attrs["service.version"]; !ok {
		v := cfg.ServiceVersion
		if v == "" {
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
		}
		if v != "" {
			attrs["service.version"] = v
		}
	}
	if _, ok := attrs["service.instance.id"]; !ok {
		id := cfg.InstanceID
		if id == "" {
			id = uuid.NewString()
		}
		attrs["service.instance.id"] = id
	}
	kvs := make([]attribute.KeyValue, 0, len(attrs))
	for k, v := range attrs {
		kvs = append(kvs, attribute.String(k, v))
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID(),
		resource.WithProcessRuntimeName(), resource.WithProcessRuntimeVersion(), resource.WithAttributes(kvs...))
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: cannot describe the service: %w", err)
	}
	return res, nil // a partial resource (some detector failed) is still useful
}

func exeName() string {
	if len(os.Args) > 0 {
		s := os.Args[0]
		if i := strings.LastIndexAny(s, `/\`); i >= 0 {
			s = s[i+1:]
		}
		return s
	}
	return "go"
}

func samplerFromEnv(get func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(get("OTEL_TRACES_SAMPLER"))
	arg := get("OTEL_TRACES_SAMPLER_ARG")
	ratio := DefaultSampleRatio
	if arg != "" && (name == "" || strings.HasSuffix(name, "traceidratio")) {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER_ARG=%q is not a ratio; use a number from 0 to 1, such as 0.01 for 1%%", arg)
		}
		ratio = r
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "", "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER=%q is not a sampler tailor knows; use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}

// otlpTarget returns the URL and protocol of the OTLP receiver for a
// signal ("traces", "metrics"), or "" when none is set.
func otlpTarget(get func(string) string, signal string) (endpoint, protocol string, err error) {
	up := strings.ToUpper(signal)
	protocolVar := "OTEL_EXPORTER_OTLP_" + up + "_PROTOCOL"
	protocol = get(protocolVar)
	if protocol == "" {
		protocolVar = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = get(protocolVar)
	}
	switch protocol {
	case "":
		protocol = "http/protobuf"
	case "http/protobuf", "grpc":
	default:
		return "", "", fmt.Errorf("telemetry: %s=%q is not an OTLP protocol tailor supports; use http/protobuf or grpc", protocolVar, protocol)
	}
	endpoint = get("OTEL_EXPORTER_OTLP_" + up + "_ENDPOINT")
	if endpoint == "" {
		if base := get("OTEL_EXPORTER_OTLP_ENDPOINT"); base != "" {
			endpoint = base
			if protocol == "http/protobuf" {
				endpoint = strings.TrimSuffix(base, "/") + "/v1/" + signal
			}
		}
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", "", fmt.Errorf("telemetry: OTLP endpoint %q is not an http:// or https:// URL; use a form like http://127.0.0.1:4318", endpoint)
		}
	}
	return endpoint, protocol, nil
}

func spanExporterFromEnv(ctx context.Context, get func(string) string) (sdktrace.SpanExporter, error) {
	kind := strings.ToLower(get("OTEL_TRACES_EXPORTER"))
	switch kind {
	case "none":
		return nil, nil
	case "console":
		return stdouttrace.New()
	case "", "otlp":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q is not supported; use otlp, console or none", kind)
	}
	endpoint, protocol, err := otlpTarget(get, "traces")
	if err != nil || endpoint == "" {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot make the OTLP span exporter for %s: %w", endpoint, err)
	}
	return exp, nil
}

func metricReaderFromEnv(ctx context.Context, get func(string) string) (sdkmetric.Reader, error) {
	kind := strings.ToLower(get("OTEL_METRICS_EXPORTER"))
	switch kind {
	case "none", "prometheus":
		return nil, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_METRICS_EXPORTER=%q is not supported; use otlp or none (Prometheus /metrics is always served)", kind)
	}
	endpoint, protocol, err := otlpTarget(get, "metrics")
	if err != nil || endpoint == "" {
		return nil, err
	}
	var exp sdkmetric.Exporter
	if protocol == "grpc" {
		exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(endpoint))
	} else {
		exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(endpoint))
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot make the OTLP metric exporter for %s: %w", endpoint, err)
	}
	var opts []sdkmetric.PeriodicReaderOption
	if v := get("OTEL_METRIC_EXPORT_INTERVAL"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("telemetry: OTEL_METRIC_EXPORT_INTERVAL=%q is not a positive number of milliseconds", v)
		}
		opts = append(opts, sdkmetric.WithInterval(time.Duration(ms)*time.Millisecond))
	}
	return sdkmetric.NewPeriodicReader(exp, opts...), nil
}

func batchFromEnv(b Batch, get func(string) string) (Batch, error) {
	d := Batch{Delay: DefaultBatchDelay, MaxBatch: DefaultMaxBatch, MaxQueue: DefaultMaxQueue, Timeout: DefaultExportTimeout}
	if b.Delay > 0 {
		d.Delay = b.Delay
	}
	if b.MaxBatch > 0 {
		d.MaxBatch = b.MaxBatch
	}
	if b.MaxQueue > 0 {
		d.MaxQueue = b.MaxQueue
	}
	if b.Timeout > 0 {
		d.Timeout = b.Timeout
	}
	for _, f := range []struct {
		env string
		dur *time.Duration // milliseconds, when set
		n   *int
	}{
		{"OTEL_BSP_SCHEDULE_DELAY", &d.Delay, nil},
		{"OTEL_BSP_EXPORT_TIMEOUT", &d.Timeout, nil},
		{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", nil, &d.MaxBatch},
		{"OTEL_BSP_MAX_QUEUE_SIZE", nil, &d.MaxQueue},
	} {
		v := get(f.env)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return d, fmt.Errorf("telemetry: %s=%q is not a positive whole number", f.env, v)
		}
		if f.dur != nil {
			*f.dur = time.Duration(n) * time.Millisecond
		} else {
			*f.n = n
		}
	}
	if d.MaxBatch > d.MaxQueue {
		d.MaxBatch = d.MaxQueue
	}
	return d, nil
}
