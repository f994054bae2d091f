package service

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestBindPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		code     Config
		env      map[string]string
		args     []string
		wantHTTP string
		wantGRPC string
		wantTO   time.Duration
	}{
		{"defaults", Config{}, nil, nil, DefaultHTTPAddr, "", DefaultShutdownTimeout},
		{"code", Config{HTTPAddr: ":9000", ShutdownTimeout: time.Second}, nil, nil, ":9000", "", time.Second},
		{"env beats code", Config{HTTPAddr: ":9000"}, map[string]string{"TAILOR_HTTP_ADDR": ":9001", "TAILOR_GRPC_ADDR": ":9002", "TAILOR_SHUTDOWN_TIMEOUT": "3s"}, nil, ":9001", ":9002", 3 * time.Second},
		{"flag beats env", Config{HTTPAddr: ":9000"}, map[string]string{"TAILOR_HTTP_ADDR": ":9001", "TAILOR_SHUTDOWN_TIMEOUT": "3s"}, []string{"-http-addr", ":9003", "-shutdown-timeout", "4s"}, ":9003", "", 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.code
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			if err := cfg.Bind(fs, "", env(tt.env)); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if cfg.HTTPAddr != tt.wantHTTP || cfg.GRPCAddr != tt.wantGRPC || cfg.ShutdownTimeout != tt.wantTO {
				t.Fatalf("got http %q grpc %q timeout %s; want %q %q %s", cfg.HTTPAddr, cfg.GRPCAddr, cfg.ShutdownTimeout, tt.wantHTTP, tt.wantGRPC, tt.wantTO)
			}
		})
	}
}

func TestBindRejectsMalformedEnv(t *testing.T) {
	var cfg Config
	err := cfg.Bind(flag.NewFlagSet("test", flag.ContinueOnError), "", env(map[string]string{"TAILOR_SHUTDOWN_DELAY": "soon"}))
	if err == nil || !strings.Contains(err.Error(), `TAILOR_SHUTDOWN_DELAY="soon"`) {
		t.Fatalf("err = %v, want one naming TAILOR_SHUTDOWN_DELAY and its value", err)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"no port", Config{HTTPAddr: "localhost"}, []string{`"localhost"`, "Config.HTTPAddr in code"}},
		{"port out of range", Config{HTTPAddr: "127.0.0.1:99999"}, []string{`"127.0.0.1:99999"`, `"99999"`}},
		{"bad grpc port", Config{GRPCAddr: "127.0.0.1:http2"}, []string{`"127.0.0.1:http2"`, "Config.GRPCAddr in code"}},
		{"negative delay", Config{ShutdownDelay: -time.Second}, []string{"-1s", "Config.ShutdownDelay in code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("no error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to mention %s", err, w)
				}
			}
		})
	}
}

// Two services in one program share a flag set and an environment: each
// binds under its own prefix, and errors name its own flag.
func TestBindPrefixSharesAFlagSet(t *testing.T) {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	lookup := env(map[string]string{"TAILOR_CATALOG_HTTP_ADDR": ":9001", "TAILOR_ORDERS_SHUTDOWN_TIMEOUT": "3s"})
	var catalog, orders Config
	if err := catalog.Bind(fs, "catalog", lookup); err != nil {
		t.Fatal(err)
	}
	if err := orders.Bind(fs, "orders", lookup); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-orders-http-addr", "localhost"}); err != nil {
		t.Fatal(err)
	}
	if catalog.HTTPAddr != ":9001" || catalog.ShutdownTimeout != DefaultShutdownTimeout || orders.HTTPAddr != "localhost" || orders.ShutdownTimeout != 3*time.Second {
		t.Fatalf("got catalog %q %s, orders %q %s; want :9001 %s, localhost 3s", catalog.HTTPAddr, catalog.ShutdownTimeout, orders.HTTPAddr, orders.ShutdownTimeout, DefaultShutdownTimeout)
	}
	_, err := New(orders)
	if err == nil || !strings.Contains(err.Error(), "-orders-http-addr / TAILOR_ORDERS_HTTP_ADDR") {
		t.Fatalf("New = %v, want an error naming -orders-http-addr / TAILOR_ORDERS_HTTP_ADDR", err)
	}
	if err := new(Config).Bind(fs, "bad prefix", nil); err == nil {
		t.Error("Bind with a space in the prefix = nil, want an error")
	}
}
