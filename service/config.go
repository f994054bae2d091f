package service

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultHTTPAddr           = ":8080"
	DefaultShutdownTimeout    = 15 * time.Second
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultReadTimeout        = 60 * time.Second
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
// wires the first two. With the prefix "" it binds:
//
//	setting                 flag                environment
//	HTTPAddr                -http-addr          TAILOR_HTTP_ADDR
//	GRPCAddr                -grpc-addr          TAILOR_GRPC_ADDR
//	ShutdownTimeout         -shutdown-timeout   TAILOR_SHUTDOWN_TIMEOUT
//	ShutdownDelay           -shutdown-delay     TAILOR_SHUTDOWN_DELAY
//	ReadTimeout             -read-timeout       TAILOR_READ_TIMEOUT
//	IdleTimeout             -idle-timeout       TAILOR_IDLE_TIMEOUT
//	AdminAddr               -admin-addr         TAILOR_ADMIN_ADDR
//	AdminToken              (none)              TAILOR_ADMIN_TOKEN
//
// The admin token is read from the environment only, never from a flag,
// so that it does not show in the process list.
//
// Errors about a setting name it as the program spells it: the flag and
// variable Bind registered, or the field (Config.HTTPAddr) when the value
// was set in code.
type Config struct {
	// Name names the service in logs and health answers. Default "service".
	Name string
	// HTTPAddr is the host:port the HTTP listener binds. Default ":8080";
	// port 0 picks a free port (see [Service.HTTPAddr]).
	HTTPAddr string
	// GRPCAddr is the host:port the gRPC listener binds. Empty (the
	// default) serves no gRPC.
	GRPCAddr string
	// AdminAddr is the host:port of the admin listener, which serves the
	// operations dashboard (page and API) and the routes of [Service.AdminRouter],
	// apart from the public port. Empty (the default) serves none. An
	// address other than a loopback one (127.0.0.1, ::1, localhost) needs
	// AdminToken.
	AdminAddr string
	// AdminToken, when set, is the bearer token every request to the
	// admin listener must carry (Authorization: Bearer <token>), but
	// those for the dashboard page's files, which hold no data; others
	// get 401. Default empty: no token, allowed only on a loopback
	// AdminAddr.
	AdminToken string
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
	// ReadTimeout bounds how long a client may take to send a whole
	// request, headers and body, so a client that stalls mid-body cannot
	// hold a connection. Default 60s; raise it for services that take
	// large uploads over slow links.
	ReadTimeout time.Duration
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

	bound *binding // set by Bind: how the program spells the settings
}

// binding is how [Config.Bind] bound the settings.
type binding struct {
	prefix string
	env    bool // the environment was read
}

// setting describes one configurable field for flags, environment and
// error messages.
type setting struct {
	field, flag, env, usage string
}

var (
	settingHTTPAddr        = setting{"HTTPAddr", "http-addr", "HTTP_ADDR", "host:port of the HTTP listener"}
	settingGRPCAddr        = setting{"GRPCAddr", "grpc-addr", "GRPC_ADDR", "host:port of the gRPC listener (empty: no gRPC)"}
	settingShutdownTimeout = setting{"ShutdownTimeout", "shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long each shutdown step may take, such as in-flight requests finishing"}
	settingShutdownDelay   = setting{"ShutdownDelay", "shutdown-delay", "SHUTDOWN_DELAY", "how long to keep serving after turning not ready on shutdown"}
	settingReadTimeout     = setting{"ReadTimeout", "read-timeout", "READ_TIMEOUT", "how long a client may take to send a whole request"}
	settingIdleTimeout     = setting{"IdleTimeout", "idle-timeout", "IDLE_TIMEOUT", "how long a keep-alive connection may stay idle"}
	settingAdminAddr       = setting{"AdminAddr", "admin-addr", "ADMIN_ADDR", "host:port of the admin listener (empty: none)"}
	settingAdminToken      = setting{"AdminToken", "", "ADMIN_TOKEN", ""} // environment only
)

func (b *binding) flagName(s setting) string {
	if b.prefix == "" {
		return s.flag
	}
	return b.prefix + "-" + s.flag
}

func (b *binding) envName(s setting) string {
	if b.prefix == "" {
		return "TAILOR_" + s.env
	}
	return "TAILOR_" + strings.ToUpper(strings.ReplaceAll(b.prefix, "-", "_")) + "_" + s.env
}

// name is how the program spells s, for errors: the flag and variable
// Bind registered, or the field when the value was set in code.
func (c *Config) name(s setting) string {
	if c.bound == nil {
		return "Config." + s.field + " in code"
	}
	if !c.bound.env {
		return "-" + c.bound.flagName(s)
	}
	return "-" + c.bound.flagName(s) + " / " + c.bound.envName(s)
}

// Bind reads the environment through lookupEnv (pass [os.LookupEnv]; nil
// reads none) into c, then registers c's flags on fs with those values as
// defaults, so that after fs.Parse a flag beats the environment, which
// beats the value c held before. prefix tells apart services that share
// one flag set and environment: with prefix "catalog" the flags are
// -catalog-http-addr and so on, and the variables TAILOR_CATALOG_HTTP_ADDR
// and so on; with "" they are those in the [Config] doc. A prefix is
// letters, digits and dashes. A malformed environment value is an error
// naming the variable and the value.
func (c *Config) Bind(fs *flag.FlagSet, prefix string, lookupEnv func(string) (string, bool)) error {
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("service: Bind prefix %q has %q; use letters, digits and dashes, such as \"catalog\"", prefix, r)
		}
	}
	b := &binding{prefix: prefix, env: lookupEnv != nil}
	// Each setting once, for the environment and for the flags.
	strs := []struct {
		s   setting
		dst *string
	}{{settingHTTPAddr, &c.HTTPAddr}, {settingGRPCAddr, &c.GRPCAddr}, {settingAdminAddr, &c.AdminAddr}}
	durs := []struct {
		s   setting
		dst *time.Duration
	}{{settingShutdownTimeout, &c.ShutdownTimeout}, {settingShutdownDelay, &c.ShutdownDelay},
		{settingReadTimeout, &c.ReadTimeout}, {settingIdleTimeout, &c.IdleTimeout}}
	if lookupEnv != nil {
		if v, ok := lookupEnv(b.envName(settingAdminToken)); ok {
			c.AdminToken = v
		}
		for _, d := range strs {
			if v, ok := lookupEnv(b.envName(d.s)); ok {
				*d.dst = v
			}
		}
		for _, d := range durs {
			v, ok := lookupEnv(b.envName(d.s))
			if !ok {
				continue
			}
			dur, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("service: %s=%q is not a duration; use a form like 15s or 1m30s", b.envName(d.s), v)
			}
			*d.dst = dur
		}
	}
	c.applyDefaults()
	c.bound = b
	usage := func(s setting) string {
		if b.env {
			return s.usage + " (env " + b.envName(s) + ")"
		}
		return s.usage
	}
	for _, d := range strs {
		fs.StringVar(d.dst, b.flagName(d.s), *d.dst, usage(d.s))
	}
	for _, d := range durs {
		fs.DurationVar(d.dst, b.flagName(d.s), *d.dst, usage(d.s))
	}
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
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
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
	if err := c.checkAddr(settingHTTPAddr, c.HTTPAddr); err != nil {
		return err
	}
	if c.GRPCAddr != "" {
		if err := c.checkAddr(settingGRPCAddr, c.GRPCAddr); err != nil {
			return err
		}
	}
	if c.AdminAddr != "" {
		if err := c.checkAddr(settingAdminAddr, c.AdminAddr); err != nil {
			return err
		}
		if c.AdminToken == "" && !loopback(c.AdminAddr) {
			token := "Config.AdminToken"
			if c.bound != nil && c.bound.env {
				token = c.bound.envName(settingAdminToken)
			}
			return fmt.Errorf("service: admin address %q (%s) can be reached from other machines and no admin token is set; set %s to a secret, or bind the admin listener to 127.0.0.1", c.AdminAddr, c.name(settingAdminAddr), token)
		}
	}
	if c.ShutdownDelay < 0 {
		return fmt.Errorf("service: shutdown delay %s (%s) is negative; use 0 or more", c.ShutdownDelay, c.name(settingShutdownDelay))
	}
	return nil
}

// loopback reports whether addr, a valid host:port, binds only a loopback
// address.
func loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) checkAddr(s setting, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("service: address %q (%s) is not host:port (%v); use a form like 127.0.0.1:8080 or :8080", addr, c.name(s), err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("service: address %q (%s) has port %q, which is not a number from 0 to 65535", addr, c.name(s), port)
	}
	return nil
}
