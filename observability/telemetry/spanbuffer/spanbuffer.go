// Package spanbuffer keeps a bounded set of a process's recent spans,
// grouped by trace, for an operations dashboard to show: the failed
// traces, the slowest recent ones and the newest.
//
// Start with [New], and register the [Buffer] with the tracer provider as
// a span processor; [github.com/tailorkit/tailor/observability/telemetry.New]
// does this for every service (see its Config.RecentSpans), and
// [github.com/tailorkit/tailor/observability/dashboard.WithSpans] serves
// what it keeps. A buffer sees every span that is recorded, sampled or
// not: with [RecordUnsampled] around the sampler, the traces the sampler
// drops are recorded (and kept here) but still never exported.
//
// It is its own package, apart from telemetry, so that what reads it (the
// dashboard, and so every service) links the OpenTelemetry SDK but none
// of the exporters.
package spanbuffer

import (
	"cmp"
	"container/list"
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// DefaultCapacity is the most spans a [Buffer] keeps unless told.
const DefaultCapacity = 512

// Buffer is a span processor that keeps at most its capacity of recent
// ended spans, grouped by trace. When a span takes it over, it drops
// whole traces, least useful first, until it holds seven eighths of its
// capacity:
//
//   - the newest traces, holding up to a quarter of the capacity, are kept
//     whatever they are, so that what just happened is always there;
//   - of the others, a trace without an error goes before a failed one,
//     the fastest first (so the slowest stay, until slower ones displace
//     them);
//   - failed traces go, oldest first, only when nothing else is left to
//     drop or when they hold more than half the capacity.
//
// A trace is failed when one of its spans has status Error, and its
// duration is from its first span's start to its last span's end. A span
// that ends after its trace was dropped starts the trace anew.
//
// Make one with [New]; the zero value is not usable. It is safe for
// concurrent use; OnEnd holds a lock for a moment per span.
type Buffer struct {
	capacity int

	mu     sync.Mutex
	traces map[trace.TraceID]*list.Element // of *entry
	recent list.List                       // of *entry, the one last updated first
	spans  int                             // held, over every trace
	failed int                             // spans held by failed traces
}

// entry is one trace's spans as kept.
type entry struct {
	id         trace.TraceID
	spans      []sdktrace.ReadOnlySpan
	start, end time.Time
	failed     bool
}

var _ sdktrace.SpanProcessor = (*Buffer)(nil)

// New returns a buffer that keeps at most capacity spans; capacity <= 0
// means [DefaultCapacity].
func New(capacity int) *Buffer {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Buffer{capacity: capacity, traces: map[trace.TraceID]*list.Element{}}
}

// Capacity returns the most spans b keeps.
func (b *Buffer) Capacity() int { return b.capacity }

// OnStart does nothing: spans are kept once they end.
func (b *Buffer) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd keeps s, dropping traces as the type's doc says to stay within
// the capacity.
func (b *Buffer) OnEnd(s sdktrace.ReadOnlySpan) {
	id := s.SpanContext().TraceID()
	if !id.IsValid() {
		return
	}
	failed := s.Status().Code == codes.Error
	b.mu.Lock()
	defer b.mu.Unlock()
	el := b.traces[id]
	if el == nil {
		el = b.recent.PushFront(&entry{id: id, start: s.StartTime(), end: s.EndTime()})
		b.traces[id] = el
	} else {
		b.recent.MoveToFront(el)
	}
	e := el.Value.(*entry)
	e.spans = append(e.spans, s)
	e.start = minTime(e.start, s.StartTime())
	e.end = maxTime(e.end, s.EndTime())
	b.spans++
	switch {
	case e.failed:
		b.failed++
	case failed:
		e.failed = true
		b.failed += len(e.spans)
	}
	if b.spans > b.capacity {
		b.evict()
	}
}

// evict drops traces, as the type's doc says, until b holds at most
// seven eighths of its capacity, so that one pass over the traces serves
// many spans to come.
func (b *Buffer) evict() {
	target := b.capacity - b.capacity/8
	// The newest traces, up to a quarter of the capacity in spans, stay;
	// never every trace, though: the oldest can always go.
	el, kept := b.recent.Front(), 0
	for ; el.Next() != nil; el = el.Next() {
		n := len(el.Value.(*entry).spans)
		if kept+n > b.capacity/4 {
			break
		}
		kept += n
	}
	var ok, failed []*list.Element // failed: oldest first
	for ; el != nil; el = el.Next() {
		if el.Value.(*entry).failed {
			failed = append(failed, el)
		} else {
			ok = append(ok, el)
		}
	}
	slices.Reverse(failed)
	slices.Reverse(ok)
	slices.SortStableFunc(ok, func(x, y *list.Element) int { // fastest first, the oldest of equals
		return cmp.Compare(x.Value.(*entry).duration(), y.Value.(*entry).duration())
	})
	for b.spans > target && len(ok)+len(failed) > 0 {
		if len(failed) > 0 && (len(ok) == 0 || b.failed > b.capacity/2) {
			b.drop(failed[0])
			failed = failed[1:]
			continue
		}
		b.drop(ok[0])
		ok = ok[1:]
	}
}

func (e *entry) duration() time.Duration { return e.end.Sub(e.start) }

func (b *Buffer) drop(el *list.Element) {
	e := b.recent.Remove(el).(*entry)
	b.spans -= len(e.spans)
	if e.failed {
		b.failed -= len(e.spans)
	}
	delete(b.traces, e.id)
}

// Shutdown does nothing: what b holds stays readable.
func (b *Buffer) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: b exports nothing.
func (b *Buffer) ForceFlush(context.Context) error { return nil }

// Trace is one kept trace.
type Trace struct {
	ID trace.TraceID
	// Spans are its ended spans as kept, in the order they started.
	Spans []sdktrace.ReadOnlySpan
	// Start is its first span's start, End its last span's end.
	Start, End time.Time
	// Failed reports whether one of its spans has status Error.
	Failed bool
}

// Traces returns the kept traces, the one that last had a span end first.
func (b *Buffer) Traces() []Trace {
	b.mu.Lock()
	out := make([]Trace, 0, len(b.traces))
	for el := b.recent.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry).trace())
	}
	b.mu.Unlock()
	for _, t := range out {
		sortByStart(t.Spans)
	}
	return out
}

// Trace returns the kept trace id, and whether it is kept.
func (b *Buffer) Trace(id trace.TraceID) (Trace, bool) {
	b.mu.Lock()
	el, ok := b.traces[id]
	var t Trace
	if ok {
		t = el.Value.(*entry).trace()
	}
	b.mu.Unlock()
	sortByStart(t.Spans)
	return t, ok
}

// trace copies e out; call with b.mu held.
func (e *entry) trace() Trace {
	return Trace{ID: e.id, Spans: slices.Clone(e.spans), Start: e.start, End: e.end, Failed: e.failed}
}

func sortByStart(spans []sdktrace.ReadOnlySpan) {
	slices.SortStableFunc(spans, func(x, y sdktrace.ReadOnlySpan) int { return x.StartTime().Compare(y.StartTime()) })
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RecordUnsampled returns a sampler that decides as s does, except that
// it records the spans s drops instead of dropping them: they reach span
// processors such as a [Buffer], while exporters still get only sampled
// spans, and the trace context sent downstream still says "not sampled".
// Every span then costs its recording; see the telemetry package's
// README.md for what that is.
func RecordUnsampled(s sdktrace.Sampler) sdktrace.Sampler { return recordUnsampled{s} }

type recordUnsampled struct{ sdktrace.Sampler }

func (r recordUnsampled) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := r.Sampler.ShouldSample(p)
	if res.Decision == sdktrace.Drop {
		res.Decision = sdktrace.RecordOnly
	}
	return res
}

func (r recordUnsampled) Description() string {
	return "RecordUnsampled{" + r.Sampler.Description() + "}"
}
