package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tailorkit/tailor/fault"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
)

func TestCodeOfAndKindOf(t *testing.T) {
	tests := []struct {
		kind fault.Kind
		code codes.Code
	}{
		{fault.Internal, codes.Internal},
		{fault.InvalidArgument, codes.InvalidArgument},
		{fault.Unauthenticated, codes.Unauthenticated},
		{fault.PermissionDenied, codes.PermissionDenied},
		{fault.NotFound, codes.NotFound},
		{fault.Conflict, codes.AlreadyExists},
		{fault.FailedPrecondition, codes.FailedPrecondition},
		{fault.ResourceExhausted, codes.ResourceExhausted},
		{fault.Canceled, codes.Canceled},
		{fault.Unavailable, codes.Unavailable},
		{fault.DeadlineExceeded, codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := tailorgrpc.CodeOf(tt.kind); got != tt.code {
				t.Errorf("CodeOf(%v) = %v, want %v", tt.kind, got, tt.code)
			}
			if got := tailorgrpc.KindOf(tt.code); got != tt.kind {
				t.Errorf("KindOf(%v) = %v, want %v", tt.code, got, tt.kind)
			}
		})
	}
	nearest := map[codes.Code]fault.Kind{
		codes.Aborted: fault.Conflict, codes.OutOfRange: fault.InvalidArgument,
		codes.Unknown: fault.Internal, codes.Unimplemented: fault.Internal, codes.DataLoss: fault.Internal, codes.Code(99): fault.Internal,
	}
	for code, want := range nearest {
		if got := tailorgrpc.KindOf(code); got != want {
			t.Errorf("KindOf(%v) = %v, want %v", code, got, want)
		}
	}
}

func TestStatus(t *testing.T) {
	generic := func(k fault.Kind) string { return (&fault.Error{Kind: k}).PublicDetail() }
	cases := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{name: "nil", err: nil, wantCode: codes.OK, wantMsg: ""},
		{name: "fault", err: fault.New(fault.NotFound, `no user "ann"`), wantCode: codes.NotFound, wantMsg: `no user "ann"`},
		{name: "wrapped fault", err: fmt.Errorf("load user: %w", fault.New(fault.NotFound, `no user "ann"`)), wantCode: codes.NotFound, wantMsg: `no user "ann"`},
		{name: "fault without detail", err: fault.New(fault.PermissionDenied, ""), wantCode: codes.PermissionDenied, wantMsg: "Forbidden"},
		{name: "server fault", err: fault.Wrap(errors.New("pq: connection refused"), fault.Internal, "db down"), wantCode: codes.Internal, wantMsg: generic(fault.Internal)},
		{name: "conflict", err: fault.New(fault.Conflict, "taken"), wantCode: codes.AlreadyExists, wantMsg: "taken"},
		{name: "kind", err: fault.NotFound, wantCode: codes.NotFound, wantMsg: "Not Found"},
		{name: "deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded), wantCode: codes.DeadlineExceeded, wantMsg: generic(fault.DeadlineExceeded)},
		{name: "canceled", err: context.Canceled, wantCode: codes.Canceled, wantMsg: "Client Closed Request"},
		{name: "plain error", err: errors.New("secret: nil map"), wantCode: codes.Internal, wantMsg: generic(fault.Internal)},
		{name: "status of a client fault", err: status.Error(codes.NotFound, "no such order"), wantCode: codes.NotFound, wantMsg: "no such order"},
		{name: "status with code of no kind", err: status.Error(codes.Aborted, "retry the transaction"), wantCode: codes.Aborted, wantMsg: "retry the transaction"},
		{name: "status of a server fault", err: status.Error(codes.Unavailable, "dial tcp 10.0.0.7:5432: connect: connection refused"), wantCode: codes.Unavailable, wantMsg: generic(fault.Unavailable)},
		{name: "unknown status", err: status.Error(codes.Unknown, "secret"), wantCode: codes.Unknown, wantMsg: generic(fault.Internal)},
		{name: "unimplemented", err: status.Error(codes.Unimplemented, "method Echo not implemented"), wantCode: codes.Unimplemented, wantMsg: "method Echo not implemented"},
		{name: "wrapped status", err: fmt.Errorf("secret: %w", status.Error(codes.NotFound, "no such order")), wantCode: codes.NotFound, wantMsg: "no such order"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tailorgrpc.Status(tc.err)
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
				t.Errorf("Status(%v): got %v %q, want %v %q", tc.err, st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
			if err := tailorgrpc.Status(st.Err()); err.Code() != st.Code() || err.Message() != st.Message() {
				t.Errorf("Status of its own result: got %v %q, want it unchanged", err.Code(), err.Message())
			}
		})
	}
}

func TestError(t *testing.T) {
	badRequest, err := status.New(codes.InvalidArgument, "bad order").WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "sku", Description: "required"}}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)},
	)
	if err != nil {
		t.Fatalf("WithDetails: %v", err)
	}
	negative, err := status.New(codes.Unavailable, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)})
	if err != nil {
		t.Fatalf("WithDetails: %v", err)
	}

	cases := []struct {
		name           string
		st             *status.Status
		wantNil        bool
		wantKind       fault.Kind
		wantDetail     string
		wantViolations int
		wantRetryAfter time.Duration
	}{
		{name: "nil", st: nil, wantNil: true},
		{name: "ok", st: status.New(codes.OK, ""), wantNil: true},
		{name: "not found", st: status.New(codes.NotFound, "no such order"), wantKind: fault.NotFound, wantDetail: "no such order"},
		{name: "aborted", st: status.New(codes.Aborted, "retry"), wantKind: fault.Conflict, wantDetail: "retry"},
		{name: "out of range", st: status.New(codes.OutOfRange, "page 9 of 3"), wantKind: fault.InvalidArgument, wantDetail: "page 9 of 3"},
		{name: "unknown", st: status.New(codes.Unknown, "?"), wantKind: fault.Internal, wantDetail: "?"},
		{name: "details", st: badRequest, wantKind: fault.InvalidArgument, wantDetail: "bad order", wantViolations: 1, wantRetryAfter: 3 * time.Second},
		{name: "negative retry delay", st: negative, wantKind: fault.Unavailable, wantDetail: "busy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tailorgrpc.Error(tc.st)
			if tc.wantNil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %T, want *fault.Error", err)
			}
			if fe.Kind != tc.wantKind || fe.Detail != tc.wantDetail || len(fe.Violations) != tc.wantViolations || fe.RetryAfter != tc.wantRetryAfter {
				t.Errorf("got kind %v detail %q %d violations retry after %v, want %v %q %d %v",
					fe.Kind, fe.Detail, len(fe.Violations), fe.RetryAfter, tc.wantKind, tc.wantDetail, tc.wantViolations, tc.wantRetryAfter)
			}
			if got, ok := status.FromError(fe.Cause); !ok || got.Code() != tc.st.Code() {
				t.Errorf("got cause %v, want the status error", fe.Cause)
			}
		})
	}
}

func TestFromError(t *testing.T) {
	fe := fault.New(fault.NotFound, "x")
	wrappedStatus := fmt.Errorf("call inventory: %w", status.Error(codes.NotFound, "no sku"))
	cases := []struct {
		name     string
		err      error
		wantSame bool
		wantKind fault.Kind
	}{
		{name: "nil", err: nil, wantSame: true},
		{name: "io.EOF", err: io.EOF, wantSame: true},
		{name: "plain", err: errors.New("encode: bad"), wantSame: true},
		{name: "fault", err: fe, wantSame: true},
		{name: "fault over a status", err: &fault.Error{Kind: fault.Conflict, Cause: status.Error(codes.NotFound, "")}, wantSame: true},
		{name: "status", err: status.Error(codes.PermissionDenied, "no"), wantKind: fault.PermissionDenied},
		{name: "wrapped status", err: wrappedStatus, wantKind: fault.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tailorgrpc.FromError(tc.err)
			if tc.wantSame {
				if got != tc.err {
					t.Errorf("got %v, want %v unchanged", got, tc.err)
				}
				return
			}
			if !errors.Is(got, tc.wantKind) {
				t.Errorf("got %v, want kind %v", got, tc.wantKind)
			}
		})
	}
}
