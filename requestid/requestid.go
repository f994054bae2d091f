// Package requestid carries a request's ID across every hop of a call.
//
// A server takes the ID a client sent (HTTP header [Header], gRPC metadata
// key [MetadataKey]) when it is [Valid], and otherwise makes one with [New];
// it stores the ID in the context with [NewContext], and client transports
// send [FromContext] on to the next service. Logs and problem bodies quote
// it, so one ID finds a request everywhere it went.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"

	"github.com/tailorkit/tailor/internal/reqctx"
)

// Header is the HTTP header that carries the request ID.
const Header = "X-Request-Id"

// MetadataKey is the gRPC metadata key that carries the request ID.
const MetadataKey = "x-request-id"

// MaxLen is the longest ID accepted from a client; longer ones are replaced.
const MaxLen = 128

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id string) context.Context {
	return reqctx.WithID(ctx, id)
}

// FromContext returns the request ID in ctx, or "" when there is none.
func FromContext(ctx context.Context) string {
	return reqctx.ID(ctx)
}

// Valid reports whether id, received from a client, may be used as is: 1 to
// [MaxLen] printable ASCII characters without spaces. Anything else could
// break log lines or headers and is replaced by a new ID.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// Len is the length of an ID made by [New].
const Len = 20

const alphabet = "0123456789abcdefghijklmnopqrstuv"

// generator makes IDs from a random per-process prefix and a counter: unique
// within a process, unlikely to collide across processes, and far cheaper
// than reading the system's random source for every request.
type generator struct {
	prefix [Len / 2]byte // 50 random bits, already in base 32
	n      atomic.Uint64
}

var gen = func() *generator {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	g := &generator{}
	p := binary.LittleEndian.Uint64(b[:])
	for i := len(g.prefix) - 1; i >= 0; i-- {
		g.prefix[i] = alphabet[p&31]
		p >>= 5
	}
	return g
}()

// Append appends a new ID of [Len] base-32 characters to dst and returns the
// extended slice; it lets a caller build the ID in memory it already owns.
func Append(dst []byte) []byte {
	n := gen.n.Add(1)
	var buf [Len]byte
	copy(buf[:], gen.prefix[:])
	for i := Len - 1; i >= Len/2; i-- {
		buf[i] = alphabet[n&31]
		n >>= 5
	}
	return append(dst, buf[:]...)
}

// New returns a new request ID of [Len] characters.
func New() string {
	var b [Len]byte
	return string(Append(b[:0]))
}
