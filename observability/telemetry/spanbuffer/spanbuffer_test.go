package spanbuffer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// request records a trace of a server span and n-1 children, lasting d
// from start, failed or not, and returns its id.
func request(tr trace.Tracer, start time.Time, d time.Duration, n int, failed bool) trace.TraceID {
	ctx, root := tr.Start(context.Background(), "GET /v1/products", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer))
	for i := 1; i < n; i++ {
		_, c := tr.Start(ctx, fmt.Sprintf("child %d", i), trace.WithTimestamp(start))
		c.End(trace.WithTimestamp(start.Add(d / 2)))
	}
	if failed {
		root.SetStatus(codes.Error, "internal")
	}
	root.End(trace.WithTimestamp(start.Add(d)))
	return root.SpanContext().TraceID()
}

func newBuffer(capacity int) (*spanbuffer.Buffer, trace.Tracer) {
	buf := spanbuffer.New(capacity)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(buf))
	return buf, tp.Tracer("test")
}

func held(buf *spanbuffer.Buffer) (spans int, ids map[trace.TraceID]bool) {
	ids = map[trace.TraceID]bool{}
	for _, t := range buf.Traces() {
		spans += len(t.Spans)
		ids[t.ID] = true
	}
	return spans, ids
}

// Under many traces the buffer holds at most its capacity, and keeps the
// failed traces, the slowest and the newest.
func TestBufferStaysWithinItsCapacity(t *testing.T) {
	buf, tr := newBuffer(64)
	var failed, slow []trace.TraceID
	var last trace.TraceID
	for i := range 2000 {
		start := t0.Add(time.Duration(i) * time.Second)
		switch {
		case i%500 == 7:
			failed = append(failed, request(tr, start, time.Millisecond, 3, true))
		case i%400 == 3:
			slow = append(slow, request(tr, start, time.Second, 3, false))
		default:
			last = request(tr, start, time.Millisecond, 3, false)
		}
		if n, _ := held(buf); n > buf.Capacity() {
			t.Fatalf("after %d traces the buffer holds %d spans, want at most %d", i+1, n, buf.Capacity())
		}
	}
	n, ids := held(buf)
	if low := buf.Capacity() - buf.Capacity()/8 - 3; n < low {
		t.Errorf("the buffer holds %d spans, want at least %d of its %d", n, low, buf.Capacity())
	}
	for _, id := range append(append(failed, slow...), last) {
		if !ids[id] {
			t.Errorf("trace %s was dropped; want the failed, the slowest and the newest kept", id)
		}
	}
	if got := buf.Traces()[0].ID; got != last {
		t.Errorf("first trace = %s, want the newest %s", got, last)
	}
}

// Failed traces give way, oldest first, once they hold more than half.
func TestBufferDropsTheOldestFailedWhenFailuresFillIt(t *testing.T) {
	buf, tr := newBuffer(40)
	var ids []trace.TraceID
	for i := range 100 {
		ids = append(ids, request(tr, t0.Add(time.Duration(i)*time.Second), time.Millisecond, 2, true))
	}
	n, kept := held(buf)
	if n > 40 || !kept[ids[99]] || kept[ids[0]] {
		t.Errorf("holds %d spans, newest kept %v, oldest kept %v; want at most 40, the newest and not the oldest", n, kept[ids[99]], kept[ids[0]])
	}
	if tr, ok := buf.Trace(ids[99]); !ok || !tr.Failed || len(tr.Spans) != 2 || tr.End.Sub(tr.Start) != time.Millisecond {
		t.Errorf("Trace(newest) = %+v, %v; want failed, 2 spans, 1ms", tr, ok)
	}
}

// RecordUnsampled records what the sampler drops: the buffer sees it,
// the exporter does not, and it stays unsampled.
func TestRecordUnsampled(t *testing.T) {
	buf := spanbuffer.New(0)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(spanbuffer.RecordUnsampled(sdktrace.NeverSample())),
		sdktrace.WithSpanProcessor(buf), sdktrace.WithSyncer(exp))
	_, s := tp.Tracer("test").Start(context.Background(), "GET /v1/products")
	s.End()
	if s.SpanContext().IsSampled() {
		t.Errorf("span sampled %v, want recorded but not sampled", s.SpanContext().IsSampled())
	}
	if got := len(buf.Traces()); got != 1 {
		t.Errorf("buffer holds %d traces, want 1", got)
	}
	if got := len(exp.GetSpans()); got != 0 {
		t.Errorf("exporter got %d spans, want 0", got)
	}
	if buf.Capacity() != spanbuffer.DefaultCapacity {
		t.Errorf("Capacity() = %d, want %d", buf.Capacity(), spanbuffer.DefaultCapacity)
	}
}
