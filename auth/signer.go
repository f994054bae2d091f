package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RetiredKeyGrace is how long a key replaced by [Signer.Rotate] stays in
// the signer's JWKS after the last token it signed expires, to cover the
// leeway verifiers give and their caches.
const RetiredKeyGrace = 5 * time.Minute

// JWKSContentType is the media type [Signer.JWKSHandler] answers with
// (RFC 7517).
const JWKSContentType = "application/jwk-set+json"

// Signer issues signed tokens for an issuing service, such as the service
// that logs users in. Build it with [NewSigner]; the zero value is not
// usable. It is safe for concurrent use.
//
// It signs with one current key, EdDSA (Ed25519) unless [WithSigningKey]
// gives another. [Signer.Rotate] replaces the current key; the keys it
// replaced stay in the signer's JWKS ([Signer.JWKS], [Signer.JWKSHandler])
// until the last token each signed has expired, plus [RetiredKeyGrace],
// so tokens issued before a rotation keep verifying. A key's ID ("kid") is
// its RFC 7638 thumbprint, so replicas that load the same key publish the
// same ID.
//
// A Signer is also a [KeySource] over its own keys, for a service that
// verifies the tokens it issues.
type Signer struct {
	issuer   string
	audience string

	mu      sync.Mutex
	current *signingKey
	retired []*signingKey
}

var _ KeySource = (*Signer)(nil)

// signingKey is one private key and what the signer knows of it.
type signingKey struct {
	key        crypto.Signer
	method     jwt.SigningMethod
	public     jose.JSONWebKey // the public half, with kid, alg and use
	lastExpiry time.Time       // when the last token it signed expires
}

func newSigningKey(key crypto.Signer) (*signingKey, error) {
	var method jwt.SigningMethod
	switch k := key.(type) {
	case ed25519.PrivateKey:
		method = jwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			method = jwt.SigningMethodES256
		case elliptic.P384():
			method = jwt.SigningMethodES384
		case elliptic.P521():
			method = jwt.SigningMethodES512
		default:
			return nil, fmt.Errorf("%w: the ECDSA key is on an unsupported curve; use P-256, P-384 or P-521", ErrBadKey)
		}
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: the RSA key has %d bits; use at least %d", ErrBadKey, k.N.BitLen(), minRSABits)
		}
		method = jwt.SigningMethodRS256
	case nil:
		return nil, fmt.Errorf("%w: no key given", ErrBadKey)
	default:
		return nil, fmt.Errorf("%w: keys of type %T cannot sign tokens; use Ed25519 (GenerateKey), ECDSA or RSA", ErrBadKey, key)
	}
	pub := jose.JSONWebKey{Key: key.Public(), Algorithm: method.Alg(), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	return &signingKey{key: key, method: method, public: pub}, nil
}

// SignerOption configures a [Signer].
type SignerOption func(*signerConfig)

type signerConfig struct {
	key crypto.Signer
}

// WithSigningKey makes the signer start with key instead of a freshly
// generated Ed25519 key: an [ed25519.PrivateKey] (EdDSA), an
// [*ecdsa.PrivateKey] on P-256, P-384 or P-521 (ES256, ES384, ES512) or an
// [*rsa.PrivateKey] of at least 2048 bits (RS256). Replicas of a service
// that sign tokens must share their key, loaded with
// [ParsePrivateKeyPEM]; a generated key is private to one process.
func WithSigningKey(key crypto.Signer) SignerOption {
	return func(c *signerConfig) { c.key = key }
}

// NewSigner returns a signer whose tokens name issuer as their "iss" and,
// unless the claims given to [Signer.Sign] name one, audience as their
// "aud". It fails with [ErrBadKey] when the [WithSigningKey] key cannot
// sign tokens.
func NewSigner(issuer, audience string, opts ...SignerOption) (*Signer, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: NewSigner needs the issuer (\"iss\") and the default audience (\"aud\") of its tokens")
	}
	var c signerConfig
	for _, opt := range opts {
		opt(&c)
	}
	if c.key == nil {
		k, err := GenerateKey()
		if err != nil {
			return nil, err
		}
		c.key = k
	}
	sk, err := newSigningKey(c.key)
	if err != nil {
		return nil, err
	}
	return &Signer{issuer: issuer, audience: audience, current: sk}, nil
}

// GenerateKey returns a new Ed25519 private key. Store it with
// [x509.MarshalPKCS8PrivateKey] and [pem.Encode] and load it with
// [ParsePrivateKeyPEM].
func GenerateKey() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generating an Ed25519 key: %w", err)
	}
	return k, nil
}

// ParsePrivateKeyPEM reads a private key from the first PEM block of data,
// which must be PKCS#8 ("PRIVATE KEY", as openssl genpkey writes it).
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("auth: no PEM block found; give a PKCS#8 private key (-----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: PEM block is %q, want \"PRIVATE KEY\" (PKCS#8); convert it with openssl pkcs8 -topk8 -nocrypt", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: reading the PKCS#8 private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: keys of type %T cannot sign tokens", ErrBadKey, k)
	}
	return s, nil
}

// Sign returns a signed token (a compact JWS) carrying c that expires ttl
// from now. The signer sets "iss" to its issuer, "iat" and "nbf" to now,
// "exp" to now plus ttl, "aud" to its audience unless c.Audience names
// one, and "jti" to a random ID unless c.ID is set; c.Issuer, c.IssuedAt,
// c.NotBefore and c.ExpiresAt are ignored. c.Subject and a positive ttl
// are required.
func (s *Signer) Sign(c Claims, ttl time.Duration) (string, error) {
	if c.Subject == "" {
		return "", errors.New("auth: Sign needs the claims' Subject, who the token is for")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("auth: Sign needs a positive lifetime, got %v", ttl)
	}
	now := time.Now()
	exp := now.Add(ttl)
	aud := c.Audience
	if len(aud) == 0 {
		aud = []string{s.audience}
	}
	id := c.ID
	if id == "" {
		id = rand.Text()
	}
	s.mu.Lock()
	k := s.current
	if exp.After(k.lastExpiry) {
		k.lastExpiry = exp
	}
	s.mu.Unlock()

	t := jwt.NewWithClaims(k.method, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   c.Subject,
			Audience:  aud,
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        id,
		},
		Roles: c.Roles,
	})
	t.Header["kid"] = k.public.KeyID
	signed, err := t.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("auth: signing a token with key %q: %w", k.public.KeyID, err)
	}
	return signed, nil
}

// Rotate makes key the current signing key (see [WithSigningKey] for the
// keys it takes). The key it replaces signs no more tokens but stays in the
// JWKS until the tokens it signed have expired. It fails with [ErrBadKey]
// when key cannot sign tokens or is the current key already.
func (s *Signer) Rotate(key crypto.Signer) error {
	sk, err := newSigningKey(key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk.public.KeyID == s.current.public.KeyID {
		return fmt.Errorf("%w: key %q is the current key already; rotate to a new key", ErrBadKey, sk.public.KeyID)
	}
	s.retired = slices.DeleteFunc(s.retired, func(r *signingKey) bool { return r.public.KeyID == sk.public.KeyID })
	s.retired = append(s.retired, s.current)
	s.current = sk
	return nil
}

// publishedLocked returns the keys to publish, current first, dropping
// retired keys whose tokens have all expired. s.mu must be held.
func (s *Signer) publishedLocked() []jose.JSONWebKey {
	now := time.Now()
	s.retired = slices.DeleteFunc(s.retired, func(r *signingKey) bool {
		return now.After(r.lastExpiry.Add(RetiredKeyGrace))
	})
	keys := []jose.JSONWebKey{s.current.public}
	for i := len(s.retired) - 1; i >= 0; i-- {
		keys = append(keys, s.retired[i].public)
	}
	return keys
}

// KeyID returns the ID ("kid") of the current signing key.
func (s *Signer) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.public.KeyID
}

// JWKS returns the public keys that verify the signer's unexpired tokens:
// the current key first, then the retired ones, newest first.
func (s *Signer) JWKS() jose.JSONWebKeySet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jose.JSONWebKeySet{Keys: s.publishedLocked()}
}

// VerificationKey implements [KeySource] over [Signer.JWKS].
func (s *Signer) VerificationKey(_ context.Context, kid string) (jose.JSONWebKey, error) {
	for _, k := range s.JWKS().Keys {
		if k.KeyID == kid {
			return k, nil
		}
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w %q among the signer's keys", ErrUnknownKey, clip(kid))
}

// JWKSHandler returns an HTTP handler that serves [Signer.JWKS] to GET and
// HEAD requests as application/jwk-set+json, with Cache-Control letting
// caches keep it for a minute, so a rotation shows within a minute even
// behind a cache. Other methods get 405 as problem+json. Mount it where
// verifiers expect it, such as /.well-known/jwks.json.
func (s *Signer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			thttp.WriteError(w, r, &fault.Error{
				Kind:   fault.InvalidArgument,
				Status: http.StatusMethodNotAllowed,
				Detail: "the JWKS is read with GET",
			})
			return
		}
		body, err := json.Marshal(s.JWKS())
		if err != nil {
			thttp.WriteError(w, r, fmt.Errorf("auth: encoding the JWKS: %w", err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", JWKSContentType)
		h.Set("Cache-Control", "public, max-age=60")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body) // a write error means the client left
	})
}
