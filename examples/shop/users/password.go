package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters for new password hashes (RFC
// 9106). A zero field takes its default, so the zero value is the
// default: 46 MiB of memory, one pass, one lane, as OWASP's password
// storage guidance lists for argon2id. Raise them as far as the login
// latency a machine allows; hashes stored under other parameters keep
// verifying, since each hash records its own.
type Params struct {
	// Memory is the memory cost in KiB; 0 means 47104 (46 MiB). It must
	// be at least 8 KiB per thread.
	Memory uint32
	// Time is the number of passes over the memory; 0 means 1.
	Time uint32
	// Threads is the degree of parallelism (lanes); 0 means 1.
	Threads uint8
}

// Defaults of [Params], and the fixed sizes of every hash.
const (
	DefaultMemory  = 46 * 1024 // KiB
	DefaultTime    = 1
	DefaultThreads = 1

	saltLen = 16 // bytes, as RFC 9106 recommends
	keyLen  = 32 // bytes of derived key
)

// Limits on the parameters of a stored hash, so a hash altered in the
// database cannot make a login take unbounded memory or time.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64
)

// errBadHash is the cause of every error about a stored hash that cannot be
// read; it never quotes the hash.
var errBadHash = errors.New("users: stored password hash is not a PHC argon2id string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")

func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = DefaultMemory
	}
	if p.Time == 0 {
		p.Time = DefaultTime
	}
	if p.Threads == 0 {
		p.Threads = DefaultThreads
	}
	return p
}

func (p Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("users: argon2id memory of %d KiB is below the minimum of 8 KiB per thread (%d threads)", p.Memory, p.Threads)
	case p.Memory > maxMemory || p.Time > maxTime || p.Threads > maxThreads:
		return fmt.Errorf("users: argon2id parameters m=%d,t=%d,p=%d exceed the limits m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads, maxMemory, maxTime, maxThreads)
	}
	return nil
}

// hasher hashes and checks passwords with argon2id. Each hash holds
// Params.Memory KiB while it runs, so at most one hash per CPU runs at a
// time and the others wait their turn (or their context's end): a burst of
// logins queues instead of exhausting memory.
type hasher struct {
	params Params
	slots  chan struct{}
	// dummy is a hash of a random password, checked when a login names no
	// known user so that the answer takes as long as a wrong password.
	dummy string
}

func newHasher(p Params) (*hasher, error) {
	p = p.withDefaults()
	if err := p.check(); err != nil {
		return nil, err
	}
	h := &hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	dummy, err := h.hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// acquire waits for a slot to hash in.
func (h *hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hash returns password's argon2id hash with a random salt, in the PHC
// string format: $argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash>, salt and
// hash in unpadded standard base64.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches encoded, a hash made by hash
// (with any parameters), comparing in constant time.
func (h *hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parseHash reads a PHC argon2id string.
func parseHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, errBadHash
	}
	var m, t, threads uint64
	for i, field := range strings.Split(parts[3], ",") {
		name, value, _ := strings.Cut(field, "=")
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return Params{}, nil, nil, errBadHash
		}
		switch {
		case i == 0 && name == "m":
			m = n
		case i == 1 && name == "t":
			t = n
		case i == 2 && name == "p" && n <= maxThreads:
			threads = n
		default:
			return Params{}, nil, nil, errBadHash
		}
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(threads)}
	if p.Time == 0 || p.Threads == 0 || p.check() != nil {
		return Params{}, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err = b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, errBadHash
	}
	key, err = b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
