package process

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
)

var services = []string{"users", "catalog", "inventory", "payments", "orders", "reviews", "stats", "gateway"}

// required returns the environment a service's program needs to start,
// for the variables environment marks as required.
func required(t *testing.T, name string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, v := range environment(name) {
		if v.required {
			env[v.name] = v.example
		}
	}
	if name == "users" {
		key, err := auth.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		delete(env, users.EnvSigningKeyFile)
		env[users.EnvSigningKey] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return env
}

// TestEnvironmentListsWhatIsRead: every variable a program reads is in
// the table -help prints, so that a deployment can be checked against it.
func TestEnvironmentListsWhatIsRead(t *testing.T) {
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			env := required(t, name)
			var read []string
			lookup := func(k string) (string, bool) {
				read = append(read, k)
				v, ok := env[k]
				return v, ok
			}
			if _, err := parse(name, nil, io.Discard, lookup); err != nil {
				t.Fatalf("parse with the required environment: %v", err)
			}
			var listed []string
			for _, v := range environment(name) {
				listed = append(listed, v.name)
			}
			for _, k := range read {
				if !slices.Contains(listed, k) {
					t.Errorf("%s reads %s, which -help does not list", name, k)
				}
			}
		})
	}
}

// TestHelpListsEnvironment: -help shows the flags, then every variable
// under "Environment:", the required ones marked so, and exits 0.
func TestHelpListsEnvironment(t *testing.T) {
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			_, err := parse(name, []string{"-help"}, &out, func(string) (string, bool) { return "", false })
			if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
				t.Fatalf("-help: %v (exit %d), want flag.ErrHelp and exit 0", err, exitCode(err))
			}
			help := out.String()
			_, env, ok := strings.Cut(help, "\nEnvironment:\n")
			if !ok || !strings.Contains(help, "-http-addr") {
				t.Fatalf("-help shows no flags, or no \"Environment:\" heading:\n%s", help)
			}
			for _, v := range environment(name) {
				line := "  " + v.name + "\n"
				if v.required {
					line = "  " + v.name + " (required"
				}
				if !strings.Contains(env, line) {
					t.Errorf("the environment section lacks %q:\n%s", line, env)
				}
			}
			if name != "gateway" && !strings.Contains(env, "  DATABASE_URL (required)\n") {
				t.Errorf("DATABASE_URL is not marked required for %s:\n%s", name, env)
			}
			if name == "gateway" && !strings.Contains(help, "-ip-rate") {
				t.Errorf("the gateway's -help lacks -ip-rate:\n%s", help)
			}
		})
	}
}

// TestMissingSettings: a program refuses to start without a required
// variable, names it with an example value, and exits 2; so does a
// malformed flag or value.
func TestMissingSettings(t *testing.T) {
	for _, name := range services {
		for _, v := range environment(name) {
			if !v.required {
				continue
			}
			t.Run(name+"/"+v.name, func(t *testing.T) {
				env := required(t, name)
				delete(env, v.name)
				delete(env, v.unless)
				_, err := parse(name, nil, io.Discard, func(k string) (string, bool) { s, ok := env[k]; return s, ok })
				if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), v.name+" ") || !strings.Contains(err.Error(), v.example) {
					t.Fatalf("without %s: %v (exit %d), want exit 2 naming it with the example %s", v.name, err, exitCode(err), v.example)
				}
			})
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-nope"}, nil, "-nope"},
		{"argument", []string{"extra"}, nil, "unexpected arguments"},
		{"bad duration", nil, map[string]string{"TAILOR_SHUTDOWN_DELAY": "soon"}, "TAILOR_SHUTDOWN_DELAY"},
		{"bad log level", nil, map[string]string{"TAILOR_LOG_LEVEL": "loud"}, "TAILOR_LOG_LEVEL"},
		{"bad fault rate", nil, map[string]string{"SHOP_PAYMENTS_FAILURE_RATE": "2"}, "SHOP_PAYMENTS_FAILURE_RATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := required(t, "payments")
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := parse("payments", tc.args, io.Discard, func(k string) (string, bool) { s, ok := env[k]; return s, ok })
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (exit %d), want exit 2 and an error saying %q", err, exitCode(err), tc.want)
			}
		})
	}
}

// TestStreamReplicas: a service that creates streams reads how many
// copies to keep, 1 to 5, and refuses anything else; one that creates
// none does not read it.
func TestStreamReplicas(t *testing.T) {
	for _, tc := range []struct {
		service, value string
		refused        bool
		want           int // the replicas read; 0 when unset or not read
	}{
		{"orders", "", false, 0},
		{"orders", "3", false, 3},
		{"orders", "0", true, 0},
		{"orders", "six", true, 0},
		{"orders", "9", true, 0},
		{"payments", "six", false, 0},
	} {
		t.Run(tc.service+"/"+tc.value, func(t *testing.T) {
			env := required(t, tc.service)
			env[EnvStreamReplicas] = tc.value
			s, err := parse(tc.service, nil, io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			refused := tc.refused
			switch {
			case refused && (err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), EnvStreamReplicas)):
				t.Fatalf("got %v, want exit 2 naming %s", err, EnvStreamReplicas)
			case !refused && err != nil:
				t.Fatalf("got %v, want no error", err)
			case !refused && s.replicas != tc.want:
				t.Errorf("replicas %d, want %d", s.replicas, tc.want)
			}
		})
	}
}
