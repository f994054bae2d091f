package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestSignerRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, v := newSigner(t)
		oldKID := s.KeyID()
		old := sign(t, s, Claims{Subject: "user-1"}, time.Hour)

		next, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Rotate(next); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if s.KeyID() == oldKID {
			t.Fatal("KeyID did not change on Rotate")
		}
		fresh := sign(t, s, Claims{Subject: "user-2"}, time.Hour)
		for _, token := range []string{old, fresh} {
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Errorf("Verify after rotation: %v, want tokens of both keys accepted", err)
			}
		}
		if got := kids(s.JWKS()); len(got) != 2 || got[0] != s.KeyID() || got[1] != oldKID {
			t.Errorf("JWKS kids = %v, want [current, retired] = [%s %s]", got, s.KeyID(), oldKID)
		}

		// The retired key stays until its last token expires, plus the
		// grace period, and not a moment longer.
		time.Sleep(time.Hour + RetiredKeyGrace)
		if got := kids(s.JWKS()); len(got) != 2 {
			t.Errorf("JWKS kids at the end of the grace period = %v, want the retired key still there", got)
		}
		time.Sleep(time.Second)
		if got := kids(s.JWKS()); len(got) != 1 || got[0] != s.KeyID() {
			t.Errorf("JWKS kids after the grace period = %v, want only the current key", got)
		}
		if _, err := s.VerificationKey(context.Background(), oldKID); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("VerificationKey(retired kid) = %v, want ErrUnknownKey", err)
		}
	})
}

func TestSignerDropsUnusedRetiredKeyAtOnce(t *testing.T) {
	s, _ := newSigner(t)
	next, _ := GenerateKey()
	if err := s.Rotate(next); err != nil {
		t.Fatal(err)
	}
	if got := kids(s.JWKS()); len(got) != 1 {
		t.Errorf("JWKS kids = %v, want only the current key: the retired one signed nothing", got)
	}
}

func TestSignerRotateRefusesCurrentKey(t *testing.T) {
	key, _ := GenerateKey()
	s, err := NewSigner(testIssuer, testAudience, WithSigningKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(key); !errors.Is(err, ErrBadKey) {
		t.Errorf("Rotate(current key) = %v, want ErrBadKey", err)
	}
}

func kids(set jose.JSONWebKeySet) []string {
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

func TestSignerKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		key     any
		wantAlg string // empty: refused
	}{
		{"Ed25519", ed, "EdDSA"},
		{"ECDSA P-384", p384, "ES384"},
		{"RSA 2048", rsaKey, "RS256"},
		{"RSA 1024", weakRSA, ""},
		{"ECDSA P-224", p224, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePrivateKeyPEM(pkcs8PEM(t, tt.key))
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM: %v", err)
			}
			s, err := NewSigner(testIssuer, testAudience, WithSigningKey(key))
			if tt.wantAlg == "" {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("NewSigner: %v, want ErrBadKey", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			if got := s.JWKS().Keys[0].Algorithm; got != tt.wantAlg {
				t.Errorf("alg = %q, want %q", got, tt.wantAlg)
			}
			v, err := NewVerifier(s, testIssuer, testAudience)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(context.Background(), sign(t, s, Claims{Subject: "u"}, time.Minute)); err != nil {
				t.Errorf("Verify: %v", err)
			}
			// Replicas loading the same key publish the same key ID.
			again, err := NewSigner(testIssuer, testAudience, WithSigningKey(key))
			if err != nil {
				t.Fatal(err)
			}
			if again.KeyID() != s.KeyID() {
				t.Errorf("key IDs of one key differ: %s and %s", again.KeyID(), s.KeyID())
			}
		})
	}
}

func TestParsePrivateKeyPEMErrors(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	tests := []struct {
		name, data, want string
	}{
		{"not PEM", "hello", "no PEM block"},
		{"SEC1 instead of PKCS#8", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), "pkcs8"},
		{"garbage inside", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})), "PKCS#8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePrivateKeyPEM: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSignClaims(t *testing.T) {
	s, _ := newSigner(t)
	v, err := NewVerifier(s, testIssuer, "payments")
	if err != nil {
		t.Fatal(err)
	}
	token := sign(t, s, Claims{Subject: "user-1", Audience: []string{"payments"}, ID: "order-7", Issuer: "ignored"}, time.Minute)
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify of a token for the audience it names: %v", err)
	}
	if c.ID != "order-7" || c.Issuer != testIssuer {
		t.Errorf("claims = %+v, want jti order-7 kept and iss set by the signer", c)
	}
	for _, tt := range []struct {
		name string
		c    Claims
		ttl  time.Duration
	}{
		{"no subject", Claims{}, time.Minute},
		{"no lifetime", Claims{Subject: "u"}, 0},
	} {
		if _, err := s.Sign(tt.c, tt.ttl); err == nil {
			t.Errorf("Sign with %s succeeded, want an error", tt.name)
		}
	}
}

func TestJWKSHandler(t *testing.T) {
	s, _ := newSigner(t)
	srv := httptest.NewServer(s.JWKSHandler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != JWKSContentType || resp.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET: %s, Content-Type %q, Cache-Control %q; want 200, %s and a Cache-Control",
			resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), JWKSContentType)
	}
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if len(raw.Keys) != 1 || raw.Keys[0]["kid"] != s.KeyID() || raw.Keys[0]["alg"] != "EdDSA" || raw.Keys[0]["use"] != "sig" {
		t.Errorf("keys = %v, want one EdDSA signing key %s", raw.Keys, s.KeyID())
	}
	if _, private := raw.Keys[0]["d"]; private {
		t.Error("the JWKS publishes the private key")
	}

	resp, err = http.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != thttp.ProblemContentType || resp.Header.Get("Allow") == "" {
		t.Errorf("POST: %s, %q, Allow %q; want 405 problem+json with Allow", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"))
	}
	if fe := thttp.ParseProblem(resp.StatusCode, resp.Header.Get("Content-Type"), body); fe.Kind != fault.InvalidArgument {
		t.Errorf("POST problem kind = %v, want invalid_argument", fe.Kind)
	}
}

func TestSignerConcurrentSignAndRotate(t *testing.T) {
	s, v := newSigner(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				token, err := s.Sign(Claims{Subject: "u"}, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(context.Background(), token); err != nil {
					t.Errorf("Verify of a token signed during rotations: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			key, _ := GenerateKey()
			if err := s.Rotate(key); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}
