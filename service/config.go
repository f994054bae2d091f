package service

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultHTTPAddr           = ":8080"
	DefaultShutdownTimeout    = 15 * time.Second
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout        = 120 * time.Second
	DefaultCheckTimeout       = 2 * time.Second
	DefaultCheckInterval      = 5 * time.Second
	DefaultFailuresToWithdraw = 3
)

// Config is a service's configuration. The zero value is valid: every
// field's default is in its doc.
//
// Settings come from three places, highest precedence first: command-line
// flags, environment variables, then the values set in code; [Config.Bind]
// wires the first two.
//
//	setting           flag               environment
//	HTTPAddr          -http-addr         TAILOR_HTTP_ADDR
//	GRPCAddr          -grpc-addr         TAILOR_GRPC_ADDR
//	ShutdownTimeout   -shutdown-timeout  TAILOR_SHUTDOWN_TIMEOUT
//	ShutdownDelay     -shutdown-delay    TAILOR_SHUTDOWN_DELAY
type Config struct {
	// Name names the service in logs and health answers. Default "service".
	Name string
	// HTTPAddr is the host:port the HTTP listener binds. Default ":8080";
	// port 0 picks a free port (see [Service.HTTPAddr]).
	HTTPAddr string
	// GRPCAddr is the host:port the gRPC listener binds. Empty (the
	// default) serves no gRPC.
	GRPCAddr string
	// ShutdownTimeout bounds each step of the shutdown separately: how long
	// Drain calls have, how long in-flight requests have to finish after
	// the service stops accepting, and how long components have to stop.
	// Default 15s.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the service keeps serving after it reports
	// not ready and before it stops accepting, so load balancers and peers
	// notice first. Default 0; behind a load balancer a few seconds is
	// usual.
	ShutdownDelay time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send request
	// headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 120s.
	IdleTimeout time.Duration
	// CheckTimeout bounds each readiness check. Default 2s.
	CheckTimeout time.Duration
	// CheckInterval is how often the readiness checks run to update gRPC
	// health and to announce or withdraw the service (HTTP runs them on
	// every /readyz). Default 5s.
	CheckInterval time.Duration
	// FailuresToWithdraw is how many times in a row the readiness checks
	// must fail, once the service was announced, before it is withdrawn
	// (its [Drainer] components are called, so a registry registration
	// deregisters). It is announced again once every check passes.
	// Default 3.
	FailuresToWithdraw int
}

// setting describes one configurable field for flags, environment and
// error messages.
type setting struct {
	flag, env, usage string
}

var (
	settingHTTPAddr        = setting{"http-addr", "TAILOR_HTTP_ADDR", "host:port of the HTTP listener"}
	settingGRPCAddr        = setting{"grpc-addr", "TAILOR_GRPC_ADDR", "host:port of the gRPC listener (empty: no gRPC)"}
	settingShutdownTimeout = setting{"shutdown-timeout", "TAILOR_SHUTDOWN_TIMEOUT", "how long in-flight requests may take to finish on shutdown"}
	settingShutdownDelay   = setting{"shutdown-delay", "TAILOR_SHUTDOWN_DELAY", "how long to keep serving after turning not ready on shutdown"}
)

func (s setting) String() string { return "-" + s.flag + " / " + s.env }

// Bind reads the environment through lookupEnv (pass [os.LookupEnv]; nil
// reads none) into c, then registers c's flags on fs with those values as
// defaults, so that after fs.Parse a flag beats the environment, which
// beats the value c held before. A malformed environment value is an error
// naming the variable and the value.
func (c *Config) Bind(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) error {
	if lookupEnv != nil {
		if v, ok := lookupEnv(settingHTTPAddr.env); ok {
			c.HTTPAddr = v
		}
		if v, ok := lookupEnv(settingGRPCAddr.env); ok {
			c.GRPCAddr = v
		}
		for _, d := range []struct {
			s   setting
			dst *time.Duration
		}{{settingShutdownTimeout, &c.ShutdownTimeout}, {settingShutdownDelay, &c.ShutdownDelay}} {
			v, ok := lookupEnv(d.s.env)
			if !ok {
				continue
			}
			dur, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("service: %s=%q is not a duration; use a form like 15s or 1m30s", d.s.env, v)
			}
			*d.dst = dur
		}
	}
	c.applyDefaults()
	fs.StringVar(&c.HTTPAddr, settingHTTPAddr.flag, c.HTTPAddr, settingHTTPAddr.usage+" (env "+settingHTTPAddr.env+")")
	fs.StringVar(&c.GRPCAddr, settingGRPCAddr.flag, c.GRPCAddr, settingGRPCAddr.usage+" (env "+settingGRPCAddr.env+")")
	fs.DurationVar(&c.ShutdownTimeout, settingShutdownTimeout.flag, c.ShutdownTimeout, settingShutdownTimeout.usage+" (env "+settingShutdownTimeout.env+")")
	fs.DurationVar(&c.ShutdownDelay, settingShutdownDelay.flag, c.ShutdownDelay, settingShutdownDelay.usage+" (env "+settingShutdownDelay.env+")")
	return nil
}

func (c *Config) applyDefaults() {
	if c.Name == "" {
		c.Name = "service"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.FailuresToWithdraw <= 0 {
		c.FailuresToWithdraw = DefaultFailuresToWithdraw
	}
}

// validate checks the settings that can be checked before binding.
func (c *Config) validate() error {
	if err := checkAddr(settingHTTPAddr, c.HTTPAddr); err != nil {
		return err
	}
	if c.GRPCAddr != "" {
		if err := checkAddr(settingGRPCAddr, c.GRPCAddr); err != nil {
			return err
		}
	}
	if c.ShutdownDelay < 0 {
		return fmt.Errorf("service: shutdown delay %s (%s) is negative; use 0 or more", c.ShutdownDelay, settingShutdownDelay)
	}
	return nil
}

func checkAddr(s setting, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("service: address %q (%s) is not host:port (%v); use a form like 127.0.0.1:8080 or :8080", addr, s, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("service: address %q (%s) has port %q, which is not a number from 0 to 65535", addr, s, port)
	}
	return nil
}
