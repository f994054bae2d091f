package messaging

import "testing"

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"no user information", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"user and password", "nats://user:s3cret@127.0.0.1:4222", "nats://redacted@127.0.0.1:4222"},
		{"token", "nats://t0ken@nats.internal:4222", "nats://redacted@nats.internal:4222"},
		{"a cluster", "nats://a:pw1@n1:4222, nats://b:pw2@n2:4222,nats://n3:4222", "nats://redacted@n1:4222,nats://redacted@n2:4222,nats://n3:4222"},
		{"not a URL", "nats://user:pa%zz@host:4222", "nats://redacted@host:4222"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.url); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}
