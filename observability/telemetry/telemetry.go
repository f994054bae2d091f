// Package telemetry sets up OpenTelemetry for one service in one call,
// from the standard OTEL_* environment: a tracer provider that exports to
// OTLP when an endpoint is set, a meter provider whose metrics are served
// in Prometheus format (and pushed over OTLP when an endpoint is set), and
// a resource naming the service, its version and its instance.
//
// Start with [New], once, in main, and hand the [Providers] to
// [github.com/tailorkit/tailor/service.WithTelemetry]: the service
// instruments its requests with them, serves GET /metrics from them and
// shuts them down (flushing the last spans) at the end of its Run. Outside
// a service, hand the providers to
// [github.com/tailorkit/tailor/observability.New] and call
// [Providers.Shutdown] on the way out. New sets no global provider: pass
// the providers where they are needed, or set them globally yourself with
// otel.SetTracerProvider if a library wants them there. Only
// [Config.Logger] touches process-wide state: see its doc.
//
// This package links the OTLP exporters (HTTP and gRPC), the console
// exporter and the Prometheus client; a program that never calls New does
// not link them.
//
// # Environment
//
// The OpenTelemetry SDK and its exporters read the environment
// themselves; New adds tailor's defaults where a variable is unset and
// chooses the exporters.
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
//	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
//	                                  the sampler, as the specification names them; unset: parent-based,
//	                                  1% of new traces ([DefaultSampleRatio]). When OTEL_TRACES_SAMPLER is
//	                                  unset, OTEL_TRACES_SAMPLER_ARG is not read: set both to pick a ratio.
//	OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_EXPORT_TIMEOUT
//	                                  the batch span processor; each one unset takes tailor's default (see [Batch])
//
// An endpoint that carries a user and password (http://user:secret@host)
// appears in errors and logs with the password redacted.
//
// # Batching, and tail latency
//
// Spans are exported by a batch span processor whose defaults differ from
// the SDK's: smaller batches sent sooner, so each export is a small burst
// of work rather than a large one that requests queue behind; see [Batch]
// for the settings.
// Spans are never waited for: a request does not block on export, and a
// full queue drops spans rather than slowing the service.
//
// Recommended settings:
//
//   - Production: the defaults. 1% of new traces sampled, tailor's batch
//     settings. An unsampled request makes a span context and exports
//     nothing.
//   - Every request traced (OTEL_TRACES_SAMPLER=always_on): keep tailor's
//     batch settings; larger batches make larger export bursts, which
//     show in tail latency. Every span is then marshalled and sent, which
//     costs throughput on a saturated machine.
//   - No OTLP endpoint set: spans are sampled but nothing is queued or
//     exported.
//
// What each setting costs, and how to measure it again (service's
// TestLoad), is in this package's README.md.
//
// # Recent spans
//
// The tracer provider also keeps the last spans it recorded, up to 512,
// the failed and slowest traces first to stay, in a
// [spanbuffer.Buffer] ([Providers.Spans]); a service's operations
// dashboard serves them. By default these are the sampled spans only: a
// span the sampler drops is never recorded, so 1% of new traces show.
// [Config.RecordUnsampled] records the others too, for the buffer alone
// (they are still not exported), at a price every request pays: in
// BenchmarkRecentSpans, a request through two services took about a
// third more CPU, 17 more allocations and 5.1 KB more garbage (figures
// in README.md). Turn it on
// where the dashboard should see every request, or set
// OTEL_TRACES_SAMPLER=always_on where every request should be exported
// as well.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"go.opentelemetry.io/otel"
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

	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
)

// DefaultSampleRatio is the share of new traces sampled when
// OTEL_TRACES_SAMPLER is unset: 1%. Traces started upstream keep their
// caller's decision.
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
// Why not the SDK's: its 512-span batches make every export a burst that
// holds a core and allocates in one go, and on a small machine requests
// wait behind it. Smaller batches spread the same work evenly and keep the
// heap small; a larger queue absorbs bursts without dropping; a shorter
// export timeout keeps a slow receiver from holding spans for long. Spans
// are never waited for: a full queue drops them. README.md in this
// package's folder has the measurements.
//
// Each OTEL_BSP_* variable that is set beats its field: the SDK reads it.
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
	// OTEL_RESOURCE_ATTRIBUTES sets it. Default "unknown_service:" plus
	// the executable's name, as the OTel specification says.
	ServiceName string
	// ServiceVersion is service.version. Default: the main module's
	// version from the build information, when it has one.
	ServiceVersion string
	// InstanceID is service.instance.id. Default: a random UUID per
	// process.
	InstanceID string
	// SpanExporter, when set, receives the spans instead of the exporter
	// the environment names (tests pass an in-memory exporter). It is
	// batched like any other.
	SpanExporter sdktrace.SpanExporter
	// Sampler, when set, decides which traces are sampled, whatever
	// OTEL_TRACES_SAMPLER says. Default: the sampler OTEL_TRACES_SAMPLER
	// names, or parent-based [DefaultSampleRatio] when it is unset.
	Sampler sdktrace.Sampler
	// Batch configures the batch span processor; OTEL_BSP_* variables
	// beat it. The zero value is tailor's defaults (see [Batch]).
	Batch Batch
	// RecentSpans is how many recent spans [Providers.Spans] keeps for
	// the operations dashboard. Default [spanbuffer.DefaultCapacity];
	// negative: no buffer.
	RecentSpans int
	// RecordUnsampled makes the traces the sampler drops recorded all the
	// same, so that [Providers.Spans] keeps them too; they are still not
	// exported. It wraps Config.Sampler or tailor's default with
	// [spanbuffer.RecordUnsampled], and is ignored when OTEL_TRACES_SAMPLER
	// picks the sampler. Default false: only sampled spans are kept.
	RecordUnsampled bool
	// Logger, when set, receives the errors the OpenTelemetry SDK and its
	// exporters report while running (a receiver that cannot be reached,
	// a dropped batch), at level Error, instead of the SDK's default of
	// unstructured lines on standard error. The SDK has one error handler
	// per process (otel.SetErrorHandler), so New sets it: build the
	// telemetry once, in main. Default: nil, the handler is left alone.
	Logger *slog.Logger
}

// Providers are a service's OpenTelemetry providers. Build them with
// [New]; the zero value is not usable. They are safe for concurrent use.
type Providers struct {
	tracer   *sdktrace.TracerProvider // nil when disabled
	meter    *sdkmetric.MeterProvider // nil when disabled
	registry *prometheus.Registry
	res      *resource.Resource
	metrics  http.Handler
	spans    *spanbuffer.Buffer // nil when none
}

// New builds the providers that cfg and the environment describe. An
// environment value it cannot use is an error that names the variable and
// says what it takes. New starts no goroutine that outlives
// [Providers.Shutdown].
func New(ctx context.Context, cfg Config) (*Providers, error) {
	if cfg.Logger != nil {
		otel.SetErrorHandler(errorLogger{cfg.Logger})
	}
	p := &Providers{registry: prometheus.NewRegistry()}
	p.metrics = promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{})
	if disabled, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); disabled {
		return p, nil
	}

	res, err := buildResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.res = res

	exporter := cfg.SpanExporter
	if exporter == nil {
		if exporter, err = spanExporterFromEnv(ctx); err != nil {
			return nil, err
		}
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	sampler := cfg.Sampler
	if sampler == nil && getenv("OTEL_TRACES_SAMPLER") == "" {
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(DefaultSampleRatio))
	}
	if sampler != nil {
		if cfg.RecordUnsampled {
			sampler = spanbuffer.RecordUnsampled(sampler)
		}
		topts = append(topts, sdktrace.WithSampler(sampler))
	}
	if exporter != nil {
		topts = append(topts, sdktrace.WithBatcher(exporter, batchOptions(cfg.Batch)...))
	}
	if cfg.RecentSpans >= 0 {
		p.spans = spanbuffer.New(cfg.RecentSpans)
		topts = append(topts, sdktrace.WithSpanProcessor(p.spans))
	}
	p.tracer = sdktrace.NewTracerProvider(topts...)

	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExporter, err := otelprom.New(otelprom.WithRegisterer(p.registry))
	if err != nil {
		_ = p.tracer.Shutdown(ctx)
		return nil, fmt.Errorf("telemetry: cannot make the Prometheus exporter: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExporter)}
	reader, err := metricReaderFromEnv(ctx)
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

// Spans returns the buffer of recent spans that the operations dashboard
// shows (see [Config.RecentSpans]), or nil when there is none or
// OTEL_SDK_DISABLED is true.
func (p *Providers) Spans() *spanbuffer.Buffer { return p.spans }

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

// errorLogger is the SDK's error handler that logs through a slog.Logger.
type errorLogger struct{ log *slog.Logger }

func (h errorLogger) Handle(err error) {
	h.log.Error("telemetry: OpenTelemetry reported an error; check the OTLP receiver and the OTEL_* settings", "error", err.Error())
}

func getenv(k string) string { return strings.TrimSpace(os.Getenv(k)) }

// buildResource describes the service: cfg's values, the SDK, host and
// process, and over them what the environment says
// (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, read by the SDK).
func buildResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = "unknown_service:" + exeName()
	}
	kvs := []attribute.KeyValue{attribute.String("service.name", name)}
	v := cfg.ServiceVersion
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if v != "" {
		kvs = append(kvs, attribute.String("service.version", v))
	}
	id := cfg.InstanceID
	if id == "" {
		id = uuid.NewString()
	}
	kvs = append(kvs, attribute.String("service.instance.id", id))
	fromEnv, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES=%q is not usable; use key=value pairs separated by commas, with commas and equals signs in values percent-encoded: %w",
			os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(kvs...), resource.WithTelemetrySDK(),
		resource.WithHost(), resource.WithProcessPID(), resource.WithProcessRuntimeName(), resource.WithProcessRuntimeVersion())
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: cannot describe the service: %w", err)
	}
	// A partial resource (a host detector failed) is still useful.
	merged, err := resource.Merge(res, fromEnv)
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot describe the service: %w", err)
	}
	return merged, nil
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

// batchOptions are cfg's batch settings, or tailor's defaults, for every
// setting whose OTEL_BSP_* variable is unset; the SDK reads the ones set.
func batchOptions(b Batch) []sdktrace.BatchSpanProcessorOption {
	var opts []sdktrace.BatchSpanProcessorOption
	if getenv("OTEL_BSP_SCHEDULE_DELAY") == "" {
		opts = append(opts, sdktrace.WithBatchTimeout(positiveOr(b.Delay, DefaultBatchDelay)))
	}
	if getenv("OTEL_BSP_EXPORT_TIMEOUT") == "" {
		opts = append(opts, sdktrace.WithExportTimeout(positiveOr(b.Timeout, DefaultExportTimeout)))
	}
	if getenv("OTEL_BSP_MAX_QUEUE_SIZE") == "" {
		opts = append(opts, sdktrace.WithMaxQueueSize(positiveOr(b.MaxQueue, DefaultMaxQueue)))
	}
	if getenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") == "" {
		opts = append(opts, sdktrace.WithMaxExportBatchSize(positiveOr(b.MaxBatch, DefaultMaxBatch)))
	}
	return opts
}

// positiveOr returns v when it is positive, and def otherwise.
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// otlpTarget returns the endpoint variable set for a signal ("traces",
// "metrics") and the protocol to speak, or "" when no endpoint is set.
// The exporters read the endpoint themselves; this only decides whether
// to make one, and which.
func otlpTarget(signal string) (endpointVar, protocol string, err error) {
	up := strings.ToUpper(signal)
	protocolVar := "OTEL_EXPORTER_OTLP_" + up + "_PROTOCOL"
	protocol = getenv(protocolVar)
	if protocol == "" {
		protocolVar = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = getenv(protocolVar)
	}
	switch protocol {
	case "":
		protocol = "http/protobuf"
	case "http/protobuf", "grpc":
	default:
		return "", "", fmt.Errorf("telemetry: %s=%q is not an OTLP protocol tailor supports; use http/protobuf or grpc", protocolVar, protocol)
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_" + up + "_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		endpoint := getenv(v)
		if endpoint == "" {
			continue
		}
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", "", fmt.Errorf("telemetry: %s=%q is not an http:// or https:// URL; use a form like http://127.0.0.1:4318", v, redact(endpoint))
		}
		return v, protocol, nil
	}
	return "", protocol, nil
}

// redact returns endpoint with the password of its user information
// replaced by "xxxxx", for errors and logs; when endpoint is not a URL
// with a host, everything up to its last '@' is cut away.
func redact(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.User != nil && u.Host != "" {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(endpoint, '@'); i >= 0 {
		return "xxxxx@" + endpoint[i+1:]
	}
	return endpoint
}

func spanExporterFromEnv(ctx context.Context) (sdktrace.SpanExporter, error) {
	kind := strings.ToLower(getenv("OTEL_TRACES_EXPORTER"))
	switch kind {
	case "none":
		return nil, nil
	case "console":
		return stdouttrace.New()
	case "", "otlp":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q is not supported; use otlp, console or none", kind)
	}
	endpointVar, protocol, err := otlpTarget("traces")
	if err != nil || endpointVar == "" {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot make the OTLP span exporter for %s=%s: %w", endpointVar, redact(getenv(endpointVar)), err)
	}
	return exp, nil
}

func metricReaderFromEnv(ctx context.Context) (sdkmetric.Reader, error) {
	kind := strings.ToLower(getenv("OTEL_METRICS_EXPORTER"))
	switch kind {
	case "none", "prometheus":
		return nil, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_METRICS_EXPORTER=%q is not supported; use otlp or none (Prometheus /metrics is always served)", kind)
	}
	endpointVar, protocol, err := otlpTarget("metrics")
	if err != nil || endpointVar == "" {
		return nil, err
	}
	var exp sdkmetric.Exporter
	if protocol == "grpc" {
		exp, err = otlpmetricgrpc.New(ctx)
	} else {
		exp, err = otlpmetrichttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot make the OTLP metric exporter for %s=%s: %w", endpointVar, redact(getenv(endpointVar)), err)
	}
	return sdkmetric.NewPeriodicReader(exp), nil
}
