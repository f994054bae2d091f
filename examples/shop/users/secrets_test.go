package users_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/fault"
)

// A request or session printed or logged by accident shows no secret.
func TestSecretsAreRedacted(t *testing.T) {
	const secret = "violet staple orbit 42"
	const token = "eyJhbGciOiJFZERTQSJ9.payload.signature"
	values := []any{
		users.SignUpRequest{Email: "ada@example.com", Password: secret, Name: "Ada"},
		&users.LoginRequest{Email: "ada@example.com", Password: secret},
		users.Session{Token: token, ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) || strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("fmt %s of %T = %s, which holds the secret", verb, v, out)
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("request", "value", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("request", "value", v)
		if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), token) {
			t.Errorf("slog of %T = %s, which holds the secret", v, buf.String())
		}
	}
}

func TestSigningKeyFromEnv(t *testing.T) {
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	file := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(file, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := auth.NewSigner(users.Issuer, users.Audience, auth.WithSigningKey(key))
	if err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	}
	tests := []struct {
		name    string
		vars    map[string]string
		wantKey bool
		wantErr string
	}{
		{"neither", nil, false, ""},
		{"PEM text", map[string]string{users.EnvSigningKey: pemText}, true, ""},
		{"PEM file", map[string]string{users.EnvSigningKeyFile: file}, true, ""},
		{"both", map[string]string{users.EnvSigningKey: pemText, users.EnvSigningKeyFile: file}, false, "set one"},
		{"bad PEM text", map[string]string{users.EnvSigningKey: "not a key"}, false, users.EnvSigningKey},
		{"missing file", map[string]string{users.EnvSigningKeyFile: file + ".missing"}, false, users.EnvSigningKeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := users.SigningKeyFromEnv(env(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tt.wantKey {
				t.Fatalf("key = %v, want one: %v", got != nil, tt.wantKey)
			}
			s, err := users.NewService(users.NewStore(nil), users.WithSigningKey(got))
			if err != nil {
				t.Fatal(err)
			}
			if same := s.Signer().KeyID() == want.KeyID(); same != tt.wantKey {
				t.Fatalf("the service signs with the loaded key: %v, want %v", same, tt.wantKey)
			}
		})
	}
}

// A login waiting to hash gives up with its context, and says so.
func TestLoginHonoursItsContext(t *testing.T) {
	s := newService(t, freshSQLite(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Login(ctx, users.LoginRequest{Email: "ada@example.com", Password: "violet staple orbit 42"})
	if !errors.Is(err, fault.Canceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Login with a canceled context = %v, want a fault.Canceled error wrapping context.Canceled", err)
	}
}
