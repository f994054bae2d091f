package messaging

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/messaging/internal/instrument"
)

// Headers a dead-lettered message carries besides the original ones.
const (
	HeaderDeadLetterReason   = "Tailor-Dead-Letter-Reason"   // the handler's last error
	HeaderOriginalSubject    = "Tailor-Original-Subject"     // where the event was first published
	HeaderDeliveryAttempts   = "Tailor-Delivery-Attempts"    // how many times it was delivered
	HeaderDeadLetterConsumer = "Tailor-Dead-Letter-Consumer" // the consumer that gave up
)

// ConsumerConfig describes a durable JetStream consumer. Stream and Name
// are required; every other field's zero value has the default in its doc.
type ConsumerConfig struct {
	// Stream is the stream to consume, which [EnsureStream] made.
	Stream string
	// Name is the durable consumer's name, such as "shop-projection". The
	// server remembers how far it got, so a restart goes on from there.
	Name string
	// Subjects filters the stream's subjects. Default: all of them.
	Subjects []string
	// MaxAttempts is how many times an event is delivered before it goes
	// to the dead-letter subject. Default 5.
	MaxAttempts int
	// Backoff lists the delays before the second, third... delivery of an
	// event whose handler failed; the last one repeats. Default 1s, 5s,
	// 30s.
	Backoff []time.Duration
	// AckWait is how long the server waits for an answer before it
	// delivers an event again, as when the consumer crashed while handling
	// it. Default 30s.
	AckWait time.Duration
	// DeadLetterSubject is where events that failed MaxAttempts times, or
	// failed with a [Permanent] error, are published, with the headers
	// HeaderDeadLetterReason, HeaderOriginalSubject, HeaderDeliveryAttempts
	// and HeaderDeadLetterConsumer. Default "deadletter.<Stream>.<Name>",
	// stored in stream "<Stream>_DEADLETTER", which Start creates; a
	// subject of your own must be in a stream you create.
	DeadLetterSubject string
	// Workers is how many events are handled at once. Events of one
	// aggregate always go to the same worker, so they are handled in
	// order. Default 1.
	Workers int
	// MaxAckPending bounds the events delivered and not yet acknowledged.
	// Default 1000.
	MaxAckPending int
	// Telemetry says where to report.
	Telemetry Telemetry
}

func (c *ConsumerConfig) applyDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1000
	}
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
	js  jetstream.JetStream
	cfg ConsumerConfig
	h   Handler
	ins *instrument.Set
	sub attribute.KeyValue
	// ownDeadLetter: the dead-letter subject is the default one, whose
	// stream the consumer makes.
	ownDeadLetter bool

	mu   sync.Mutex
	iter jetstream.MessagesContext // set by Start: started once
	done chan struct{}
}

// NewConsumer returns a consumer of cfg that hands each event to h. It
// checks cfg; Start talks to the server.
func NewConsumer(js jetstream.JetStream, cfg ConsumerConfig, h Handler) (*Consumer, error) {
	if cfg.Stream == "" || cfg.Name == "" {
		return nil, fmt.Errorf("messaging: consumer %q of stream %q: ConsumerConfig needs both Stream and Name", cfg.Name, cfg.Stream)
	}
	if h == nil {
		return nil, fmt.Errorf("messaging: consumer %s has a nil Handler", cfg.Name)
	}
	cfg.applyDefaults()
	own := cfg.DeadLetterSubject == ""
	if own {
		cfg.DeadLetterSubject = "deadletter." + cfg.Stream + "." + cfg.Name
	}
	ins, err := cfg.Telemetry.instruments()
	if err != nil {
		return nil, err
	}
	return &Consumer{js: js, cfg: cfg, h: h, ins: ins, sub: attribute.String("messaging.consumer.group.name", cfg.Name), ownDeadLetter: own}, nil
}

// Start creates or updates the durable consumer (and the default
// dead-letter stream) and begins delivering events to the handler.
func (c *Consumer) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.iter != nil {
		return fmt.Errorf("messaging: consumer %s started twice; make a new Consumer", c.cfg.Name)
	}
	if c.ownDeadLetter {
		err := EnsureStream(ctx, c.js, StreamConfig{Name: c.cfg.Stream + "_DEADLETTER", Subjects: []string{"deadletter." + c.cfg.Stream + ".>"}, MaxAge: 30 * 24 * time.Hour})
		if err != nil {
			return err
		}
	}
	cc := jetstream.ConsumerConfig{
		Durable:       c.cfg.Name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1, // the consumer counts attempts and dead-letters itself
		MaxAckPending: c.cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(c.cfg.Subjects) {
	case 0:
	case 1:
		cc.FilterSubject = c.cfg.Subjects[0]
	default:
		cc.FilterSubjects = c.cfg.Subjects
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("messaging: create or update consumer %s on stream %s: %w; does the stream exist (EnsureStream) and is JetStream up?", c.cfg.Name, c.cfg.Stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(c.cfg.MaxAckPending, 500)))
	if err != nil {
		return fmt.Errorf("messaging: start consumer %s on stream %s: %w", c.cfg.Name, c.cfg.Stream, err)
	}
	c.iter = iter
	c.done = make(chan struct{})
	go c.run(iter)
	return nil
}

// Stop stops pulling events, lets the workers finish the events in hand
// and returns once they did or ctx ended. Events pulled and not handled
// are delivered again after AckWait.
func (c *Consumer) Stop(ctx context.Context) error {
	c.mu.Lock()
	iter, done := c.iter, c.done
	c.mu.Unlock()
	if iter == nil {
		return nil
	}
	iter.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("messaging: consumer %s did not finish its events before the stop deadline: %w", c.cfg.Name, ctx.Err())
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
	defer close(c.done)
	queues := make([]chan delivery, c.cfg.Workers)
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
				c.ins.Log.Error("messaging: consumer stopped pulling", "consumer", c.cfg.Name, "error", err.Error())
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
		queues[q] <- delivery{msg: msg, e: e, err: derr}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// handle handles one delivery and answers the server.
func (c *Consumer) handle(d delivery) {
	ctx := context.Background()
	attempt := 1
	if meta, err := d.msg.Metadata(); err == nil {
		attempt = int(meta.NumDelivered)
	}
	attrs := metric.WithAttributes(c.sub)
	if attempt > 1 {
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
			c.ins.Log.Warn("messaging: ack failed; the event will be delivered again", "consumer", c.cfg.Name, "event", d.e.ID, "error", aerr.Error())
		}
		c.ins.Consumed.Add(ctx, 1, attrs)
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	if IsPermanent(err) || attempt >= c.cfg.MaxAttempts {
		if derr := c.deadLetter(ctx, d, attempt, err); derr != nil {
			c.ins.Log.Error("messaging: cannot dead-letter an event; it will be delivered again", "consumer", c.cfg.Name, "event", d.e.ID, "error", derr.Error())
			_ = d.msg.NakWithDelay(c.backoff(attempt))
			return
		}
		_ = d.msg.Term()
		c.ins.DeadLettered.Add(ctx, 1, attrs)
		c.ins.Log.Warn("messaging: event dead-lettered", "consumer", c.cfg.Name, "event", d.e.ID, "type", d.e.Type, "attempts", attempt, "subject", c.cfg.DeadLetterSubject, "error", err.Error())
		return
	}
	_ = d.msg.NakWithDelay(c.backoff(attempt))
}

// call runs the handler, turning a panic into a permanent error so one bad
// event cannot stop the consumer.
func (c *Consumer) call(ctx context.Context, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("messaging: handler of consumer %s panicked on event %s: %v", c.cfg.Name, e.ID, r))
		}
	}()
	return c.h(ctx, e)
}

// backoff is the delay before the delivery after attempt.
func (c *Consumer) backoff(attempt int) time.Duration {
	i := min(attempt-1, len(c.cfg.Backoff)-1)
	return c.cfg.Backoff[max(i, 0)]
}

// deadLetter publishes the delivery to the dead-letter subject.
func (c *Consumer) deadLetter(ctx context.Context, d delivery, attempt int, cause error) error {
	msg := nats.NewMsg(c.cfg.DeadLetterSubject)
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
	msg.Header.Set(HeaderDeadLetterConsumer, c.cfg.Name)
	opts := []jetstream.PublishOpt{}
	if id := d.msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		opts = append(opts, jetstream.WithMsgID(c.cfg.Name+":"+id))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.js.PublishMsg(ctx, msg, opts...); err != nil {
		return fmt.Errorf("messaging: publish to dead-letter subject %s: %w", c.cfg.DeadLetterSubject, err)
	}
	return nil
}
