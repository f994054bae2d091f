// Package status declares what a service's background processes report
// to its operations dashboard: an outbox relay ([Outbox]), an event
// consumer ([Consumer]) and the sagas of one kind ([Saga]).
//
// Package observability lists them (Telemetry.TrackOutbox,
// TrackConsumer, TrackSagas, under the names OutboxStatus, ConsumerStatus
// and SagaStatus). They are declared here, in a package that imports only
// the standard library, so that the packages that report them (messaging,
// its outbox, saga) do so without compiling observability and what it
// needs besides: such a package asserts that the telemetry it was given
// has the method, as in
//
//	if t, ok := tel.(interface {
//		TrackOutbox(report func() status.Outbox) (untrack func())
//	}); ok {
//		untrack = t.TrackOutbox(relay.status)
//	}
package status

import "time"

// Outbox is what an outbox relay reports: its backlog and its counts
// since it started.
type Outbox struct {
	// Name names the relay; usually the service or the database whose
	// outbox it publishes.
	Name string
	// Pending is the events written and not yet published.
	Pending int
	// Oldest is how long the first pending event has waited; 0 when none
	// waits.
	Oldest time.Duration
	// Published is the events the relay published since it started.
	Published int64
	// Failures is the events a pass of the relay took and could not
	// publish since it started; an event tried five times counts five.
	Failures int64
}

// Consumer is what an event consumer reports, counted since it started.
type Consumer struct {
	// Name names the consumer: its stream and its durable name, such as
	// "ORDERS/reviews".
	Name string
	// Delivered is the deliveries handed to the handler: first deliveries
	// and repeats.
	Delivered int64
	// Redelivered is the deliveries among them that were repeats: the
	// handler had failed on the event before, or its answer was lost.
	Redelivered int64
	// DeadLettered is the events given up on and sent to the dead-letter
	// subject.
	DeadLettered int64
	// InFlight is the events received and not yet answered.
	InFlight int
}

// Saga is what an orchestrator reports of the sagas of one kind.
type Saga struct {
	// Name is the kind of saga, as defined, such as "order".
	Name string
	// Running and Compensating are the unfinished sagas, going forward
	// and compensating; Stuck is those of them that no process advanced
	// for longer than the orchestrator's lease.
	Running, Compensating, Stuck int
	// Completed and Failed are the sagas this process ran to their end
	// since it started: every step done, or compensated after a step
	// failed.
	Completed, Failed int64
}
