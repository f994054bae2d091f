package grpc_test

import (
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

// rawCodec sends a []byte as the message as it is, so a test can put bytes
// on the wire that no protobuf encoder would make.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestMalformedRequestIsInvalidArgument sends bytes that do not decode as
// the request message over a real connection: the answer is
// INVALID_ARGUMENT, the client's fault, not INTERNAL, which grpc-go gives
// by itself and which callers retry.
func TestMalformedRequestIsInvalidArgument(t *testing.T) {
	cc := dial(t, serveEcho(t, tailorgrpc.NewServer()))
	malformed := map[string][]byte{
		"truncated length":  {0x0a, 0x05, 'h', 'i'},   // field 1, 5 bytes promised, 2 sent
		"invalid wire type": {0x0f},                   // field 1, wire type 7
		"invalid UTF-8":     {0x0a, 0x02, 0xff, 0xfe}, // a proto3 string must be UTF-8
	}
	for name, body := range malformed {
		t.Run("unary/"+name, func(t *testing.T) {
			var reply []byte
			err := cc.Invoke(testContext(t), testpb.Echo_Echo_FullMethodName, &body, &reply, grpc.ForceCodecV2(rawCodec{}))
			if got := status.Code(errors.Unwrap(err)); got != codes.InvalidArgument || !errors.Is(err, fault.InvalidArgument) {
				t.Fatalf("got %v (code %v), want INVALID_ARGUMENT", err, got)
			}
			if fe := fault.As(err); fe.Detail == "" || fe.HTTPStatus() != 400 {
				t.Fatalf("got detail %q, status %d; want a detail and 400", fe.Detail, fe.HTTPStatus())
			}
		})
		t.Run("stream/"+name, func(t *testing.T) {
			desc := &grpc.StreamDesc{StreamName: "EchoStream", ServerStreams: true}
			stream, err := cc.NewStream(testContext(t), desc, testpb.Echo_EchoStream_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.SendMsg(&body); err != nil {
				t.Fatal(err)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var reply []byte
			err = stream.RecvMsg(&reply)
			if !errors.Is(err, fault.InvalidArgument) {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
		})
	}
	// A well-formed request on the same server still works.
	good := []byte{0x0a, 0x02, 'h', 'i'}
	var reply []byte
	if err := cc.Invoke(testContext(t), testpb.Echo_Echo_FullMethodName, &good, &reply, grpc.ForceCodecV2(rawCodec{})); err != nil {
		t.Fatalf("well-formed request: %v", err)
	}
}
