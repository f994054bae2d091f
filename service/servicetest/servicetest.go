// Package servicetest runs a [service.Service] inside a test: on a free
// loopback port, until it is ready (and registered, when it has a
// registry registration), with its base URL and a client, and stopped
// cleanly when the test ends.
//
// Start with [New], which makes a service fit for a test, and [Start]:
//
//	svc := servicetest.New(t, service.Config{Name: "catalog"})
//	svc.Router().HandleFunc("GET /v1/products", list)
//	s := servicetest.Start(t, svc)
//	resp, err := s.Client().Get(s.URL() + "/v1/products")
//
// The test's cleanup stops the service and fails the test if Run returned
// an error; call [Running.Stop] to stop it earlier and check that error
// yourself.
package servicetest

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/service"
)

// Wait is how long [Start] waits for a service to turn ready, and
// [Running.Stop] for Run to return, before failing the test.
const Wait = 30 * time.Second

// New returns a service for a test: cfg with its listeners on free
// loopback ports (HTTPAddr always, GRPCAddr when set), reacting to no
// signal, and logging to the test's output unless opts set a logger. A
// setting New rejects fails the test.
func New(t testing.TB, cfg service.Config, opts ...service.Option) *service.Service {
	t.Helper()
	cfg.HTTPAddr = "127.0.0.1:0"
	if cfg.GRPCAddr != "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	base := []service.Option{service.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))), service.WithoutSignals()}
	svc, err := service.New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	return svc
}

// Running is a service started by [Start]. Its methods are safe for
// concurrent use.
type Running struct {
	t      testing.TB
	svc    *service.Service
	cancel context.CancelFunc
	done   chan error
	client *http.Client

	stopOnce      sync.Once
	err           error
	stoppedByTest atomic.Bool // Stop was called: the test sees Run's error
}

// Start runs svc until the test ends and returns once it is ready: it
// serves, its readiness checks pass and its Announce calls (registry
// registrations) have returned. It fails the test if Run returns first,
// or if the service is not ready within [Wait]. The test's cleanup stops
// it and, unless the test called [Running.Stop], fails the test if Run
// returned an error.
func Start(t testing.TB, svc *service.Service) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{t: t, svc: svc, cancel: cancel, done: make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{}, Timeout: Wait}}
	go func() { r.done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		if err := r.stop(); err != nil && !r.stoppedByTest.Load() {
			t.Errorf("servicetest: %s: %v", svc.Config().Name, err)
		}
	})
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	select {
	case <-svc.Ready():
		return r
	case err := <-r.done:
		r.stopOnce.Do(func() {}) // reported here, not again at cleanup
		t.Fatalf("servicetest: %s stopped before it was ready: %v", svc.Config().Name, err)
	case <-timer.C:
		t.Fatalf("servicetest: %s was not ready within %s; do its readiness checks pass?", svc.Config().Name, Wait)
	}
	return nil
}

// Service returns the running service.
func (r *Running) Service() *service.Service { return r.svc }

// URL returns the base URL of the service's HTTP listener, such as
// http://127.0.0.1:41234.
func (r *Running) URL() string { return "http://" + r.svc.HTTPAddr().String() }

// GRPCAddr returns the host:port of the gRPC listener, or "" without one.
func (r *Running) GRPCAddr() string {
	if a := r.svc.GRPCAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Client returns an HTTP client for the service whose idle connections
// are closed at Stop, so they do not hold the service's drain. Each
// request times out after [Wait].
func (r *Running) Client() *http.Client { return r.client }

// Stop shuts the service down as SIGTERM would and returns what Run
// returned, for the test to check; the cleanup then reports nothing.
// Later calls return the same.
func (r *Running) Stop() error {
	r.stoppedByTest.Store(true)
	return r.stop()
}

func (r *Running) stop() error {
	r.stopOnce.Do(func() {
		r.client.CloseIdleConnections()
		r.cancel()
		timer := time.NewTimer(Wait)
		defer timer.Stop()
		select {
		case r.err = <-r.done:
		case <-timer.C:
			r.t.Errorf("servicetest: %s: Run did not return within %s of Stop", r.svc.Config().Name, Wait)
		}
	})
	return r.err
}
