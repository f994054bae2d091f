package messaging_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/observability"
)

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// The password of a NATS URL never shows in the error of a failed
// connection.
func TestConnectErrorRedactsUserInfo(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	_, err := messaging.Connect("nats://shop:s3cret@"+addr+",nats://t0ken@"+addr, nil, nats.Timeout(time.Second))
	if err == nil {
		t.Fatal("Connect to a closed port: no error, want one")
	}
	for _, secret := range []string{"s3cret", "t0ken", "shop"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
	if !strings.Contains(err.Error(), "nats://redacted@"+addr) {
		t.Errorf("error %q does not name the server as nats://redacted@%s", err, addr)
	}
}

// syncBuffer is a log destination safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The client's disconnection and reconnection go to the service's logger
// as records, and the readiness check names the servers it tries while
// it is not connected.
func TestConnectionEventsAreLoggedAndChecked(t *testing.T) {
	t.Parallel()
	srv := testenv.Embedded(t, true)
	var logs syncBuffer
	tel, err := observability.New(observability.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	nc, err := messaging.Connect(url, tel, nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	check := messaging.Check(nc)
	if err := check(context.Background()); err != nil {
		t.Fatalf("check while connected: %v", err)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the disconnection logged", func() bool {
		return strings.Contains(logs.String(), `"msg":"messaging: disconnected from NATS; reconnecting"`)
	})
	err = check(context.Background())
	if err == nil {
		t.Fatal("check while the server is down: no error, want one")
	}
	if want := strings.TrimPrefix(url, "nats://"); !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "at  ") {
		t.Errorf("check error %q, want it to name the server %s", err, want)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the reconnection logged", func() bool {
		return strings.Contains(logs.String(), `"msg":"messaging: reconnected to NATS"`)
	})
	testenv.Eventually(t, "the check passes again", func() bool { return check(context.Background()) == nil })
}

// A connection to an embedded server, which has no URL, is named as such
// when the check fails.
func TestCheckNamesInProcessServer(t *testing.T) {
	t.Parallel()
	srv := testenv.Embedded(t, false)
	nc, err := srv.Connect(messaging.ConnLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the client noticed", func() bool { return nc.Status() != nats.CONNECTED })
	err = messaging.Check(nc)(context.Background())
	if err == nil {
		t.Fatal("check with the server stopped: no error, want one")
	}
	if !strings.Contains(err.Error(), "the in-process server") {
		t.Errorf("check error %q, want it to name the in-process server", err)
	}
}
