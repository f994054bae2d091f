package embedded_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/messaging/embedded"
)

func TestRestartKeepsPortAndStreams(t *testing.T) {
	ctx := context.Background()
	srv, err := embedded.New(embedded.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL = %q, want a loopback URL", url)
	}
	if err := srv.Start(ctx); err == nil {
		t.Error("a second Start succeeded, want an error")
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Connect(); err == nil {
		t.Error("Connect to a stopped server succeeded, want an error")
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(ctx)
	if got := srv.ClientURL(); got != url {
		t.Errorf("after a restart ClientURL = %q, want %q", got, url)
	}
}

func TestNewRejectsBadListen(t *testing.T) {
	for _, listen := range []string{"nonsense", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := embedded.New(embedded.Config{Listen: listen}); err == nil || !strings.Contains(err.Error(), listen) {
			t.Errorf("New(Listen %q) = %v, want an error naming it", listen, err)
		}
	}
}
