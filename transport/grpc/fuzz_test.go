package grpc_test

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tailorkit/tailor/fault"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// FuzzError feeds Error statuses as a client receives them off the wire
// (the grpc-status-details-bin trailer is a serialized google.rpc.Status):
// whatever the bytes, it must not panic, and any non-OK status must come
// back as a fault error of the code's kind.
func FuzzError(f *testing.F) {
	seed := func(code codes.Code, msg string, details ...proto.Message) []byte {
		st := &spb.Status{Code: int32(code), Message: msg}
		for _, d := range details {
			a, err := anypb.New(d)
			if err != nil {
				f.Fatal(err)
			}
			st.Details = append(st.Details, a)
		}
		b, err := proto.Marshal(st)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(codes.NotFound, "no such product"))
	f.Add(seed(codes.InvalidArgument, "bad", &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "name", Description: "is required"}}}))
	f.Add(seed(codes.Unavailable, "down", &errdetails.RetryInfo{RetryDelay: durationpb.New(-5)}))
	f.Add(seed(codes.ResourceExhausted, "slow", &errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: 1 << 62}}))
	f.Add(seed(codes.Code(99), "unknown code"))
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pb spb.Status
		if proto.Unmarshal(b, &pb) != nil {
			return
		}
		st := status.FromProto(&pb)
		err := tgrpc.Error(st)
		if st.Code() == codes.OK {
			if err != nil {
				t.Fatalf("Error(OK) = %v, want nil", err)
			}
			return
		}
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("Error(%v) = %v, want a *fault.Error", st, err)
		}
		if fe.Kind != tgrpc.KindOf(st.Code()) {
			t.Fatalf("kind = %v, want %v for code %v", fe.Kind, tgrpc.KindOf(st.Code()), st.Code())
		}
		if fe.RetryAfter < 0 {
			t.Fatalf("RetryAfter = %v, want none negative", fe.RetryAfter)
		}
		_ = err.Error()
	})
}
