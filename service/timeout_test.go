package service_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailorkit/tailor/service"
)

// stalledUpload opens a connection to addr and sends a POST whose body
// stops after a few of the bytes it announced.
func stalledUpload(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nfirst bytes"); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reads c until the server closes it, and fails the test if
// that takes longer than bound.
func closedByServer(t *testing.T, c net.Conn, bound time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(bound))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s; want it closed", bound)
	}
}

func uploadHandler(entered chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "incomplete body", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "stored")
	}
}

// A client that stalls mid-body is cut off after ReadTimeout instead of
// holding its connection.
func TestStalledBodyTimesOut(t *testing.T) {
	svc := newService(t, service.Config{ReadTimeout: 200 * time.Millisecond})
	entered := make(chan struct{}, 1)
	svc.Router().HandleFunc("POST /upload", uploadHandler(entered))
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	c := stalledUpload(t, svc.HTTPAddr().String(), "/upload")
	<-entered
	closedByServer(t, c, 10*time.Second)
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// A keep-alive connection left idle is closed after IdleTimeout.
func TestIdleConnectionClosed(t *testing.T) {
	svc := newService(t, service.Config{IdleTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	c, err := net.Dial("tcp", svc.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("reading an idle keep-alive connection: got %v, want EOF (closed by the server)", err)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// On shutdown, an upload the client stalled is cut when the drain runs
// out of time; it is the client's fault, so Run returns nil and the log
// names the request.
func TestDrainCutsStalledUpload(t *testing.T) {
	logs := new(syncBuffer)
	svc := newService(t, service.Config{ShutdownTimeout: 200 * time.Millisecond}, service.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	entered := make(chan struct{}, 1)
	svc.Router().HandleFunc("POST /upload", uploadHandler(entered))
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	stalledUpload(t, svc.HTTPAddr().String(), "/upload")
	<-entered
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v, want nil: a stalled client is not the service's fault", err)
	}
	if l := logs.String(); !strings.Contains(l, "the client stalled sending its body") || !strings.Contains(l, `"path":"/upload"`) {
		t.Fatalf("logs = %s; want the cut request named", l)
	}
}

// A second SIGTERM ends the drain at once, rather than after the
// shutdown delay and timeout.
func TestSecondSignalEndsDrain(t *testing.T) {
	svc, err := service.New(service.Config{HTTPAddr: "127.0.0.1:0", ShutdownDelay: time.Minute, ShutdownTimeout: time.Minute}, service.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	svc.Router().HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	wait := start(t, svc, context.Background())
	go func() { _, _ = http.Get("http://" + svc.HTTPAddr().String() + "/stuck") }()
	<-entered
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for code := 200; code != 503; code, _ = get(t, "http://"+svc.HTTPAddr().String()+"/readyz") {
	}
	began := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = wait()
	if err == nil || !strings.Contains(err.Error(), "GET /stuck") || !strings.Contains(err.Error(), "a second signal") {
		t.Fatalf("Run = %v, want an error naming the request the second signal cut", err)
	}
	if d := time.Since(began); d > 30*time.Second {
		t.Fatalf("Run returned %s after the second signal; want well within the one-minute shutdown timeout", d)
	}
}
