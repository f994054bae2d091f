package dashboard

import (
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// WithSpans serves the traces that buf keeps at GET /dash/api/traces and
// GET /dash/api/traces/{trace_id} (see the package doc). A service passes
// its telemetry's buffer itself. Without it, or with nil, the list is
// empty.
func WithSpans(buf *spanbuffer.Buffer) Option {
	return func(db *dashboard) { db.spans = buf }
}

type traceSummary struct {
	TraceID      string    `json:"trace_id"`
	Root         string    `json:"root"`
	Start        time.Time `json:"start"`
	DurationMS   float64   `json:"duration_ms"`
	Spans        int       `json:"spans"`
	Error        bool      `json:"error"`
	ErrorMessage string    `json:"error_message"`
}

type tracesAnswer struct {
	Version  int            `json:"version"`
	Capacity int            `json:"capacity"`
	Traces   []traceSummary `json:"traces"`
}

type spanEvent struct {
	Name     string  `json:"name"`
	OffsetMS float64 `json:"offset_ms"`
}

type spanView struct {
	SpanID        string            `json:"span_id"`
	ParentID      string            `json:"parent_id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Start         time.Time         `json:"start"`
	OffsetMS      float64           `json:"offset_ms"`
	DurationMS    float64           `json:"duration_ms"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message"`
	Attributes    map[string]string `json:"attributes"`
	Events        []spanEvent       `json:"events"`
}

type traceAnswer struct {
	Version int        `json:"version"`
	TraceID string     `json:"trace_id"`
	Spans   []spanView `json:"spans"`
}

func (db *dashboard) serveTraces(w http.ResponseWriter, _ *http.Request) {
	out := tracesAnswer{Version: Version, Traces: []traceSummary{}}
	if db.spans != nil {
		out.Capacity = db.spans.Capacity()
		for _, t := range db.spans.Traces() {
			out.Traces = append(out.Traces, summarize(t))
		}
	}
	writeJSON(w, out)
}

func (db *dashboard) serveTrace(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("trace_id")
	id, err := trace.TraceIDFromHex(strings.ToLower(raw))
	if err != nil {
		thttp.WriteError(w, r, fault.Errorf(fault.InvalidArgument,
			"%q is not a trace id; give the 32 hex digits of one that GET /dash/api/traces lists", raw))
		return
	}
	var (
		t  spanbuffer.Trace
		ok bool
	)
	if db.spans != nil {
		t, ok = db.spans.Trace(id)
	}
	if !ok {
		thttp.WriteError(w, r, fault.Errorf(fault.NotFound,
			"trace %s is not kept (never seen, or dropped for newer ones); GET /dash/api/traces lists those kept", id))
		return
	}
	out := traceAnswer{Version: Version, TraceID: id.String(), Spans: []spanView{}}
	for _, s := range parentOrder(t.Spans) {
		out.Spans = append(out.Spans, view(s, t.Start))
	}
	writeJSON(w, out)
}

// summarize describes t as its list entry: its root is its first span
// whose parent is not in it, and its error message that of the first
// failed span, the root's when it failed.
func summarize(t spanbuffer.Trace) traceSummary {
	out := traceSummary{TraceID: t.ID.String(), Start: t.Start.UTC(), DurationMS: ms(t.End.Sub(t.Start)), Spans: len(t.Spans), Error: t.Failed}
	candidates := t.Spans
	if roots := rootsOf(t.Spans); len(roots) > 0 {
		out.Root = roots[0].Name()
		candidates = append([]sdktrace.ReadOnlySpan{roots[0]}, t.Spans...)
	}
	for _, s := range candidates {
		if st := s.Status(); st.Code == codes.Error && st.Description != "" {
			out.ErrorMessage = st.Description
			break
		}
	}
	return out
}

// rootsOf returns the spans of spans whose parent is not among them, in
// their order.
func rootsOf(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	ids := make(map[trace.SpanID]bool, len(spans))
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if !ids[s.Parent().SpanID()] {
			roots = append(roots, s)
		}
	}
	return roots
}

// parentOrder returns spans (in start order) depth first: each span after
// its parent, siblings by start.
func parentOrder(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		p := s.Parent().SpanID()
		children[p] = append(children[p], s)
	}
	out := make([]sdktrace.ReadOnlySpan, 0, len(spans))
	var walk func(s sdktrace.ReadOnlySpan)
	walk = func(s sdktrace.ReadOnlySpan) {
		out = append(out, s)
		for _, c := range children[s.SpanContext().SpanID()] {
			walk(c)
		}
	}
	for _, r := range rootsOf(spans) {
		walk(r)
	}
	return out
}

func view(s sdktrace.ReadOnlySpan, start time.Time) spanView {
	v := spanView{
		SpanID: s.SpanContext().SpanID().String(), Name: s.Name(), Kind: s.SpanKind().String(),
		Start: s.StartTime().UTC(), OffsetMS: ms(s.StartTime().Sub(start)), DurationMS: ms(s.EndTime().Sub(s.StartTime())),
		Status: strings.ToLower(s.Status().Code.String()), StatusMessage: s.Status().Description,
		Attributes: map[string]string{}, Events: []spanEvent{},
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		v.ParentID = p.SpanID().String()
	}
	for _, kv := range s.Attributes() {
		v.Attributes[string(kv.Key)] = kv.Value.String()
	}
	for _, e := range s.Events() {
		v.Events = append(v.Events, spanEvent{Name: e.Name, OffsetMS: ms(e.Time.Sub(start))})
	}
	return v
}
