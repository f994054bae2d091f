package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/fault"
)

const (
	testIssuer   = "https://users.shop.test"
	testAudience = "orders"
)

// newSigner returns a signer with a fresh Ed25519 key, and a verifier over
// its keys.
func newSigner(t *testing.T) (*Signer, *Verifier) {
	t.Helper()
	s, err := NewSigner(testIssuer, testAudience)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	v, err := NewVerifier(s, testIssuer, testAudience)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return s, v
}

func sign(t *testing.T, s *Signer, c Claims, ttl time.Duration) string {
	t.Helper()
	token, err := s.Sign(c, ttl)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return token
}

// forge signs claims with key under alg, naming kid, bypassing the Signer.
func forge(tb testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	tb.Helper()
	var header map[string]any
	if kid != "" {
		header = map[string]any{"kid": kid}
	}
	return forgeWithHeader(tb, method, key, header, claims)
}

// forgeWithHeader signs claims with key under alg and the given header
// members, bypassing the Signer.
func forgeWithHeader(tb testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.Claims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("forging a token: %v", err)
	}
	return s
}

// registered returns claims a verifier for testIssuer/testAudience accepts
// at now.
func registered(now time.Time) tokenClaims {
	return tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "user-1",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		Roles: []string{"customer"},
	}
}

// segment base64url-encodes v as JSON, as a token's header or payload.
func segment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// wantUnauthenticated checks that err refuses a token as Unauthenticated,
// wrapping ErrInvalidToken, without quoting it.
func wantUnauthenticated(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		t.Fatal("Verify accepted the token, want it refused")
	}
	if got := fault.KindOf(err); got != fault.Unauthenticated {
		t.Errorf("kind = %v, want unauthenticated (err: %v)", got, err)
	}
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("err = %v, want it to wrap ErrInvalidToken", err)
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Errorf("error quotes the token: %v", err)
	}
	if i := strings.LastIndexByte(token, '.'); i >= 0 && len(token)-i > 8 && strings.Contains(err.Error(), token[i+1:]) {
		t.Errorf("error quotes the token's signature: %v", err)
	}
}

func TestVerifyAcceptsSignedToken(t *testing.T) {
	s, v := newSigner(t)
	token := sign(t, s, Claims{Subject: "user-1", Roles: []string{"customer", "admin"}}, time.Hour)
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "user-1" || !c.HasRole("admin") || !c.HasRole("customer") || c.HasRole("root") {
		t.Errorf("claims = %+v, want subject user-1 with roles customer and admin", c)
	}
	if c.Issuer != testIssuer || len(c.Audience) != 1 || c.Audience[0] != testAudience || c.ID == "" {
		t.Errorf("claims = %+v, want iss %q, aud [%q] and a jti", c, testIssuer, testAudience)
	}
	if d := c.ExpiresAt.Sub(c.IssuedAt); d != time.Hour {
		t.Errorf("exp - iat = %v, want 1h", d)
	}
}

func TestVerifyRefuses(t *testing.T) {
	s, v := newSigner(t)
	kid := s.KeyID()
	now := time.Now()
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	valid := sign(t, s, Claims{Subject: "user-1", Roles: []string{"customer"}}, time.Hour)
	parts := strings.Split(valid, ".")

	claimsWith := func(f func(*tokenClaims)) tokenClaims {
		c := registered(now)
		f(&c)
		return c
	}

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"alg none", segment(t, map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + segment(t, registered(now)) + "."},
		{"alg none signed by the library", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, registered(now))},
		{"tampered claims", parts[0] + "." + segment(t, claimsWith(func(c *tokenClaims) { c.Roles = []string{"admin"} })) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))},
		{"wrong key under the right kid", forge(t, jwt.SigningMethodEdDSA, otherKey, kid, registered(now))},
		{"unknown kid", forge(t, jwt.SigningMethodEdDSA, otherKey, "someone-elses-key", registered(now))},
		{"critical extension", forgeWithHeader(t, jwt.SigningMethodEdDSA, s.current.key, map[string]any{"kid": kid, "crit": []string{"b64"}, "b64": false}, registered(now))},
		{"kid not a string", forgeWithHeader(t, jwt.SigningMethodEdDSA, s.current.key, map[string]any{"kid": []string{kid}}, registered(now))},
		{"no kid", forge(t, jwt.SigningMethodEdDSA, otherKey, "", registered(now))},
		{"HS256 keyed with the public key", forge(t, jwt.SigningMethodHS256, []byte(s.current.public.Key.(ed25519.PublicKey)), kid, registered(now))},
		{"expired", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		}))},
		{"no exp", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.ExpiresAt = nil }))},
		{"not yet valid", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
		}))},
		{"issued in the future", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute))
		}))},
		{"wrong issuer", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.Issuer = "https://evil.test" }))},
		{"no issuer", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.Issuer = "" }))},
		{"wrong audience", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.Audience = jwt.ClaimStrings{"payments"} }))},
		{"no audience", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.Audience = nil }))},
		{"no subject", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) { c.Subject = "" }))},
		{"too long", forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, claimsWith(func(c *tokenClaims) {
			c.Roles = []string{strings.Repeat("r", MaxTokenBytes)}
		}))},
		{"non-canonical base64", parts[0] + "." + parts[1] + "." + flipLastBits(parts[2])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			wantUnauthenticated(t, err, tt.token)
			if c.Subject != "" {
				t.Errorf("claims = %+v for a refused token, want none", c)
			}
		})
	}
}

// flipLastBits changes the unused low bits of the last base64url character,
// which lenient decoders ignore: the signature decodes to the same bytes
// but the token is a different string.
func flipLastBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^1])
}

func TestVerifyPinsAlgorithmToKey(t *testing.T) {
	now := time.Now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewStaticKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey.Public(), KeyID: "rsa-any"},
		{Key: rsaKey.Public(), KeyID: "rsa-ps256", Algorithm: "PS256"},
		{Key: ecKey.Public(), KeyID: "ec"},
	}})
	if err != nil {
		t.Fatalf("NewStaticKeys: %v", err)
	}
	v, err := NewVerifier(keys, testIssuer, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    any
		kid    string
		ok     bool
	}{
		{"RS256 with an RSA key without alg", jwt.SigningMethodRS256, rsaKey, "rsa-any", true},
		{"PS512 with an RSA key without alg", jwt.SigningMethodPS512, rsaKey, "rsa-any", true},
		{"PS256 with a PS256 key", jwt.SigningMethodPS256, rsaKey, "rsa-ps256", true},
		{"RS256 with a PS256 key", jwt.SigningMethodRS256, rsaKey, "rsa-ps256", false},
		{"ES256 with a P-256 key", jwt.SigningMethodES256, ecKey, "ec", true},
		{"HS256 with the RSA key's modulus", jwt.SigningMethodHS256, rsaKey.N.Bytes(), "rsa-any", false},
		{"RS256 naming the EC key", jwt.SigningMethodRS256, rsaKey, "ec", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := forge(t, tt.method, tt.key, tt.kid, registered(now))
			_, err := v.Verify(context.Background(), token)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v, want the token accepted", err)
				}
				return
			}
			wantUnauthenticated(t, err, token)
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, v := newSigner(t)
		token := sign(t, s, Claims{Subject: "user-1"}, time.Minute)

		time.Sleep(time.Minute + DefaultLeeway - time.Second)
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatalf("Verify a second before exp + leeway: %v, want accepted", err)
		}
		time.Sleep(time.Second)
		_, err := v.Verify(context.Background(), token)
		wantUnauthenticated(t, err, token)
		if !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("err = %v, want it to wrap jwt.ErrTokenExpired", err)
		}
		if fe := fault.As(err); !strings.Contains(fe.Detail, "expired") {
			t.Errorf("detail = %q, want it to say the token expired", fe.Detail)
		}

		strict, err := NewVerifier(s, testIssuer, testAudience, WithLeeway(0))
		if err != nil {
			t.Fatal(err)
		}
		fresh := sign(t, s, Claims{Subject: "user-1"}, time.Minute)
		time.Sleep(time.Minute - time.Second)
		if _, err := strict.Verify(context.Background(), fresh); err != nil {
			t.Errorf("zero-leeway Verify a second before exp: %v, want accepted", err)
		}
		time.Sleep(time.Second)
		if _, err := strict.Verify(context.Background(), fresh); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("zero-leeway Verify at exp: %v, want expired", err)
		}
	})
}

func TestVerifyNotBeforeWithinLeeway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, v := newSigner(t)
		now := time.Now()
		kid := s.KeyID()
		early := registered(now)
		early.NotBefore = jwt.NewNumericDate(now.Add(DefaultLeeway))
		early.IssuedAt = jwt.NewNumericDate(now.Add(DefaultLeeway))
		token := forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, early)
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Errorf("Verify of a token from a clock %v ahead: %v, want accepted", DefaultLeeway, err)
		}
		early.NotBefore = jwt.NewNumericDate(now.Add(DefaultLeeway + time.Second))
		token = forge(t, jwt.SigningMethodEdDSA, s.current.key, kid, early)
		_, err := v.Verify(context.Background(), token)
		wantUnauthenticated(t, err, token)
		if !errors.Is(err, jwt.ErrTokenNotValidYet) {
			t.Errorf("err = %v, want it to wrap jwt.ErrTokenNotValidYet", err)
		}
	})
}

func TestNewVerifierNeedsIssuerAndAudience(t *testing.T) {
	s, _ := newSigner(t)
	for _, tt := range []struct {
		name          string
		keys          KeySource
		iss, aud      string
		wantInMessage string
	}{
		{"no keys", nil, testIssuer, testAudience, "KeySource"},
		{"no issuer", s, "", testAudience, "issuer"},
		{"no audience", s, testIssuer, "", "audience"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.keys, tt.iss, tt.aud)
			if err == nil || !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("NewVerifier: %v, want an error naming the %s", err, tt.wantInMessage)
			}
		})
	}
}

func TestNewStaticKeysRefusesUnusableKeys(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		key  jose.JSONWebKey
	}{
		{"symmetric", jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs", Algorithm: "HS256"}},
		{"weak RSA", jose.JSONWebKey{Key: weak.Public(), KeyID: "weak"}},
		{"alg that does not fit", jose.JSONWebKey{Key: edPub, KeyID: "ed", Algorithm: "RS256"}},
		{"HS alg on an asymmetric key", jose.JSONWebKey{Key: edPub, KeyID: "ed", Algorithm: "HS256"}},
		{"no kid", jose.JSONWebKey{Key: edPub}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewStaticKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{tt.key}})
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("NewStaticKeys: %v, want ErrBadKey", err)
			}
		})
	}
	_, err = NewStaticKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: edPub, KeyID: "a"}, {Key: edPub, KeyID: "a"}}})
	if !errors.Is(err, ErrBadKey) {
		t.Errorf("NewStaticKeys with a duplicate kid: %v, want ErrBadKey", err)
	}
}

func TestNewStaticKeysTakesPublicHalfAndSkipsEncryptionKeys(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keys, err := NewStaticKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: priv, KeyID: "sig"},
		{Key: priv.Public(), KeyID: "enc", Use: "enc"},
	}})
	if err != nil {
		t.Fatalf("NewStaticKeys: %v", err)
	}
	k, err := keys.VerificationKey(context.Background(), "sig")
	if err != nil {
		t.Fatalf("VerificationKey(sig): %v", err)
	}
	if _, ok := k.Key.(ed25519.PublicKey); !ok {
		t.Errorf("key is %T, want the public half ed25519.PublicKey", k.Key)
	}
	if _, err := keys.VerificationKey(context.Background(), "enc"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("VerificationKey(enc): %v, want ErrUnknownKey", err)
	}
}
