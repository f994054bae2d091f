package messaging_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability"
)

type Note struct {
	N int `json:"n"`
}

var noteType = messaging.Type[Note]{Name: "note.made"}

// The service's one telemetry type is what messaging takes.
var _ messaging.Telemetry = (*observability.Telemetry)(nil)

// telemetry makes the service's telemetry from cfg.
func telemetry(t *testing.T, cfg observability.Config) *observability.Telemetry {
	t.Helper()
	tel, err := observability.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

// counters reads the messaging counters from r.
func counters(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					got[m.Name] += dp.Value
				}
			}
		}
	}
	return got
}

func publishNotes(t *testing.T, js jetstream.JetStream, subject string, from, to int) []messaging.Event {
	t.Helper()
	p, err := messaging.NewPublisher(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	var events []messaging.Event
	for i := from; i < to; i++ {
		e, err := noteType.New("note-"+strconv.Itoa(i%3), Note{N: i})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(context.Background(), subject, e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// A poison message goes to the dead-letter subject after MaxAttempts
// deliveries, with its reason, while the others keep flowing.
func TestPoisonMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	stream, subject := testenv.Stream(t, js)
	reader := sdkmetric.NewManualReader()
	var handled sync.Map
	attempts := atomic.Int32{}
	h := noteType.Handler(func(ctx context.Context, e messaging.Event, n Note) error {
		if n.N == 3 {
			attempts.Add(1)
			return errors.New("note 3 is poison")
		}
		handled.Store(n.N, true)
		return nil
	})
	c, err := messaging.NewConsumer(js, stream, "poison", h, messaging.WithMaxAttempts(3),
		messaging.WithBackoff(time.Millisecond),
		messaging.WithTelemetry(telemetry(t, observability.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	events := publishNotes(t, js, subject+".notes", 0, 10)

	dl, err := js.OrderedConsumer(context.Background(), stream+"_DEADLETTER", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dl.Next(jetstream.FetchMaxWait(20 * time.Second))
	if err != nil {
		t.Fatalf("nothing on the dead-letter subject: %v", err)
	}
	if got, want := msg.Subject(), "deadletter."+stream+".poison"; got != want {
		t.Errorf("dead letter subject = %q, want %q", got, want)
	}
	e, err := messaging.DecodeEvent(msg.Data())
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != events[3].ID {
		t.Errorf("dead-lettered event %s, want note 3 (%s)", e.ID, events[3].ID)
	}
	for k, want := range map[string]string{
		messaging.HeaderDeadLetterReason:   "note 3 is poison",
		messaging.HeaderDeliveryAttempts:   "3",
		messaging.HeaderOriginalSubject:    subject + ".notes",
		messaging.HeaderDeadLetterConsumer: "poison",
	} {
		if got := msg.Headers().Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	testenv.Eventually(t, "the other notes handled", func() bool {
		n := 0
		handled.Range(func(any, any) bool { n++; return true })
		return n == 9
	})
	if got := attempts.Load(); got != 3 {
		t.Errorf("poison handled %d times, want 3", got)
	}
	testenv.Eventually(t, "counters", func() bool {
		m := counters(t, reader)
		return m["tailor.messaging.dead_lettered"] == 1 && m["tailor.messaging.consumed"] == 9
	})
	m := counters(t, reader)
	if got := m["tailor.messaging.redelivered"]; got != 2 {
		t.Errorf("redelivered = %d, want 2", got)
	}
}

// An event that does not decode, or has a version the consumer does not
// know, is dead-lettered at once.
func TestUndecodableEventIsDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	stream, subject := testenv.Stream(t, js)
	var calls atomic.Int32
	c, err := messaging.NewConsumer(js, stream, "strict",
		noteType.Handler(func(context.Context, messaging.Event, Note) error { calls.Add(1); return nil }), messaging.WithMaxAttempts(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	v2 := messaging.Type[Note]{Name: "note.made", Version: 2}
	e, _ := v2.New("a", Note{N: 1})
	p, _ := messaging.NewPublisher(js, nil)
	if err := p.Publish(context.Background(), subject+".x", e); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), subject+".x", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	dl, err := js.OrderedConsumer(context.Background(), stream+"_DEADLETTER", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"unknown event version", "malformed event"} {
		msg, err := dl.Next(jetstream.FetchMaxWait(20 * time.Second))
		if err != nil {
			t.Fatalf("nothing on the dead-letter subject: %v", err)
		}
		if got := msg.Headers().Get(messaging.HeaderDeadLetterReason); !strings.Contains(got, want) {
			t.Errorf("reason %q, want it to mention %q", got, want)
		}
		if got := msg.Headers().Get(messaging.HeaderDeliveryAttempts); got != "1" {
			t.Errorf("attempts %s, want 1", got)
		}
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("handler called %d times, want 0", got)
	}
}

// An event delivered again after its effect committed (its ack was lost)
// has no second effect.
func TestRedeliveryOfAppliedEventHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	for _, dbk := range testenv.Databases() {
		t.Run(dbk.Name, func(t *testing.T) {
			t.Parallel()
			db := dbk.Fresh(t)()
			stream, subject := testenv.Stream(t, js)
			ctx := context.Background()
			if err := inbox.Migrate(ctx, db, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE effects (n INTEGER NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			in, err := inbox.New(db, "once")
			if err != nil {
				t.Fatal(err)
			}
			apply := inbox.Handle(in, noteType, func(ctx context.Context, tx *sql.Tx, e messaging.Event, n Note) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO effects (n) VALUES ($1)`, n.N)
				return err
			})
			var deliveries atomic.Int32
			h := func(ctx context.Context, e messaging.Event) error {
				if err := apply(ctx, e); err != nil {
					return err
				}
				if deliveries.Add(1) == 1 {
					return errors.New("the ack was lost") // committed, yet delivered again
				}
				return nil
			}
			c, err := messaging.NewConsumer(js, stream, "once", h, messaging.WithBackoff(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(ctx)
			publishNotes(t, js, subject+".n", 7, 8)
			testenv.Eventually(t, "the second delivery", func() bool { return deliveries.Load() >= 2 })
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM effects`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%d effects after 2 deliveries, want 1", n)
			}
		})
	}
}

// The consumer's span continues the trace of the span that wrote the
// event into the outbox, and links to the producer's span.
func TestTraceContinuesAcrossTheBroker(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	db := testenv.SQLite(t)
	ctx := context.Background()
	if err := outbox.Migrate(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	stream, subject := testenv.Stream(t, js)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	tel := telemetry(t, observability.Config{TracerProvider: tp})
	ob, _ := outbox.New(outbox.WithTelemetry(tel))

	reqCtx, req := tp.Tracer("test").Start(ctx, "POST /v1/notes")
	e, _ := noteType.New("a", Note{N: 1})
	tx, _ := db.BeginTx(reqCtx, nil)
	if err := ob.Add(reqCtx, tx, subject+".n", e); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	req.End()
	r, _ := outbox.NewRelay(db, js)
	if _, err := r.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan trace.SpanContext, 1)
	c, _ := messaging.NewConsumer(js, stream, "traced",
		func(ctx context.Context, e messaging.Event) error {
			got <- trace.SpanContextFromContext(ctx)
			return nil
		}, messaging.WithTelemetry(tel))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	var consumer trace.SpanContext
	select {
	case consumer = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the event never arrived")
	}
	if consumer.TraceID() != req.SpanContext().TraceID() {
		t.Errorf("consumer trace %s, want the request's %s", consumer.TraceID(), req.SpanContext().TraceID())
	}
	var producer, process sdktrace.ReadOnlySpan
	testenv.Eventually(t, "the process span ended", func() bool {
		for _, s := range spans.Ended() {
			switch s.Name() {
			case subject + ".n create":
				producer = s
			case subject + ".n process":
				process = s
			}
		}
		return producer != nil && process != nil
	})
	if len(process.Links()) != 1 || process.Links()[0].SpanContext.SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("process span links %v, want one link to the create span %s", process.Links(), producer.SpanContext().SpanID())
	}
	if process.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("process span's parent %s, want the create span %s", process.Parent().SpanID(), producer.SpanContext().SpanID())
	}
	if producer.Parent().SpanID() != req.SpanContext().SpanID() {
		t.Errorf("create span's parent %s, want the request span", producer.Parent().SpanID())
	}
}

// An event that a crashed consumer held comes again AckWait after it was
// delivered, to whichever instance runs next; an event whose handler
// failed comes again after the backoff delay. Both are settings
// (WithAckWait, WithBackoff), and these are their bounds.
func TestRedeliveryBounds(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	const slack = time.Second // scheduling and round trips on a busy machine

	t.Run("crash", func(t *testing.T) {
		t.Parallel()
		stream, subject := testenv.Stream(t, js)
		ctx := context.Background()
		const ackWait = 2 * time.Second
		// The crashed instance's consumer, as NewConsumer makes it.
		cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: "crash", AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait,
			MaxDeliver: -1, MaxAckPending: 1000, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			t.Fatal(err)
		}
		publishNotes(t, js, subject+".n", 0, 1)
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var taken time.Time
		for range batch.Messages() {
			taken = time.Now() // and the process dies without answering
		}
		if taken.IsZero() {
			t.Fatal("the crashed instance got no event")
		}
		got := make(chan time.Time, 1)
		c, err := messaging.NewConsumer(js, stream, "crash", func(context.Context, messaging.Event) error {
			select {
			case got <- time.Now():
			default:
			}
			return nil
		}, messaging.WithAckWait(ackWait))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Stop(ctx)
		select {
		case at := <-got:
			if d := at.Sub(taken); d < ackWait-100*time.Millisecond || d > ackWait+slack {
				t.Errorf("redelivered %v after the crash, want AckWait (%v) to %v", d, ackWait, ackWait+slack)
			}
		case <-time.After(ackWait + 10*time.Second):
			t.Fatal("the event never came again")
		}
	})

	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		stream, subject := testenv.Stream(t, js)
		ctx := context.Background()
		const delay = 500 * time.Millisecond
		times := make(chan time.Time, 2)
		var calls atomic.Int32
		c, err := messaging.NewConsumer(js, stream, "backoff", func(context.Context, messaging.Event) error {
			times <- time.Now()
			if calls.Add(1) == 1 {
				return errors.New("the first attempt fails")
			}
			return nil
		}, messaging.WithBackoff(delay))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Stop(ctx)
		publishNotes(t, js, subject+".n", 0, 1)
		var at [2]time.Time
		for i := range at {
			select {
			case at[i] = <-times:
			case <-time.After(20 * time.Second):
				t.Fatalf("delivery %d never came", i+1)
			}
		}
		if d := at[1].Sub(at[0]); d < delay-50*time.Millisecond || d > delay+slack {
			t.Errorf("second delivery %v after the first, want the backoff (%v) to %v", d, delay, delay+slack)
		}
	})
}

// countingJS counts the consumers created or updated through it.
type countingJS struct {
	jetstream.JetStream
	creates atomic.Int32
}

func (c *countingJS) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c.creates.Add(1)
	return c.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
}

// A second Start fails before it talks to the server: it neither updates
// the durable consumer nor pulls events that would then wait out AckWait.
func TestConsumerStartedTwice(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := &countingJS{JetStream: testenv.JetStream(t, nc)}
	stream, _ := testenv.Stream(t, js)
	c, err := messaging.NewConsumer(js, stream, "twice", func(context.Context, messaging.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	if err := c.Start(ctx); err == nil || !strings.Contains(err.Error(), "started twice") {
		t.Errorf("second Start = %v, want an error saying it started twice", err)
	}
	if got := js.creates.Load(); got != 1 {
		t.Errorf("CreateOrUpdateConsumer called %d times, want 1", got)
	}
}
