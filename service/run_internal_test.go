package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// A Run that cannot bind its listener still shuts down the telemetry New
// built, so nothing New started outlives the failed service.
func TestFailedListenShutsDownOwnTelemetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(Config{HTTPAddr: ln.Addr().String()}, WithoutSignals(), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("Run on a port in use = nil, want an error")
	}
	if err := s.tel.Shutdown(context.Background()); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Fatalf("shutting the telemetry down again = %v, want %v: Run left it running", err, sdkmetric.ErrReaderShutdown)
	}
}
