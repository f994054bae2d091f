// Package messaging carries events between services over NATS JetStream,
// so that services which each own their database stay consistent with
// each other, eventually.
//
// Start with [Type]: a kind of event with a Go payload type and a schema
// version. [Type.New] makes an [Event], the envelope every message carries
// (id, type, aggregate, time, version, JSON payload); [Type.Handler] and
// [Type.Decode] turn it back into the payload, and an event of a version
// the consumer does not know is a clear [ErrUnknownVersion] error.
//
// Then:
//
//   - [EnsureStream] creates or updates a stream at start;
//   - to publish a change of state, write its events in the same database
//     transaction with package
//     [github.com/tailorkit/tailor/messaging/outbox] and run its Relay, which
//     publishes them after the commit, in order, with de-duplication;
//     [Publisher] publishes directly, for events that need not be atomic
//     with a write;
//   - to consume, make a [Consumer] with [NewConsumer]: a durable JetStream
//     consumer with explicit acks, redelivery with backoff ([WithBackoff])
//     and a dead-letter subject after [WithMaxAttempts] attempts; an event
//     a crashed consumer held comes again after [WithAckWait] (10s by
//     default); wrap its handler with package
//     [github.com/tailorkit/tailor/messaging/inbox] so each event takes
//     effect once;
//   - [Connect] reaches an external server (NATS_URL, see [EnvURL]), and
//     logs the client's connection events through the telemetry's logger
//     ([ConnLogger]);
//     package [github.com/tailorkit/tailor/messaging/embedded] runs one in
//     the process, the zero-configuration default;
//   - [Check] is the broker's readiness check for a service.
//
// Relays and consumers are service components (Start and Stop), so a
// service runs them with Service.Add and stops them in order on shutdown.
//
// Required things are arguments and optional ones are options named WithX
// ([StreamOption], [ConsumerOption]).
//
// The trace context travels in the message headers: the consumer's
// "process" span is a child of the producer's "create" span, and links to
// it. [Telemetry] says where spans, counters and logs go: pass the
// service's *observability.Telemetry, which satisfies it.
package messaging
