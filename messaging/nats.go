package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/messaging/internal/instrument"
)

// EnvURL is the environment variable that names an external NATS server
// or cluster, such as nats://127.0.0.1:4222 (a comma-separated list for a
// cluster). When it is unset, services run an embedded server (package
// [github.com/tailorkit/tailor/messaging/embedded]).
const EnvURL = "NATS_URL"

// Telemetry says where messaging reports its spans, metrics and logs. The
// zero value reports nothing and propagates W3C trace context.
type Telemetry struct {
	// TracerProvider makes the spans: a "create" span where an event is
	// written, a "process" span per delivery. Default: none.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the counters (tailor.messaging.published,
	// .consumed, .redelivered, .dead_lettered) and the outbox gauges
	// (tailor.messaging.outbox.lag, .pending). Default: none.
	MeterProvider metric.MeterProvider
	// Propagator writes and reads the trace context in message headers.
	// Default: W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
	// Logger gets failures worth a look: a publish or an ack that failed,
	// an event sent to the dead-letter subject. Default: none.
	Logger *slog.Logger
}

func (t Telemetry) instruments() (*instrument.Set, error) {
	s, err := instrument.New(t.TracerProvider, t.MeterProvider, t.Propagator, t.Logger)
	if err != nil {
		return nil, fmt.Errorf("messaging: make the telemetry instruments: %w", err)
	}
	return s, nil
}

// Connect connects to the NATS server or cluster at url (see [EnvURL]) and
// keeps reconnecting for as long as the connection lives, so a broker
// restart costs a pause, not the service. Options are passed on to
// [nats.Connect] after tailor's own.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("messaging: connect to NATS at %s: %w; is the server running (nats-server -js), and does %s name it?", url, err, EnvURL)
	}
	return nc, nil
}

// Check returns a readiness check for a service (service.Service.AddCheck):
// it fails while nc is not connected, or when the server does not answer a
// round trip within ctx (or 5 seconds, when ctx has no deadline).
func Check(nc *nats.Conn) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("messaging: not connected to NATS at %s (status %v); the client reconnects by itself once the server is back", nc.ConnectedUrlRedacted(), s)
		}
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("messaging: NATS at %s does not answer: %w", nc.ConnectedUrlRedacted(), err)
		}
		return nil
	}
}

// StreamConfig describes a JetStream stream of events. Name and Subjects
// are required; every other field's zero value has the default in its doc.
type StreamConfig struct {
	// Name of the stream, such as "CATALOG": letters, digits, '-' and '_'.
	Name string
	// Subjects the stream stores, such as "catalog.>".
	Subjects []string
	// MaxAge is how long the stream keeps an event. Default 7 days.
	MaxAge time.Duration
	// Duplicates is the window in which JetStream drops a message whose
	// Nats-Msg-Id (the event id) it has seen. An outbox relay that crashed
	// after publishing and before marking the rows sent publishes them
	// again when it restarts; within this window that costs nothing.
	// Default 2 minutes.
	Duplicates time.Duration
	// Replicas is the number of copies in a cluster. Default 1.
	Replicas int
	// Memory keeps the stream in memory instead of files. Default false:
	// events survive a broker restart.
	Memory bool
}

// EnsureStream creates the stream, or updates it to cfg when it exists,
// so that a service can call it at every start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) error {
	if cfg.Name == "" || len(cfg.Subjects) == 0 {
		return fmt.Errorf("messaging: stream %q needs a Name and at least one subject in StreamConfig", cfg.Name)
	}
	sc := jetstream.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		MaxAge:     cfg.MaxAge,
		Duplicates: cfg.Duplicates,
		Replicas:   max(cfg.Replicas, 1),
		Storage:    jetstream.FileStorage,
	}
	if sc.MaxAge <= 0 {
		sc.MaxAge = 7 * 24 * time.Hour
	}
	if sc.Duplicates <= 0 {
		sc.Duplicates = 2 * time.Minute
	}
	if cfg.Memory {
		sc.Storage = jetstream.MemoryStorage
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("messaging: create or update stream %s (subjects %v): %w; is JetStream enabled on the server (nats-server -js), and does no other stream hold these subjects?", cfg.Name, cfg.Subjects, err)
	}
	return nil
}

// Publisher publishes events straight to JetStream, without an outbox: for
// events that need not be atomic with a database write. Services that
// change state and announce it use package
// [github.com/tailorkit/tailor/messaging/outbox] instead. A Publisher is
// safe for concurrent use.
type Publisher struct {
	js  jetstream.JetStream
	ins *instrument.Set
}

// NewPublisher returns a Publisher on js.
func NewPublisher(js jetstream.JetStream, tel Telemetry) (*Publisher, error) {
	ins, err := tel.instruments()
	if err != nil {
		return nil, err
	}
	return &Publisher{js: js, ins: ins}, nil
}

// Publish publishes e to subject and waits for JetStream to store it. The
// trace context of ctx travels in the headers, and e.ID is the
// Nats-Msg-Id, so publishing the same event twice within the stream's
// Duplicates window stores it once.
func (p *Publisher) Publish(ctx context.Context, subject string, e Event) error {
	body, err := e.Encode()
	if err != nil {
		return err
	}
	ctx, span := p.ins.Tracer.Start(ctx, subject+" send", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", subject), attribute.String("messaging.message.id", e.ID)))
	defer span.End()
	msg := nats.NewMsg(subject)
	msg.Data = body
	p.ins.Propagator.Inject(ctx, instrument.Header(msg.Header))
	attr := metric.WithAttributes(attribute.String("messaging.destination.name", subject))
	if _, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(e.ID)); err != nil {
		p.ins.PublishErrors.Add(ctx, 1, attr)
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("messaging: publish %s %s to %s: %w; is a stream holding subject %s, and is NATS up?", e.Type, e.ID, subject, err, subject)
	}
	p.ins.Published.Add(ctx, 1, attr)
	return nil
}
