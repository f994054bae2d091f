package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVerify measures Verify alone for each algorithm the Signer
// signs with, over keys held in process and over a fetched, cached JWKS.
func BenchmarkVerify(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ed, _ := GenerateKey()
	for _, bc := range []struct {
		name string
		key  crypto.Signer
	}{{"EdDSA", ed}, {"ES256", ec}, {"RS256", rs}} {
		s, err := NewSigner(testIssuer, testAudience, WithSigningKey(bc.key))
		if err != nil {
			b.Fatal(err)
		}
		token, _ := s.Sign(Claims{Subject: "user-1", Roles: []string{"customer"}}, time.Hour)
		b.Run(bc.name+"/in-process", func(b *testing.B) {
			v, _ := NewVerifier(s, testIssuer, testAudience)
			benchVerify(b, v, token)
		})
		b.Run(bc.name+"/remote-cached", func(b *testing.B) {
			srv := httptest.NewServer(s.JWKSHandler())
			defer srv.Close()
			keys, _ := NewRemoteKeys(srv.URL)
			v, _ := NewVerifier(keys, testIssuer, testAudience)
			benchVerify(b, v, token)
		})
	}
}

func benchVerify(b *testing.B, v *Verifier, token string) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTTP measures whole requests over loopback, side by side: a
// plain handler, and the same handler behind HTTPMiddleware with an EdDSA
// token, so the cost of verification shows against a real request.
func BenchmarkHTTP(b *testing.B) {
	s, err := NewSigner(testIssuer, testAudience)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := NewVerifier(s, testIssuer, testAudience)
	token, _ := s.Sign(Claims{Subject: "user-1", Roles: []string{"customer"}}, time.Hour)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	for _, bc := range []struct {
		name    string
		handler http.Handler
		auth    string
	}{
		{"plain", ok, ""},
		{"verified", v.HTTPMiddleware()(ok), "Bearer " + token},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(bc.handler)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if bc.auth != "" {
				req.Header.Set("Authorization", bc.auth)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
