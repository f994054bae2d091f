package grpc

import (
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tailorkit/tailor/fault"
)

// CodeOf returns the gRPC status code of kind: the code of the same name,
// except that [fault.Conflict] is ALREADY_EXISTS and [fault.Canceled] is
// CANCELLED. A kind fault does not know is INTERNAL.
func CodeOf(kind fault.Kind) codes.Code {
	switch kind {
	case fault.InvalidArgument:
		return codes.InvalidArgument
	case fault.Unauthenticated:
		return codes.Unauthenticated
	case fault.PermissionDenied:
		return codes.PermissionDenied
	case fault.NotFound:
		return codes.NotFound
	case fault.Conflict:
		return codes.AlreadyExists
	case fault.FailedPrecondition:
		return codes.FailedPrecondition
	case fault.ResourceExhausted:
		return codes.ResourceExhausted
	case fault.Canceled:
		return codes.Canceled
	case fault.Unavailable:
		return codes.Unavailable
	case fault.DeadlineExceeded:
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// KindOf returns the kind of a gRPC status code, the inverse of [CodeOf].
// Codes without a kind of their own map to the nearest one: ABORTED to
// [fault.Conflict], OUT_OF_RANGE to [fault.InvalidArgument], and UNKNOWN,
// UNIMPLEMENTED, DATA_LOSS, OK and codes gRPC does not define to
// [fault.Internal].
func KindOf(code codes.Code) fault.Kind {
	switch code {
	case codes.InvalidArgument, codes.OutOfRange:
		return fault.InvalidArgument
	case codes.Unauthenticated:
		return fault.Unauthenticated
	case codes.PermissionDenied:
		return fault.PermissionDenied
	case codes.NotFound:
		return fault.NotFound
	case codes.AlreadyExists, codes.Aborted:
		return fault.Conflict
	case codes.FailedPrecondition:
		return fault.FailedPrecondition
	case codes.ResourceExhausted:
		return fault.ResourceExhausted
	case codes.Canceled:
		return fault.Canceled
	case codes.Unavailable:
		return fault.Unavailable
	case codes.DeadlineExceeded:
		return fault.DeadlineExceeded
	}
	return fault.Internal
}

// Status returns the gRPC status a server sends for err. It is what the
// server interceptors do with every error a handler returns; call it
// yourself only in code that bypasses them.
//
//   - nil gives the OK status.
//   - An error with a [*fault.Error] in its chain gives a status whose code is
//     [CodeOf] the kind and whose message is
//     [fault.Error.PublicDetail], so the detail of a server-fault (5xx) kind
//     never reaches the client. Violations travel as a google.rpc.BadRequest
//     detail (for client-fault kinds only) and a positive RetryAfter as a
//     google.rpc.RetryInfo detail.
//   - [context.Canceled] and [context.DeadlineExceeded] give CANCELLED and
//     DEADLINE_EXCEEDED.
//   - An error that already carries a gRPC status (one made with
//     [status.Error], say) keeps its code and details, but for codes that
//     are the server's fault the message is replaced by a generic one, so
//     text such as a downstream connection error never leaks. UNIMPLEMENTED
//     keeps its message, which names the missing method.
//   - Any other error is INTERNAL with a generic message.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return faultStatus(fe)
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		st := se.GRPCStatus()
		if st == nil || st.Code() == codes.OK {
			// A nil status or an OK status for a non-nil error is a bug in
			// whoever made it; never report success for a failure.
			return faultStatus(&fault.Error{Kind: fault.Internal})
		}
		kind := KindOf(st.Code())
		if !kind.ServerFault() || st.Code() == codes.Unimplemented {
			return st
		}
		p := st.Proto()
		p.Message = (&fault.Error{Kind: kind}).PublicDetail()
		return status.FromProto(p)
	}
	return faultStatus(&fault.Error{Kind: fault.KindOf(err)})
}

// faultStatus builds the status for fe.
func faultStatus(fe *fault.Error) *status.Status {
	st := status.New(CodeOf(fe.Kind), fe.PublicDetail())
	var details []protoadapt.MessageV1
	if len(fe.Violations) > 0 && !fe.Kind.ServerFault() {
		br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, len(fe.Violations))}
		for i, v := range fe.Violations {
			br.FieldViolations[i] = &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description}
		}
		details = append(details, br)
	}
	if fe.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(fe.RetryAfter)})
	}
	if len(details) == 0 {
		return st
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		// WithDetails fails only for an OK status or a detail that cannot be
		// marshalled; neither happens here. Sending the status without its
		// details still tells the client the kind and the detail.
		return st
	}
	return withDetails
}

// Error returns the error a client sees for st: nil for a nil or OK status,
// and otherwise a [*fault.Error] whose Kind is [KindOf] the
// status code, whose Detail is the status message, whose Violations and
// RetryAfter come from google.rpc.BadRequest and google.rpc.RetryInfo
// details, and whose Cause is st.Err(). So
//
//	errors.Is(err, fault.NotFound)
//
// works on a client as it does on the server, and a status that gRPC itself
// makes for a failed connection (UNAVAILABLE) is [fault.Unavailable], which a
// caller may retry.
//
// The client interceptors and [NewClient] call Error on every status error;
// call it yourself only in code that bypasses them. See [FromError] to
// convert an error rather than a status.
func Error(st *status.Status) error {
	if st == nil || st.Code() == codes.OK {
		return nil
	}
	fe := &fault.Error{
		Kind:   KindOf(st.Code()),
		Detail: st.Message(),
		Cause:  st.Err(),
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fe.Violations = append(fe.Violations, fault.Violation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			if delay := d.GetRetryDelay(); delay.IsValid() {
				fe.RetryAfter = max(delay.AsDuration(), time.Duration(0))
			}
		}
	}
	return fe
}

// FromError returns err as a client should see it: an error that carries a
// gRPC status becomes a [*fault.Error] as [Error] describes; nil, errors that
// already hold a [*fault.Error] and errors without a status (io.EOF at the
// end of a stream, a failure in a local encoder) are returned unchanged.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err
	}
	if conv := Error(se.GRPCStatus()); conv != nil {
		return conv
	}
	return err
}
