package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/fault"
)

// ErrInvalidToken is the cause of every error [Verifier.Verify] returns for
// a token that is not acceptable: malformed, badly signed, expired, not yet
// valid, from another issuer, for another audience, or signed with an
// algorithm its key is not for.
var ErrInvalidToken = errors.New("auth: invalid bearer token")

// DefaultLeeway is how far a token's "exp", "nbf" and "iat" may be off
// the verifier's clock before the token is refused.
const DefaultLeeway = 30 * time.Second

// MaxTokenBytes bounds the length of a token; longer ones are refused
// before any parsing.
const MaxTokenBytes = 8 << 10

// Verifier checks bearer tokens (JWS-signed JWTs) and turns them into
// [Claims]. Build it with [NewVerifier]; the zero value is not usable. It
// is safe for concurrent use.
//
// A token is accepted when all of these hold:
//   - its header names a key ID ("kid") that the [KeySource] knows, and no
//     critical extensions ("crit", RFC 7515 section 4.1.11);
//   - its "alg" is one the key is for: the key's own "alg" member, or
//     without one the algorithm its type implies (EdDSA for Ed25519,
//     ES256/384/512 for the matching curve, RS* and PS* for RSA). "none"
//     and the HMAC algorithms are never accepted;
//   - the signature verifies with that key;
//   - "exp" is present and not past, "nbf" and "iat" (when present) are not
//     in the future, each within the leeway ([WithLeeway]);
//   - "iss" is the verifier's issuer and "aud" names its audience;
//   - "sub" is present.
type Verifier struct {
	keys     KeySource
	issuer   string
	audience string
	leeway   time.Duration
	parser   *jwt.Parser
}

// Option configures a [Verifier].
type Option func(*Verifier)

// WithLeeway sets how far "exp", "nbf" and "iat" may be off the clock;
// the default is [DefaultLeeway]. Values less than zero keep the default.
func WithLeeway(d time.Duration) Option {
	return func(v *Verifier) {
		if d >= 0 {
			v.leeway = d
		}
	}
}

// NewVerifier returns a verifier that checks tokens' signatures against
// keys and accepts only tokens issued by issuer ("iss") for audience
// ("aud"). Issuer and audience are required: a verifier that accepts
// tokens meant for another service lets that service's tokens in.
func NewVerifier(keys KeySource, issuer, audience string, opts ...Option) (*Verifier, error) {
	switch {
	case keys == nil:
		return nil, errors.New("auth: NewVerifier needs a KeySource; use NewRemoteKeys, NewStaticKeys or a Signer")
	case issuer == "":
		return nil, errors.New("auth: NewVerifier needs the issuer whose tokens it accepts (the tokens' \"iss\")")
	case audience == "":
		return nil, errors.New("auth: NewVerifier needs the audience the tokens must name (the tokens' \"aud\"), such as this service's name")
	}
	v := &Verifier{keys: keys, issuer: issuer, audience: audience, leeway: DefaultLeeway}
	for _, opt := range opts {
		opt(v)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(asymmetricAlgs()),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
	)
	return v, nil
}

// tokenClaims is the JSON shape of a token's payload.
type tokenClaims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles,omitempty"`
}

// Causes of ErrInvalidToken found by the verifier itself.
var (
	errNoKeyID     = errors.New("the token's header names no key ID (\"kid\")")
	errAlgMismatch = errors.New("the token's algorithm is not the one its key is for")
	errNoSubject   = errors.New("the token names no subject (\"sub\")")
	errCritical    = errors.New("the token's header names critical extensions (\"crit\"), which this verifier does not implement")
	errTooLong     = fmt.Errorf("the token is longer than %d bytes", MaxTokenBytes)
)

// Verify checks token (without the "Bearer " prefix) and returns its
// claims.
//
// An unacceptable token gives a [*fault.Error] of kind
// [fault.Unauthenticated] whose cause wraps [ErrInvalidToken] and says
// why; when the keys cannot be had (the JWKS server is down and the key is
// not cached) the error is of kind [fault.Unavailable] and wraps
// [ErrKeysUnavailable]. Errors never contain the token.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxTokenBytes {
		return Claims{}, invalid(errTooLong)
	}
	var tc tokenClaims
	_, err := v.parser.ParseWithClaims(token, &tc, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errCritical
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKeyID
		}
		k, err := v.keys.VerificationKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		algs, err := keyAlgs(k)
		if err != nil {
			return nil, err
		}
		if alg := t.Method.Alg(); !slices.Contains(algs, alg) {
			return nil, fmt.Errorf("%w: key %q is for %v, the token says %q", errAlgMismatch, clip(kid), algs, clip(alg))
		}
		return k.Key, nil
	})
	switch {
	case errors.Is(err, ErrKeysUnavailable):
		return Claims{}, fault.Wrap(err, fault.Unavailable, "the bearer token cannot be checked now because the keys to check it are unavailable; retry later")
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return Claims{}, ctx.Err()
	case err != nil:
		return Claims{}, invalid(err)
	case tc.Subject == "":
		return Claims{}, invalid(errNoSubject)
	}
	return Claims{
		Subject:   tc.Subject,
		Roles:     tc.Roles,
		Issuer:    tc.Issuer,
		Audience:  tc.Audience,
		ExpiresAt: numericTime(tc.ExpiresAt),
		IssuedAt:  numericTime(tc.IssuedAt),
		NotBefore: numericTime(tc.NotBefore),
		ID:        tc.ID,
	}, nil
}

func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

// invalid returns the Unauthenticated error for a token refused because of
// cause, with a detail fit for the client.
func invalid(cause error) error {
	detail := "the bearer token is invalid; get a new one from the issuer"
	switch {
	case errors.Is(cause, jwt.ErrTokenExpired):
		detail = "the bearer token has expired; get a new one from the issuer"
	case errors.Is(cause, jwt.ErrTokenNotValidYet), errors.Is(cause, jwt.ErrTokenUsedBeforeIssued):
		detail = "the bearer token is not valid yet; check the issuer's clock"
	case errors.Is(cause, jwt.ErrTokenInvalidIssuer):
		detail = "the bearer token comes from an issuer this service does not trust"
	case errors.Is(cause, jwt.ErrTokenInvalidAudience):
		detail = "the bearer token is not meant for this service"
	}
	return &fault.Error{Kind: fault.Unauthenticated, Detail: detail,
		Cause: challenge{fmt.Errorf("%w: %w", ErrInvalidToken, cause), `Bearer error="invalid_token"`}}
}
