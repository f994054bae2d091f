package messaging

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/messaging/internal/instrument"
	"github.com/tailorkit/tailor/messaging/internal/lifecycle"
	"github.com/tailorkit/tailor/observability/status"
)

// Headers a dead-lettered message carries besides the original ones.
const (
	HeaderDeadLetterReason   = "Tailor-Dead-Letter-Reason"   // the handler's last error
	HeaderOriginalSubject    = "Tailor-Original-Subject"     // where the event was first published
	HeaderDeliveryAttempts   = "Tailor-Delivery-Attempts"    // how many times it was delivered
	HeaderDeadLetterConsumer = "Tailor-Dead-Letter-Consumer" // the consumer that gave up
)

// consumerConfig is a consumer's settings after its options.
type consumerConfig struct {
	subjects          []string
	maxAttempts       int
	backoff           []time.Duration
	ackWait           time.Duration
	deadLetterSubject string
	workers           int
	maxAckPending     int
	tel               Telemetry
}

// ConsumerOption sets an optional property of a [Consumer].
type ConsumerOption func(*consumerConfig)

// WithSubjects filters the stream's subjects. Default: all of them.
func WithSubjects(subjects ...string) ConsumerOption {
	return func(c *consumerConfig) { c.subjects = subjects }
}

// WithMaxAttempts sets how many times an event is delivered before it
// goes to the dead-letter subject. Default 5.
func WithMaxAttempts(n int) ConsumerOption {
	return func(c *consumerConfig) { c.maxAttempts = n }
}

// WithBackoff sets the delays before the second, third... delivery of an
// event whose handler failed; the last one repeats. Default 1s, 5s, 30s.
func WithBackoff(delays ...time.Duration) ConsumerOption {
	return func(c *consumerConfig) { c.backoff = delays }
}

// WithAckWait sets how long the server waits for the consumer's answer
// before it delivers an event again. It bounds how late an event comes
// when a consumer crashed while holding it: another instance, or this one
// restarted, gets it AckWait after its last delivery. Keep it above the
// time an event may wait in the consumer plus its handling, or the event
// is delivered again meanwhile (and counts an attempt). Default 10s.
func WithAckWait(d time.Duration) ConsumerOption {
	return func(c *consumerConfig) { c.ackWait = d }
}

// WithDeadLetterSubject sets where events that failed MaxAttempts times,
// or failed with a [Permanent] error, are published, with the headers
// HeaderDeadLetterReason, HeaderOriginalSubject, HeaderDeliveryAttempts
// and HeaderDeadLetterConsumer. Default "deadletter.<stream>.<name>",
// stored in stream "<stream>_DEADLETTER", which Start creates; a subject
// of your own must be in a stream you create.
func WithDeadLetterSubject(subject string) ConsumerOption {
	return func(c *consumerConfig) { c.deadLetterSubject = subject }
}

// WithWorkers sets how many events are handled at once. Events of one
// aggregate always go to the same worker, so they are handled in order.
// Default 1.
func WithWorkers(n int) ConsumerOption {
	return func(c *consumerConfig) { c.workers = n }
}

// WithMaxAckPending bounds the events delivered and not yet acknowledged.
// Default 1000.
func WithMaxAckPending(n int) ConsumerOption {
	return func(c *consumerConfig) { c.maxAckPending = n }
}

// WithTelemetry sets where the consumer reports (see [Telemetry]); while
// it runs, the consumer is listed on the service's operations dashboard
// as "<stream>/<name>" with its deliveries, repeats, dead letters and
// events in hand, counted since it started. Default: nowhere.
func WithTelemetry(tel Telemetry) ConsumerOption {
	return func(c *consumerConfig) { c.tel = tel }
}

// Consumer delivers the events of a durable JetStream consumer to a
// [Handler], acknowledging each one it handled, delivering again with
// backoff one that failed, and dead-lettering one that failed for good. It
// is a service component: Start creates or checks the durable consumer and
// begins; Stop finishes the events in hand and stops. Delivery is at least
// once: make the handler idempotent, as package
// [github.com/tailorkit/tailor/messaging/inbox] does.
//
// A Consumer is safe for concurrent use; it may be started once.
type Consumer struct {
	js     jetstream.JetStream
	stream string
	name   string
	cfg    consumerConfig
	h      Handler
	ins    *instrument.Set
	sub    attribute.KeyValue
	// ownDeadLetter: the dead-letter subject is the default one, whose
	// stream the consumer makes.
	ownDeadLetter bool

	loop lifecycle.Loop

	// What the consumer reports to an operator's dashboard (see
	// [Telemetry]), counted since it started.
	delivered, redelivered, deadLettered, inFlight atomic.Int64
}

// consumerTracker is a [Telemetry] that lists consumers on the service's
// dashboard, as *observability.Telemetry does.
type consumerTracker interface {
	TrackConsumer(report func() status.Consumer) (untrack func())
}

// NewConsumer returns the durable consumer name (such as
// "shop-projection") of stream (which [EnsureStream] made) that hands each
// event to h. The server remembers how far a durable consumer got, so a
// restart goes on from there. NewConsumer checks its arguments; Start
// talks to the server.
func NewConsumer(js jetstream.JetStream, stream, name string, h Handler, opts ...ConsumerOption) (*Consumer, error) {
	if stream == "" || name == "" {
		return nil, fmt.Errorf("messaging: consumer %q of stream %q: both a stream and a name are needed", name, stream)
	}
	if h == nil {
		return nil, fmt.Errorf("messaging: consumer %s has a nil Handler", name)
	}
	cfg := consumerConfig{
		maxAttempts:   5,
		backoff:       []time.Duration{time.Second, 5 * time.Second, 30 * time.Second},
		ackWait:       10 * time.Second,
		workers:       1,
		maxAckPending: 1000,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.maxAttempts < 1:
		return nil, fmt.Errorf("messaging: consumer %s: WithMaxAttempts(%d); an event needs at least one attempt", name, cfg.maxAttempts)
	case len(cfg.backoff) == 0 || slices.Min(cfg.backoff) < 0:
		return nil, fmt.Errorf("messaging: consumer %s: WithBackoff(%v); give at least one delay, none negative", name, cfg.backoff)
	case cfg.ackWait <= 0:
		return nil, fmt.Errorf("messaging: consumer %s: WithAckWait(%v); it must be positive", name, cfg.ackWait)
	case cfg.workers < 1 || cfg.maxAckPending < 1:
		return nil, fmt.Errorf("messaging: consumer %s: WithWorkers(%d), WithMaxAckPending(%d); both must be at least 1", name, cfg.workers, cfg.maxAckPending)
	}
	own := cfg.deadLetterSubject == ""
	if own {
		cfg.deadLetterSubject = "deadletter." + stream + "." + name
	}
	ins, err := instruments(cfg.tel)
	if err != nil {
		return nil, err
	}
	return &Consumer{js: js, stream: stream, name: name, cfg: cfg, h: h, ins: ins, sub: attribute.String("messaging.consumer.group.name", name), ownDeadLetter: own}, nil
}

// Start creates or updates the durable consumer (and the default
// dead-letter stream) and begins delivering events to the handler.
func (c *Consumer) Start(ctx context.Context) error {
	var iter jetstream.MessagesContext
	return c.loop.Start(ctx, "messaging: consumer "+c.name, func(ctx context.Context) (err error) {
		iter, err = c.open(ctx)
		return err
	}, func(ctx context.Context) {
		if t, ok := c.cfg.tel.(consumerTracker); ok {
			defer t.TrackConsumer(c.status)()
		}
		stopped := context.AfterFunc(ctx, iter.Stop)
		defer stopped()
		c.run(iter)
	})
}

// open creates or updates the durable consumer (and the default
// dead-letter stream) and begins pulling its events.
func (c *Consumer) open(ctx context.Context) (jetstream.MessagesContext, error) {
	if c.ownDeadLetter {
		err := EnsureStream(ctx, c.js, c.stream+"_DEADLETTER", []string{"deadletter." + c.stream + ".>"}, WithMaxAge(30*24*time.Hour))
		if err != nil {
			return nil, err
		}
	}
	cc := jetstream.ConsumerConfig{
		Durable:       c.name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.ackWait,
		MaxDeliver:    -1, // the consumer counts attempts and dead-letters itself
		MaxAckPending: c.cfg.maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(c.cfg.subjects) {
	case 0:
	case 1:
		cc.FilterSubject = c.cfg.subjects[0]
	default:
		cc.FilterSubjects = c.cfg.subjects
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.stream, cc)
	if err != nil {
		return nil, fmt.Errorf("messaging: create or update consumer %s on stream %s: %w; does the stream exist (EnsureStream) and is JetStream up?", c.name, c.stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(c.cfg.maxAckPending, 500)))
	if err != nil {
		return nil, fmt.Errorf("messaging: start consumer %s on stream %s: %w", c.name, c.stream, err)
	}
	return iter, nil
}

// Stop stops pulling events, lets the workers finish the events in hand
// and returns once they did or ctx ended. Events pulled and not handled
// are delivered again after AckWait.
func (c *Consumer) Stop(ctx context.Context) error {
	return c.loop.Stop(ctx, "messaging: consumer "+c.name)
}

// status is what the consumer reports to an operator's dashboard.
func (c *Consumer) status() status.Consumer {
	return status.Consumer{
		Name:      c.stream + "/" + c.name,
		Delivered: c.delivered.Load(), Redelivered: c.redelivered.Load(), DeadLettered: c.deadLettered.Load(),
		InFlight: int(c.inFlight.Load()),
	}
}

// delivery is one message and its decoded event.
type delivery struct {
	msg jetstream.Msg
	e   Event
	err error // decoding failed
}

// run pulls messages and hands them to the workers by aggregate.
func (c *Consumer) run(iter jetstream.MessagesContext) {
	queues := make([]chan delivery, c.cfg.workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan delivery, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range queues[i] {
				c.handle(d)
			}
		}()
	}
	for {
		msg, err := iter.Next()
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				c.ins.Log.Error("messaging: consumer stopped pulling", "consumer", c.name, "error", err.Error())
			}
			break
		}
		e, derr := DecodeEvent(msg.Data())
		q := 0
		if len(queues) > 1 {
			h := fnv.New32a()
			h.Write([]byte(e.Aggregate))
			q = int(h.Sum32() % uint32(len(queues)))
		}
		c.inFlight.Add(1)
		queues[q] <- delivery{msg: msg, e: e, err: derr}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// handle handles one delivery and answers the server.
func (c *Consumer) handle(d delivery) {
	defer c.inFlight.Add(-1)
	ctx := context.Background()
	attempt := 1
	if meta, err := d.msg.Metadata(); err == nil {
		attempt = int(meta.NumDelivered)
	}
	attrs := metric.WithAttributes(c.sub)
	c.delivered.Add(1)
	if attempt > 1 {
		c.redelivered.Add(1)
		c.ins.Redelivered.Add(ctx, 1, attrs)
	}
	producer := c.ins.Propagator.Extract(ctx, instrument.Header(d.msg.Headers()))
	ctx, span := c.ins.Tracer.Start(producer, d.msg.Subject()+" process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(trace.LinkFromContext(producer)),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", d.msg.Subject()),
			c.sub,
			attribute.String("messaging.message.id", d.e.ID),
			attribute.Int("messaging.message.delivery_attempt", attempt),
		))
	defer span.End()

	err := d.err
	if err == nil {
		err = c.call(ctx, d.e)
	} else {
		err = Permanent(err)
	}
	if err == nil {
		if aerr := d.msg.Ack(); aerr != nil {
			c.ins.Log.Warn("messaging: ack failed; the event will be delivered again", "consumer", c.name, "event", d.e.ID, "error", aerr.Error())
		}
		c.ins.Consumed.Add(ctx, 1, attrs)
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	if IsPermanent(err) || attempt >= c.cfg.maxAttempts {
		if derr := c.deadLetter(ctx, d, attempt, err); derr != nil {
			c.ins.Log.Error("messaging: cannot dead-letter an event; it will be delivered again", "consumer", c.name, "event", d.e.ID, "error", derr.Error())
			_ = d.msg.NakWithDelay(c.backoff(attempt))
			return
		}
		_ = d.msg.Term()
		c.deadLettered.Add(1)
		c.ins.DeadLettered.Add(ctx, 1, attrs)
		c.ins.Log.Warn("messaging: event dead-lettered", "consumer", c.name, "event", d.e.ID, "type", d.e.Type, "attempts", attempt, "subject", c.cfg.deadLetterSubject, "error", err.Error())
		return
	}
	_ = d.msg.NakWithDelay(c.backoff(attempt))
}

// call runs the handler, turning a panic into a permanent error so one bad
// event cannot stop the consumer.
func (c *Consumer) call(ctx context.Context, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("messaging: handler of consumer %s panicked on event %s: %v", c.name, e.ID, r))
		}
	}()
	return c.h(ctx, e)
}

// backoff is the delay before the delivery after attempt.
func (c *Consumer) backoff(attempt int) time.Duration {
	i := min(attempt-1, len(c.cfg.backoff)-1)
	return c.cfg.backoff[max(i, 0)]
}

// deadLetter publishes the delivery to the dead-letter subject.
func (c *Consumer) deadLetter(ctx context.Context, d delivery, attempt int, cause error) error {
	msg := nats.NewMsg(c.cfg.deadLetterSubject)
	msg.Data = d.msg.Data()
	for k, v := range d.msg.Headers() {
		if k != jetstream.MsgIDHeader {
			msg.Header[k] = v
		}
	}
	reason := cause.Error()
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	msg.Header.Set(HeaderDeadLetterReason, reason)
	msg.Header.Set(HeaderOriginalSubject, d.msg.Subject())
	msg.Header.Set(HeaderDeliveryAttempts, strconv.Itoa(attempt))
	msg.Header.Set(HeaderDeadLetterConsumer, c.name)
	opts := []jetstream.PublishOpt{}
	if id := d.msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		opts = append(opts, jetstream.WithMsgID(c.name+":"+id))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.js.PublishMsg(ctx, msg, opts...); err != nil {
		return fmt.Errorf("messaging: publish to dead-letter subject %s: %w", c.cfg.deadLetterSubject, err)
	}
	return nil
}
