package messaging

import (
	"context"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
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

// Telemetry is where messaging reports: a "create" span where an event
// is written and a "process" span per delivery (from TracerProvider); the
// counters tailor.messaging.published, .publish.errors, .consumed,
// .redelivered and .dead_lettered and the outbox gauges
// tailor.messaging.outbox.lag and .pending (from MeterProvider); the trace
// context in message headers (Propagator); failures worth a look and the
// NATS client's connection events (Logger). *observability.Telemetry, the
// service's one telemetry, satisfies it; messaging declares the interface
// so that it does not compile what observability needs besides. A
// Telemetry that can also list background processes on the service's
// operations dashboard, as *observability.Telemetry can (TrackConsumer,
// TrackOutbox; see package
// [github.com/tailorkit/tailor/observability/status]), lists each running
// [Consumer] and outbox relay there, with its counts.
//
// A nil Telemetry, or a nil provider or logger, observes nothing and
// propagates W3C trace context and baggage.
type Telemetry interface {
	TracerProvider() trace.TracerProvider
	MeterProvider() metric.MeterProvider
	Propagator() propagation.TextMapPropagator
	Logger() *slog.Logger
}

func instruments(tel Telemetry) (*instrument.Set, error) {
	s, err := instrument.New(tel)
	if err != nil {
		return nil, fmt.Errorf("messaging: make the telemetry instruments: %w", err)
	}
	return s, nil
}

// Connect connects to the NATS server or cluster at url (see [EnvURL]) and
// keeps reconnecting for as long as the connection lives, so a broker
// restart costs a pause, not the service. The client's disconnections,
// reconnections and asynchronous errors go to tel's logger (see
// [ConnLogger]). Options are passed on to [nats.Connect] after tailor's
// own. Errors show url with its user information redacted.
func Connect(url string, tel Telemetry, opts ...nats.Option) (*nats.Conn, error) {
	var log *slog.Logger
	if tel != nil {
		log = tel.Logger()
	}
	base := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		ConnLogger(log),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("messaging: connect to NATS at %s: %w; is the server running (nats-server -js), and does %s name it?", RedactURL(url), err, EnvURL)
	}
	return nc, nil
}

// ConnLogger is a [nats.Option] that sends the client's connection events
// (disconnected, reconnected, closed with an error) and its asynchronous
// errors, such as a slow consumer, to log as structured records, instead
// of the lines the client otherwise writes to standard error. A nil log
// discards them. [Connect] applies it; pass it to
// embedded.Server.Connect too.
func ConnLogger(log *slog.Logger) nats.Option {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(o *nats.Options) error {
		o.AsyncErrorCB = func(nc *nats.Conn, sub *nats.Subscription, err error) {
			args := []any{"error", err.Error()}
			if sub != nil {
				args = append(args, "subject", sub.Subject)
			}
			log.Error("messaging: NATS client error", args...)
		}
		o.DisconnectedErrCB = func(nc *nats.Conn, err error) {
			if err == nil {
				return // a Close, not a failure
			}
			log.Warn("messaging: disconnected from NATS; reconnecting", "servers", serversOf(nc), "error", err.Error())
		}
		o.ReconnectedCB = func(nc *nats.Conn) {
			log.Info("messaging: reconnected to NATS", "server", serversOf(nc))
		}
		o.ClosedCB = func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Error("messaging: NATS connection closed for good", "servers", serversOf(nc), "error", err.Error())
			}
		}
		return nil
	}
}

// RedactURL returns url, or a comma-separated list of them, with the user
// information of each (user and password, or token) replaced by
// "redacted", for messages and logs. Unlike [nats.Conn.ConnectedUrlRedacted]
// it hides a token too. Text that does not parse as a URL loses whatever
// stands before its last '@'.
func RedactURL(url string) string {
	parts := strings.Split(url, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	u, err := neturl.Parse(s)
	if err == nil && u.User == nil {
		return s
	}
	if err == nil {
		u.User = neturl.User("redacted")
		return u.String()
	}
	// Not a URL: drop whatever stands before an '@' all the same.
	if at := strings.LastIndex(s, "@"); at >= 0 {
		scheme := ""
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			scheme = s[:i+3]
		}
		return scheme + "redacted@" + s[at+1:]
	}
	return s
}

// serversOf names the servers nc connects to, for messages: redacted
// URLs, or "the in-process server".
func serversOf(nc *nats.Conn) string {
	if nc.Opts.InProcessServer != nil {
		return "the in-process server"
	}
	if u := nc.ConnectedUrl(); u != "" {
		return RedactURL(u) // ConnectedUrlRedacted would show a token
	}
	if srv := nc.Servers(); len(srv) > 0 {
		return RedactURL(strings.Join(srv, ","))
	}
	return "the in-process server"
}

// Check returns a readiness check for a service (service.Service.AddCheck):
// it fails while nc is not connected, or when the server does not answer a
// round trip within ctx (or 5 seconds, when ctx has no deadline).
func Check(nc *nats.Conn) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("messaging: not connected to NATS (status %v; servers %s); the client reconnects by itself once a server is back", s, serversOf(nc))
		}
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("messaging: NATS at %s does not answer: %w", serversOf(nc), err)
		}
		return nil
	}
}

// StreamOption sets an optional property of a stream for [EnsureStream].
type StreamOption func(*jetstream.StreamConfig)

// WithMaxAge sets how long the stream keeps an event. Default 7 days.
func WithMaxAge(d time.Duration) StreamOption {
	return func(c *jetstream.StreamConfig) { c.MaxAge = d }
}

// WithDuplicates sets the window in which JetStream drops a message whose
// Nats-Msg-Id (the event id) it has seen. An outbox relay that crashed
// after publishing and before marking the rows sent publishes them again
// when it restarts; within this window that costs nothing. Default 2
// minutes.
func WithDuplicates(d time.Duration) StreamOption {
	return func(c *jetstream.StreamConfig) { c.Duplicates = d }
}

// WithReplicas sets the number of copies in a cluster. Default 1.
func WithReplicas(n int) StreamOption {
	return func(c *jetstream.StreamConfig) { c.Replicas = n }
}

// WithMemoryStorage keeps the stream in memory instead of files. Default:
// files, so events survive a broker restart.
func WithMemoryStorage() StreamOption {
	return func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }
}

// EnsureStream creates the stream name (letters, digits, '-' and '_',
// such as "CATALOG") holding subjects (such as "catalog.>"), or updates it
// when it exists, so that a service can call it at every start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name string, subjects []string, opts ...StreamOption) error {
	if name == "" || len(subjects) == 0 {
		return fmt.Errorf("messaging: stream %q needs a name and at least one subject", name)
	}
	sc := jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 2 * time.Minute,
		Replicas:   1,
		Storage:    jetstream.FileStorage,
	}
	for _, o := range opts {
		o(&sc)
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("messaging: create or update stream %s (subjects %v): %w; is JetStream enabled on the server (nats-server -js), and does no other stream hold these subjects?", name, subjects, err)
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

// NewPublisher returns a Publisher on js that reports to tel (nil:
// nowhere).
func NewPublisher(js jetstream.JetStream, tel Telemetry) (*Publisher, error) {
	ins, err := instruments(tel)
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
