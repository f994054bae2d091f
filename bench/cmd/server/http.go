package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves h on addr with a plain http.Server until ctx ends. Every
// setting that is not a tailor service uses it, with the same timeouts a
// tailor service has.
func serveHTTP(ctx context.Context, addr string, h http.Handler, ready func(...net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	ready(ln.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
