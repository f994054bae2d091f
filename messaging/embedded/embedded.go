// Package embedded runs a NATS server with JetStream inside the service's
// process: the zero-configuration broker of a service that was given no
// NATS_URL (see [github.com/tailorkit/tailor/messaging.EnvURL]). It is a
// package of its own so that a service which only talks to an external
// server does not compile the server.
//
// Start with [New], then [Server.Start] and [Server.Connect]:
//
//	srv, err := embedded.New(embedded.Config{StoreDir: filepath.Join(dataDir, "nats")})
//	...
//	if err := srv.Start(ctx); err != nil { ... }
//	defer srv.Stop(context.Background())
//	nc, err := srv.Connect()
//
// Events are kept in files under StoreDir, so they survive a restart of
// the process. One process at a time may use a StoreDir.
package embedded

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config says how to run the server. The zero value is valid: every
// field's default is in its doc.
type Config struct {
	// StoreDir is the folder JetStream keeps its streams in, created if
	// missing. Default: a new temporary folder, removed by Stop, so that
	// nothing survives the process; a service passes a folder in its data
	// directory.
	StoreDir string
	// Listen is the host:port on which the server also accepts network
	// clients, such as the nats command-line tool; port 0 picks a free
	// one, and [Server.ClientURL] tells which. Default "": in-process
	// clients only.
	Listen string
	// Name is the server's name, as monitoring shows it. Default
	// "tailor-embedded".
	Name string
	// ReadyTimeout bounds how long Start waits for the server to accept
	// clients. Default 10s.
	ReadyTimeout time.Duration
}

// Server is an embedded NATS server with JetStream. Its zero value is not
// usable; make one with [New]. It is a service component (Start, Stop) and
// safe for concurrent use; it may be started again after Stop.
type Server struct {
	opts         server.Options
	tempDir      bool
	readyTimeout time.Duration

	mu  sync.Mutex
	srv *server.Server
}

// New checks cfg and returns a server ready to Start.
func New(cfg Config) (*Server, error) {
	o := server.Options{
		ServerName: cfg.Name,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		DontListen: cfg.Listen == "",
		NoLog:      true,
		NoSigs:     true,
		// Enough for a service's own events; a cluster is configured
		// outside the process.
		JetStreamMaxMemory: 256 << 20,
	}
	if o.ServerName == "" {
		o.ServerName = "tailor-embedded"
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded: Listen %q is not host:port, such as 127.0.0.1:4222 (port 0 picks a free one): %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("embedded: Listen %q has no valid port; use 0 to 65535", cfg.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		o.Host, o.Port = host, p
	}
	s := &Server{opts: o}
	if cfg.StoreDir == "" {
		s.tempDir = true
	}
	if cfg.ReadyTimeout > 0 {
		s.readyTimeout = cfg.ReadyTimeout
	} else {
		s.readyTimeout = 10 * time.Second
	}
	return s, nil
}

// Start starts the server and returns once it accepts clients.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("embedded: server %s is already running", s.opts.ServerName)
	}
	o := s.opts
	if s.tempDir && o.StoreDir == "" {
		dir, err := os.MkdirTemp("", "tailor-nats-")
		if err != nil {
			return fmt.Errorf("embedded: make a temporary folder for JetStream: %w; set Config.StoreDir", err)
		}
		o.StoreDir = dir
		s.opts.StoreDir = dir
	} else if err := os.MkdirAll(o.StoreDir, 0o750); err != nil {
		return fmt.Errorf("embedded: create JetStream folder %s: %w; check that its parent is writable", o.StoreDir, err)
	}
	srv, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("embedded: configure the NATS server: %w", err)
	}
	srv.Start()
	wait := s.readyTimeout
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		hint := "check that " + o.StoreDir + " is writable and not used by another process"
		if !o.DontListen {
			hint += ", and that " + net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) + " is free"
		}
		return fmt.Errorf("embedded: NATS server did not get ready within %v; %s", wait, hint)
	}
	if !o.DontListen {
		// Keep the port picked, so a restart comes back where clients
		// reconnect to.
		if a, ok := srv.Addr().(*net.TCPAddr); ok {
			s.opts.Port = a.Port
		}
	}
	s.srv = srv
	return nil
}

// Stop shuts the server down and waits until it has, or until ctx ends.
// A temporary StoreDir is removed.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("embedded: NATS server did not shut down in time: %w", ctx.Err())
	}
	if s.tempDir {
		s.mu.Lock()
		dir := s.opts.StoreDir
		s.opts.StoreDir = ""
		s.mu.Unlock()
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("embedded: remove temporary JetStream folder: %w", err)
		}
	}
	return nil
}

// StoreDir returns the folder JetStream keeps its streams in.
func (s *Server) StoreDir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.StoreDir
}

// ClientURL returns the URL network clients connect to, or "" when the
// server is not running or accepts in-process clients only.
func (s *Server) ClientURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil || s.opts.DontListen {
		return ""
	}
	return s.srv.ClientURL()
}

// Connect returns a client connection to the running server over an
// in-process pipe, with no network in between. Options are passed on to
// [nats.Connect]. A connection cannot outlive a Stop: for a client that
// reconnects across a restart, set Config.Listen and connect to
// [Server.ClientURL].
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil, fmt.Errorf("embedded: connect to server %s: it is not running; call Start first", s.opts.ServerName)
	}
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(srv)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded: connect in-process to server %s: %w", s.opts.ServerName, err)
	}
	return nc, nil
}
