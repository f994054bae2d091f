package observability

import (
	"cmp"
	"slices"

	"github.com/tailorkit/tailor/observability/status"
)

// OutboxStatus is what an outbox relay reports; see [status.Outbox].
type OutboxStatus = status.Outbox

// ConsumerStatus is what an event consumer reports; see
// [status.Consumer].
type ConsumerStatus = status.Consumer

// SagaStatus is what an orchestrator reports of the sagas of one kind;
// see [status.Saga].
type SagaStatus = status.Saga

// processes are the background processes tracked with a Telemetry, each
// by the func that reports it.
type processes struct {
	outboxes  map[uint64]func() OutboxStatus
	consumers map[uint64]func() ConsumerStatus
	sagas     map[uint64]func() SagaStatus
}

// TrackOutbox lists the outbox relay that report describes among the
// service's (see [Telemetry.Outboxes]) until the returned func is called.
// report is called by Outboxes, once per read of an operator's
// dashboard, and must be safe for concurrent use and cheap: a relay
// reads its backlog at most once a second. Calling untrack again does
// nothing. package outbox's Relay, made WithTelemetry, tracks itself
// while it runs.
func (in *Telemetry) TrackOutbox(report func() OutboxStatus) (untrack func()) {
	return add(&in.live, &in.processes.outboxes, report)
}

// TrackConsumer lists the event consumer that report describes (see
// [Telemetry.Consumers]) until the returned func is called; report is
// called as TrackOutbox's is. package messaging's Consumer, made
// WithTelemetry, tracks itself while it runs.
func (in *Telemetry) TrackConsumer(report func() ConsumerStatus) (untrack func()) {
	return add(&in.live, &in.processes.consumers, report)
}

// TrackSagas lists the sagas of the kind report describes (see
// [Telemetry.Sagas]) until the returned func is called; report is called
// as TrackOutbox's is. package saga's Orchestrator, made WithTelemetry,
// tracks each saga it defines.
func (in *Telemetry) TrackSagas(report func() SagaStatus) (untrack func()) {
	return add(&in.live, &in.processes.sagas, report)
}

// Outboxes returns the report of every outbox relay tracked now, by name.
func (in *Telemetry) Outboxes() []OutboxStatus {
	return reports(in, &in.processes.outboxes, func(s OutboxStatus) string { return s.Name })
}

// Consumers returns the report of every event consumer tracked now, by
// name.
func (in *Telemetry) Consumers() []ConsumerStatus {
	return reports(in, &in.processes.consumers, func(s ConsumerStatus) string { return s.Name })
}

// Sagas returns the report of every kind of saga tracked now, by name.
func (in *Telemetry) Sagas() []SagaStatus {
	return reports(in, &in.processes.sagas, func(s SagaStatus) string { return s.Name })
}

// reports calls every func of *m, outside the lock that [add] takes, and
// returns what they report sorted by name.
func reports[S any](in *Telemetry, m *map[uint64]func() S, name func(S) string) []S {
	in.live.mu.Lock()
	fs := make([]func() S, 0, len(*m))
	for _, f := range *m {
		fs = append(fs, f)
	}
	in.live.mu.Unlock()
	out := make([]S, 0, len(fs))
	for _, f := range fs {
		out = append(out, f())
	}
	slices.SortStableFunc(out, func(a, b S) int { return cmp.Compare(name(a), name(b)) })
	return out
}
