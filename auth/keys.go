package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// KeySource gives a [Verifier] the public keys that signatures are checked
// against. [NewStaticKeys] holds a JWKS in process, [NewRemoteKeys] fetches
// one from a URL and a [Signer] serves its own keys, so a service can verify
// the tokens it issues without a network hop.
//
// Implementations must be safe for concurrent use.
type KeySource interface {
	// VerificationKey returns the public key whose key ID is kid. A token
	// is accepted only with the algorithm the key's "alg" member names or,
	// without one, an algorithm its type implies. It returns an error
	// wrapping [ErrUnknownKey] when the source has no such key, and one
	// wrapping [ErrKeysUnavailable] when it cannot tell.
	VerificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error)
}

// Errors of key sources. Classify them with [errors.Is].
var (
	// ErrUnknownKey means no verification key has the key ID a token names.
	ErrUnknownKey = errors.New("auth: no verification key with the token's key ID")
	// ErrKeysUnavailable means the verification keys could not be loaded,
	// for instance because the JWKS server is down and nothing is cached.
	ErrKeysUnavailable = errors.New("auth: verification keys unavailable")
	// ErrBadKey means a key cannot be used to sign or verify tokens: it is
	// symmetric, too weak, of an unsupported type, or its "alg" does not fit
	// its type.
	ErrBadKey = errors.New("auth: unusable key")
)

// minRSABits is the smallest RSA modulus accepted, after NIST SP 800-131A.
const minRSABits = 2048

// rsaAlgs returns the algorithms an RSA key without an "alg" member may
// verify.
func rsaAlgs() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
}

// asymmetricAlgs returns all the algorithms a Verifier ever accepts: never
// "none" and never an HMAC one.
func asymmetricAlgs() []string {
	return append([]string{"EdDSA", "ES256", "ES384", "ES512"}, rsaAlgs()...)
}

// keyAlgs returns the algorithms a public key may verify: the one its "alg"
// member names, which must fit the key's type, or, without one, those its
// type implies. Symmetric and private-only keys have none.
func keyAlgs(k jose.JSONWebKey) ([]string, error) {
	var fits []string
	switch pub := k.Key.(type) {
	case ed25519.PublicKey:
		fits = []string{"EdDSA"}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			fits = []string{"ES256"}
		case elliptic.P384():
			fits = []string{"ES384"}
		case elliptic.P521():
			fits = []string{"ES512"}
		default:
			return nil, fmt.Errorf("%w: key %q is on an unsupported curve; use P-256, P-384 or P-521", ErrBadKey, k.KeyID)
		}
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: RSA key %q has %d bits; use at least %d", ErrBadKey, k.KeyID, pub.N.BitLen(), minRSABits)
		}
		fits = rsaAlgs()
	case []byte:
		return nil, fmt.Errorf("%w: key %q is symmetric; verification takes public keys only (Ed25519, ECDSA or RSA)", ErrBadKey, k.KeyID)
	default:
		return nil, fmt.Errorf("%w: key %q is of unsupported type %T; use Ed25519, ECDSA or RSA public keys", ErrBadKey, k.KeyID, k.Key)
	}
	if k.Algorithm == "" {
		return fits, nil
	}
	if !slices.Contains(fits, k.Algorithm) {
		return nil, fmt.Errorf("%w: key %q says alg %q, which does not fit its type (%v)", ErrBadKey, k.KeyID, k.Algorithm, fits)
	}
	return []string{k.Algorithm}, nil
}

// verificationKey turns a JWK into a public verification key: private keys
// are reduced to their public half, and the key's algorithms are checked.
// Keys marked for a use other than signatures are reported as skip.
func verificationKey(k jose.JSONWebKey) (pub jose.JSONWebKey, skip bool, err error) {
	if k.Use != "" && k.Use != "sig" {
		return jose.JSONWebKey{}, true, nil
	}
	if k.KeyID == "" {
		return jose.JSONWebKey{}, false, fmt.Errorf("%w: a key has no \"kid\"; give every key an ID", ErrBadKey)
	}
	if _, ok := k.Key.([]byte); !ok && !k.IsPublic() {
		k = k.Public()
		if !k.Valid() {
			return jose.JSONWebKey{}, false, fmt.Errorf("%w: key %q has no public half; publish public keys", ErrBadKey, k.KeyID)
		}
	}
	if _, err := keyAlgs(k); err != nil {
		return jose.JSONWebKey{}, false, err
	}
	return k, false, nil
}

// keyMap indexes the signing keys of a set by key ID. Strict, it rejects
// the whole set when a key is unusable, so that a mistake in a JWKS held in
// process shows at once rather than as tokens failing one by one; lenient,
// it leaves unusable keys out, so that one odd key in an issuer's published
// JWKS does not stop the others from working. Two keys with one ID are
// always an error.
func keyMap(keys []jose.JSONWebKey, strict bool) (map[string]jose.JSONWebKey, error) {
	m := make(map[string]jose.JSONWebKey, len(keys))
	for _, k := range keys {
		if _, dup := m[k.KeyID]; dup && k.KeyID != "" {
			return nil, fmt.Errorf("%w: two keys have kid %q; key IDs must be unique", ErrBadKey, k.KeyID)
		}
		pub, skip, err := verificationKey(k)
		if err != nil && strict {
			return nil, err
		}
		if err != nil || skip {
			continue
		}
		m[pub.KeyID] = pub
	}
	return m, nil
}

// StaticKeys is a [KeySource] over a fixed JWKS held in process. Build it
// with [NewStaticKeys]; the zero value holds no keys. It is safe for
// concurrent use.
type StaticKeys struct {
	keys map[string]jose.JSONWebKey
}

var _ KeySource = (*StaticKeys)(nil)

// NewStaticKeys returns a key source over the signing keys of set. Keys
// whose "use" is not "sig" are ignored; private keys are reduced to their
// public half. It fails with [ErrBadKey] when a key has no ID, shares its
// ID with another, is symmetric or of an unsupported type, or names an
// "alg" that does not fit it.
func NewStaticKeys(set jose.JSONWebKeySet) (*StaticKeys, error) {
	m, err := keyMap(set.Keys, true)
	if err != nil {
		return nil, err
	}
	return &StaticKeys{keys: m}, nil
}

// VerificationKey implements [KeySource].
func (s *StaticKeys) VerificationKey(_ context.Context, kid string) (jose.JSONWebKey, error) {
	k, ok := s.keys[kid]
	if !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%w %q", ErrUnknownKey, clip(kid))
	}
	return k, nil
}

// clip shortens a value taken from a token (such as a key ID) before it is
// quoted in an error, so an attacker cannot fill logs through it.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
