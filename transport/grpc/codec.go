package grpc

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/tailorkit/tailor/fault"
)

// requestCodec is grpc-go's protobuf codec for a server, except for a
// request that does not decode. grpc-go answers such a request INTERNAL, a
// server-fault code that callers retry and alerts count, and it decides so
// before any interceptor runs. So requestCodec lets the failed message
// through, empty, and notes it; the server interceptors, which see the
// message next, answer INVALID_ARGUMENT instead, before any handler does.
//
// A requestCodec is safe for concurrent use. Only [NewServer] makes one,
// together with the interceptors that clear what it notes.
type requestCodec struct {
	encoding.CodecV2
	failed  sync.Map     // request message (a pointer) -> its decoding error
	pending atomic.Int64 // entries in failed, so that calls skip it while it is empty
}

func newRequestCodec() *requestCodec {
	return &requestCodec{CodecV2: encoding.GetCodecV2(protoenc.Name)}
}

// Unmarshal decodes data into v; see [requestCodec].
func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok || !reflect.TypeOf(v).Comparable() {
		return err
	}
	proto.Reset(m)
	c.failed.Store(v, err)
	c.pending.Add(1)
	return nil
}

// decodeFailure returns the error for a request message that did not
// decode, and forgets it; nil when m decoded.
func (c *requestCodec) decodeFailure(m any) error {
	if c == nil || m == nil || c.pending.Load() == 0 || !reflect.TypeOf(m).Comparable() {
		return nil
	}
	v, ok := c.failed.LoadAndDelete(m)
	if !ok {
		return nil
	}
	c.pending.Add(-1)
	err, _ := v.(error)
	name := "the request"
	if pm, ok := m.(proto.Message); ok {
		name = string(pm.ProtoReflect().Descriptor().FullName())
	}
	return Status(fault.Wrap(err, fault.InvalidArgument,
		fmt.Sprintf("the request message is not a valid %s in protobuf wire format (%v); send one encoded from the service's .proto", name, err))).Err()
}
