// Package fault is tailor's error model, shared by every transport and
// middleware.
//
// Start with [Kind]: a small set of error kinds, each of which knows its HTTP
// status, its gRPC code and whether a caller may retry it. Business code
// returns an [*Error] built with [New], [Errorf] or [Wrap]; transports turn it
// into an RFC 9457 problem+json body or a gRPC status, and turn those back
// into an [*Error] on the client side, so a caller sees "not found" as
// [NotFound], not as a string.
//
// Errors wrap their causes, so [errors.Is] and [errors.As] see through them,
// and a Kind is itself an error, so
//
//	errors.Is(err, fault.NotFound)
//
// asks whether err is of that kind. [KindOf] classifies any error, including
// context cancellation and deadlines.
//
// What a client may see is [Error.Detail], never the cause's text: for kinds
// that are the server's fault (5xx) transports replace the detail with a
// generic message, so internal errors never leak.
package fault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Kind is the class of an error. The zero value is [Internal]: an error
// nobody classified is treated as the server's fault.
type Kind uint8

// The kinds. Each maps to one HTTP status and one gRPC code (see
// [Kind.HTTPStatus] and [Kind.GRPCCode]).
const (
	Internal           Kind = iota // a bug or an unexpected failure in the server: 500, INTERNAL
	InvalidArgument                // the request is malformed or fails validation: 400, INVALID_ARGUMENT
	Unauthenticated                // no valid credentials: 401, UNAUTHENTICATED
	PermissionDenied               // credentials lack the right: 403, PERMISSION_DENIED
	NotFound                       // the named resource does not exist: 404, NOT_FOUND
	Conflict                       // the resource already exists or changed concurrently: 409, ALREADY_EXISTS
	FailedPrecondition             // the system is not in a state to do this: 412, FAILED_PRECONDITION
	ResourceExhausted              // a quota, rate limit or capacity is exhausted: 429, RESOURCE_EXHAUSTED
	Canceled                       // the caller gave up: 499, CANCELLED
	Unavailable                    // the callee cannot serve now; try again later: 503, UNAVAILABLE
	DeadlineExceeded               // the call ran out of time: 504, DEADLINE_EXCEEDED
	numKinds
)

type kindInfo struct {
	name      string
	title     string
	status    int
	code      codes.Code
	retryable bool
}

var kinds = [numKinds]kindInfo{
	Internal:           {"internal", "Internal Server Error", http.StatusInternalServerError, codes.Internal, false},
	InvalidArgument:    {"invalid_argument", "Bad Request", http.StatusBadRequest, codes.InvalidArgument, false},
	Unauthenticated:    {"unauthenticated", "Unauthorized", http.StatusUnauthorized, codes.Unauthenticated, false},
	PermissionDenied:   {"permission_denied", "Forbidden", http.StatusForbidden, codes.PermissionDenied, false},
	NotFound:           {"not_found", "Not Found", http.StatusNotFound, codes.NotFound, false},
	Conflict:           {"conflict", "Conflict", http.StatusConflict, codes.AlreadyExists, false},
	FailedPrecondition: {"failed_precondition", "Precondition Failed", http.StatusPreconditionFailed, codes.FailedPrecondition, false},
	ResourceExhausted:  {"resource_exhausted", "Too Many Requests", http.StatusTooManyRequests, codes.ResourceExhausted, true},
	Canceled:           {"canceled", "Client Closed Request", 499, codes.Canceled, false},
	Unavailable:        {"unavailable", "Service Unavailable", http.StatusServiceUnavailable, codes.Unavailable, true},
	DeadlineExceeded:   {"deadline_exceeded", "Gateway Timeout", http.StatusGatewayTimeout, codes.DeadlineExceeded, true},
}

func (k Kind) info() kindInfo {
	if k >= numKinds {
		return kinds[Internal]
	}
	return kinds[k]
}

// String returns the kind's stable snake_case name, such as "not_found". It
// is the value of the "kind" member of a problem+json body.
func (k Kind) String() string { return k.info().name }

// Error makes a Kind usable as an [errors.Is] target: errors.Is(err,
// fault.NotFound) reports whether err is an [*Error] of kind NotFound.
func (k Kind) Error() string { return strings.ReplaceAll(k.info().name, "_", " ") }

// Title is the short human summary used as a problem's "title".
func (k Kind) Title() string { return k.info().title }

// HTTPStatus is the kind's HTTP status code.
func (k Kind) HTTPStatus() int { return k.info().status }

// GRPCCode is the kind's gRPC status code. [Conflict] maps to ALREADY_EXISTS;
// ABORTED also maps back to Conflict (see [FromGRPCCode]).
func (k Kind) GRPCCode() codes.Code { return k.info().code }

// Retryable reports whether a caller may try the same call again later:
// true for [Unavailable], [DeadlineExceeded] and [ResourceExhausted]. Whether
// it is safe to retry also depends on the call being idempotent, which only
// the caller knows.
func (k Kind) Retryable() bool { return k.info().retryable }

// ServerFault reports whether the kind is the server's fault (an HTTP 5xx).
// Transports never show such an error's detail to clients.
func (k Kind) ServerFault() bool { return k.HTTPStatus() >= 500 }

// ParseKind returns the kind named by s, as printed by [Kind.String].
func ParseKind(s string) (Kind, bool) {
	for k := range numKinds {
		if kinds[k].name == s {
			return k, true
		}
	}
	return Internal, false
}

// FromHTTPStatus returns the kind that best describes an HTTP status code:
// the kind whose status it is, Unavailable for 502, DeadlineExceeded for
// 408, InvalidArgument for other 4xx (413, 415, 422 and the like), and
// Internal otherwise.
func FromHTTPStatus(status int) Kind {
	for k := range numKinds {
		if kinds[k].status == status {
			return k
		}
	}
	switch {
	case status == http.StatusBadGateway:
		return Unavailable
	case status == http.StatusRequestTimeout:
		return DeadlineExceeded
	case status >= 400 && status < 500:
		return InvalidArgument
	}
	return Internal
}

// FromGRPCCode returns the kind for a gRPC status code. Codes without a kind
// of their own map to the nearest one: ABORTED to Conflict, OUT_OF_RANGE to
// InvalidArgument, UNKNOWN, UNIMPLEMENTED and DATA_LOSS to Internal.
func FromGRPCCode(c codes.Code) Kind {
	for k := range numKinds {
		if kinds[k].code == c {
			return k
		}
	}
	switch c {
	case codes.Aborted:
		return Conflict
	case codes.OutOfRange:
		return InvalidArgument
	}
	return Internal
}

// Violation is one problem with one field of the input, for requests that
// fail validation.
type Violation struct {
	// Field names the input field, as the client spelled it ("price.amount").
	Field string `json:"field"`
	// Description says what is wrong and what is expected.
	Description string `json:"description"`
}

// Error is an error with a [Kind], a message that is safe to show a client,
// and an optional cause. The zero value is an Internal error with no detail.
//
// An *Error is immutable once returned; the With methods return copies.
type Error struct {
	// Kind classifies the error.
	Kind Kind
	// Detail says what went wrong and what to do, in words fit for the
	// client. Transports send it for 4xx kinds and replace it for 5xx ones.
	Detail string
	// Violations lists field-level problems of an InvalidArgument error.
	Violations []Violation
	// RetryAfter, when positive, tells the caller how long to wait before
	// retrying (HTTP Retry-After).
	RetryAfter time.Duration
	// Status, when non-zero, overrides the kind's HTTP status (413, 415 and
	// 422 are all InvalidArgument).
	Status int
	// Cause is the underlying error; it is never shown to clients.
	Cause error
}

// New returns an error of the given kind whose detail is detail.
func New(kind Kind, detail string) *Error {
	return &Error{Kind: kind, Detail: detail}
}

// Errorf returns an error of the given kind whose detail is formatted from
// format and args. A %w verb makes the wrapped error its cause, and several
// %w verbs make all of them causes (and put the wrapped errors' text in the
// detail, so use them only when that text is fit for a client, or use
// [Wrap]).
func Errorf(kind Kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	cause := errors.Unwrap(err)
	if _, ok := err.(interface{ Unwrap() []error }); ok {
		// Several %w: errors.Unwrap gives nil, but err wraps them all.
		cause = err
	}
	return &Error{Kind: kind, Detail: err.Error(), Cause: cause}
}

// Wrap returns an error of the given kind that wraps cause and shows the
// client only detail. It returns nil when cause is nil.
func Wrap(cause error, kind Kind, detail string) error {
	if cause == nil {
		return nil
	}
	return &Error{Kind: kind, Detail: detail, Cause: cause}
}

// Invalid returns an InvalidArgument error listing the given violations,
// with HTTP status 422 (the input was well-formed but not acceptable).
func Invalid(violations ...Violation) *Error {
	var b strings.Builder
	b.WriteString("the request failed validation")
	for i, v := range violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Description)
	}
	return &Error{Kind: InvalidArgument, Detail: b.String(), Violations: violations, Status: http.StatusUnprocessableEntity}
}

// Error returns the kind, the detail and the cause's text. It is meant for
// logs; clients see only [Error.Detail].
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil && (e.Detail == "" || !strings.Contains(e.Detail, e.Cause.Error())) {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is e's Kind, so errors.Is(err, fault.NotFound)
// works.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// HTTPStatus is e.Status if set, otherwise the kind's status.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.HTTPStatus()
}

// PublicDetail is the detail a client may see: e.Detail for client errors,
// and for server errors (5xx) only the kind's generic description.
func (e *Error) PublicDetail() string {
	if e.Kind.ServerFault() || e.HTTPStatus() >= 500 {
		return genericDetail(e.Kind)
	}
	if e.Detail == "" {
		return e.Kind.Title()
	}
	return e.Detail
}

func genericDetail(k Kind) string {
	switch k {
	case Unavailable:
		return "the service is unavailable; retry later"
	case DeadlineExceeded:
		return "the request ran out of time; retry later or with a longer deadline"
	}
	return "the server failed to handle the request; quote the request id when reporting it"
}

// As returns err as an *Error: err itself or the first *Error in its chain,
// or a new Error of kind [KindOf](err) wrapping err.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Kind: KindOf(err), Cause: err}
}

// KindOf classifies any error: the Kind of the first [*Error] in its chain,
// DeadlineExceeded for [context.DeadlineExceeded], Canceled for
// [context.Canceled], a [Kind] itself; for a [net.Error] (a refused or
// reset connection, a name that does not resolve, a failed HTTP round
// trip) DeadlineExceeded when it timed out and Unavailable otherwise; and
// Internal for everything else. It is the one classification that
// callers, metrics and spans share. KindOf(nil) is Internal; check for
// nil first.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		if netErr.Timeout() {
			return DeadlineExceeded
		}
		return Unavailable
	}
	return Internal
}

// IsRetryable reports whether err is of a kind a caller may retry.
func IsRetryable(err error) bool {
	return err != nil && KindOf(err).Retryable()
}

// RetryAfter returns how long err asks the caller to wait before retrying,
// or zero.
func RetryAfter(err error) time.Duration {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.RetryAfter
	}
	return 0
}
