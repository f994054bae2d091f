// Package requestid carries a request's ID across every hop of a call.
//
// A server takes the ID a client sent (HTTP header [Header], gRPC metadata
// key [MetadataKey]) when it is [Valid], and otherwise makes one with [New];
// it stores the ID in the context with [NewContext], and client transports
// send [FromContext] on to the next service. Logs and problem bodies quote
// it, so one ID finds a request everywhere it went.
//
// Where to start: a service built on tailor's transports needs no code
// for this. transport/http's Router and transport/grpc's NewServer take or
// make the ID of every request, and their clients send it on; a handler
// reads it with [FromContext]. Use [Valid], [New] and [NewContext] only in
// a transport or a message consumer of your own, where a request enters
// the process.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// Header is the HTTP header that carries the request ID.
const Header = "X-Request-Id"

// MetadataKey is the gRPC metadata key that carries the request ID.
const MetadataKey = "x-request-id"

// MaxLen is the longest ID accepted from a client; longer ones are replaced.
const MaxLen = 128

// contextKey is the context key of the request ID.
type contextKey struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the request ID in ctx, or "" when there is none.
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(contextKey{}).(string)
	return id
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

// idLen is the length of an ID made by [New].
const idLen = 20

const alphabet = "0123456789abcdefghijklmnopqrstuv"

// generator makes IDs from a random per-process prefix and a counter: unique
// within a process, unlikely to collide across processes, and cheaper than
// reading the system's random source for every request.
type generator struct {
	prefix [idLen / 2]byte // 50 random bits, already in base 32
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

// New returns a new request ID of 20 base-32 characters (0-9, a-v): a
// random prefix per process and a counter. It is safe for concurrent use.
func New() string {
	n := gen.n.Add(1)
	var buf [idLen]byte
	copy(buf[:], gen.prefix[:])
	for i := idLen - 1; i >= idLen/2; i-- {
		buf[i] = alphabet[n&31]
		n >>= 5
	}
	return string(buf[:])
}
