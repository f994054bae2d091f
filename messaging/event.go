package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Errors of the envelope decoder and of [Type.Decode], for [errors.Is].
var (
	// ErrMalformed: a message body is not an event envelope.
	ErrMalformed = errors.New("messaging: malformed event")
	// ErrUnknownVersion: an event's schema version is not the one the
	// consumer's [Type] knows.
	ErrUnknownVersion = errors.New("messaging: unknown event version")
	// ErrWrongType: an event was decoded as a [Type] of another name.
	ErrWrongType = errors.New("messaging: wrong event type")
)

// MaxEventSize is the largest encoded envelope [DecodeEvent] accepts, in
// bytes: JetStream's default maximum message size.
const MaxEventSize = 1 << 20

// Event is the envelope every message carries: who it is about, what
// happened, when, and the payload in JSON. The zero value is not a valid
// event; make one with [Type.New].
type Event struct {
	// ID identifies the event uniquely; it is the message's Nats-Msg-Id,
	// which JetStream de-duplicates on, and the key consumers record to
	// apply each event once.
	ID string `json:"id"`
	// Type names what happened, such as "product.created".
	Type string `json:"type"`
	// Aggregate is the id of the thing the event is about, such as the
	// product's id. Events of one aggregate are published in the order
	// they were written.
	Aggregate string `json:"aggregate,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Version is the schema version of Data, 1 or more.
	Version int `json:"version"`
	// Data is the payload, a JSON value.
	Data json.RawMessage `json:"data"`
}

// Encode returns the envelope as JSON, the body of a message.
func (e Event) Encode() ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

func (e Event) validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: no id; make events with Type.New, which sets one", ErrMalformed)
	case e.Type == "":
		return fmt.Errorf("%w: event %s has no type", ErrMalformed, e.ID)
	case e.Version < 1:
		return fmt.Errorf("%w: event %s (%s) has version %d; versions start at 1", ErrMalformed, e.ID, e.Type, e.Version)
	case len(e.Data) == 0 || !json.Valid(e.Data):
		return fmt.Errorf("%w: event %s (%s) has no JSON payload", ErrMalformed, e.ID, e.Type)
	}
	return nil
}

// DecodeEvent reads an envelope written by [Event.Encode]. A body that is
// not one, is larger than [MaxEventSize] or lacks an id, a type, a
// version or a payload is an [ErrMalformed] error; it never panics.
func DecodeEvent(body []byte) (Event, error) {
	if len(body) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: %d bytes, more than the %d an event may have", ErrMalformed, len(body), MaxEventSize)
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: data after the envelope", ErrMalformed)
	}
	if err := e.validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// Type is a kind of event whose payload is a T, at one schema version:
//
//	var ProductCreated = messaging.Type[ProductCreatedV1]{Name: "product.created", Version: 1}
//
// Producers make events with [Type.New]; consumers decode them with
// [Type.Decode] or handle them with [Type.Handler]. A Version of 0 means 1.
// A Type is plain data, safe for concurrent use.
type Type[T any] struct {
	// Name is the event type, such as "product.created".
	Name string
	// Version is the schema version of T. Default 1.
	Version int
}

func (t Type[T]) version() int { return max(t.Version, 1) }

// New returns an event of this type about aggregate with payload p, a
// fresh time-ordered id (a version 7 UUID) and the current time.
func (t Type[T]) New(aggregate string, p T) (Event, error) {
	if t.Name == "" {
		return Event{}, fmt.Errorf("messaging: event type for %T has no Name; set Type.Name", p)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return Event{}, fmt.Errorf("messaging: encode the payload of %s: %w", t.Name, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("messaging: make an id for %s: %w", t.Name, err)
	}
	return Event{ID: id.String(), Type: t.Name, Aggregate: aggregate, Time: time.Now().UTC(), Version: t.version(), Data: data}, nil
}

// Decode returns the payload of e. It fails with [ErrWrongType] when e is
// of another type, with [ErrUnknownVersion] when e's version is not t's,
// and with [ErrMalformed] when the payload does not decode into a T.
func (t Type[T]) Decode(e Event) (T, error) {
	var p T
	if e.Type != t.Name {
		return p, fmt.Errorf("%w: event %s is a %q, not a %q", ErrWrongType, e.ID, e.Type, t.Name)
	}
	if e.Version != t.version() {
		hint := "it is newer than this consumer: deploy a consumer that knows it"
		if e.Version < t.version() {
			hint = "it is older than this consumer: keep a Type for it until no producer sends it"
		}
		return p, fmt.Errorf("%w: event %s is %s version %d, and this consumer knows version %d; %s", ErrUnknownVersion, e.ID, e.Type, e.Version, t.version(), hint)
	}
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return p, fmt.Errorf("%w: payload of event %s (%s version %d) does not decode into %T: %v", ErrMalformed, e.ID, e.Type, e.Version, p, err)
	}
	return p, nil
}

// Handler returns a [Handler] that decodes each event into a T and calls
// fn. An event that does not decode is a [Permanent] error: retrying
// cannot fix it, so it goes to the dead-letter subject at once.
func (t Type[T]) Handler(fn func(ctx context.Context, e Event, p T) error) Handler {
	return func(ctx context.Context, e Event) error {
		p, err := t.Decode(e)
		if err != nil {
			return Permanent(err)
		}
		return fn(ctx, e, p)
	}
}

// Handler handles one event. An error means the event was not handled:
// the consumer delivers it again later, up to its attempt limit, unless
// the error is [Permanent]. Handlers must be safe for concurrent use when
// the consumer runs several workers.
type Handler func(ctx context.Context, e Event) error

// Mux routes events to a handler by their type. Events of a type with no
// handler are acknowledged and skipped, so a consumer can share a subject
// with event types it does not care about. Build it with literals:
//
//	mux := messaging.Mux{
//		"product.created": ProductCreated.Handler(onCreated),
//	}
type Mux map[string]Handler

// Handle calls the handler for e's type, if any.
func (m Mux) Handle(ctx context.Context, e Event) error {
	if h, ok := m[e.Type]; ok {
		return h(ctx, e)
	}
	return nil
}

// permanentError marks an error that redelivery cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix, such as a payload
// that does not decode: a consumer sends the event to its dead-letter
// subject at once instead of delivering it again. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// [Permanent].
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
