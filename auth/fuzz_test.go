package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/fault"
)

// FuzzVerify feeds the verifier arbitrary tokens. Whatever the input, it
// must not panic; it may accept only the tokens the key really signed,
// and every refusal must be an Unauthenticated error that does not quote
// the token. The seeds are the attacks the verifier must refuse, beside
// the valid tokens; they run in every go test.
func FuzzVerify(f *testing.F) {
	key := ed25519.NewKeyFromSeed([]byte("tailor auth fuzz seed, 32 bytes!"))
	s, err := NewSigner(testIssuer, testAudience, WithSigningKey(key))
	if err != nil {
		f.Fatal(err)
	}
	keys, err := NewStaticKeys(s.JWKS())
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(keys, testIssuer, testAudience)
	if err != nil {
		f.Fatal(err)
	}
	kid := s.KeyID()
	now := time.Now()
	b64 := base64.RawURLEncoding.EncodeToString

	// The valid tokens are the same in every process the fuzzer starts:
	// fixed claims, and Ed25519 signatures are deterministic.
	longLived := func(sub string, roles ...string) tokenClaims {
		c := registered(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		c.Subject, c.Roles, c.ID = sub, roles, sub+"-token"
		c.ExpiresAt = jwt.NewNumericDate(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		return c
	}
	valid := []string{
		forgeWithHeader(f, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, longLived("user-1")),
		forgeWithHeader(f, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, longLived("root", "admin", "customer")),
	}
	for _, token := range valid {
		f.Add(token)
	}
	expired := registered(now.Add(-2 * time.Hour))
	parts := strings.Split(valid[0], ".")
	for _, seed := range []string{
		"",
		".",
		"..",
		"a.b.c",
		"Bearer " + valid[0],
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + ".",
		valid[0] + "." + parts[2],
		forgeWithHeader(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, registered(now)),
		forgeWithHeader(f, jwt.SigningMethodHS256, []byte(key.Public().(ed25519.PublicKey)), map[string]any{"kid": kid}, registered(now)),
		forgeWithHeader(f, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, expired),
		forgeWithHeader(f, jwt.SigningMethodEdDSA, key, map[string]any{"kid": []string{kid}}, registered(now)),
		forgeWithHeader(f, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid, "crit": []string{"exp"}}, registered(now)),
		b64([]byte(`{"alg":"EdDSA","kid":"`+kid+`"}`)) + "." + b64([]byte(`{"sub":"x","roles":"admin"}`)) + "." + parts[2],
		b64([]byte(`{"alg":"EdDSA","kid":"`+kid+`","jwk":`+jwkJSON(f, key)+`}`)) + "." + parts[1] + "." + parts[2],
		b64([]byte(`{"alg":"EdDSA"`)) + "." + parts[1] + "." + parts[2],
		strings.Repeat("A", MaxTokenBytes+1),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err == nil {
			if !slices.Contains(valid, token) {
				t.Fatalf("Verify accepted a token the key did not sign: %q (claims %+v)", token, c)
			}
			if c.Subject == "" {
				t.Fatalf("Verify accepted a token without a subject: %+v", c)
			}
			return
		}
		if fault.KindOf(err) != fault.Unauthenticated || !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Verify(%q) = %v, want an Unauthenticated error wrapping ErrInvalidToken", token, err)
		}
		if len(token) >= 32 && strings.Contains(err.Error(), token) {
			t.Fatalf("the error quotes the token: %v", err)
		}
	})
}

func jwkJSON(f *testing.F, key ed25519.PrivateKey) string {
	f.Helper()
	k := jose.JSONWebKey{Key: key.Public(), KeyID: "attacker"}
	b, err := k.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}
