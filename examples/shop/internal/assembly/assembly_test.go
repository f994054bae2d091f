package assembly_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/internal/assembly"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/service"
)

// TestOpenDatabasePostgresRace opens one missing PostgreSQL database from
// several goroutines at once, as instances of a service starting together
// do: every one gets it, and it exists once.
func TestOpenDatabasePostgresRace(t *testing.T) {
	testenv.Short(t, "PostgreSQL")
	cfg, err := pgx.ParseConfig(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		testenv.Missing(t, fmt.Sprintf("PostgreSQL at %s:%d is unreachable: %v; start it with scripts/services.sh or point TAILOR_TEST_POSTGRES at a running server", cfg.Host, cfg.Port, err))
	}
	name := fmt.Sprintf("assembly_test_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	url := strings.Replace(testenv.PostgresURL(), "/"+cfg.Database+"?", "/"+name+"?", 1)
	if !strings.Contains(url, name) {
		t.Fatalf("cannot name database %s in %s; give TAILOR_TEST_POSTGRES a URL with a database and parameters", name, testenv.PostgresURL())
	}

	const instances = 6
	var wg sync.WaitGroup
	errs := make([]error, instances)
	for k := range instances {
		wg.Go(func() {
			db, err := assembly.OpenDatabase(ctx, url)
			if err == nil {
				err = db.PingContext(ctx)
				db.Close()
			}
			errs[k] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("opening %s from %d goroutines at once: %v", name, instances, err)
	}
	var n int
	if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 1 {
		t.Fatalf("databases named %s: %d (%v), want 1", name, n, err)
	}
}

func TestOpenDatabaseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, url, want string
	}{
		{"no database", "postgres://postgres:secret@127.0.0.1:1/?sslmode=disable", "names no database"},
		{"unreachable", "postgres://postgres:secret@127.0.0.1:1/shop_orders?sslmode=disable&connect_timeout=1", "is the server running"},
		{"malformed", "postgres://postgres:secret@127.0.0.1:port/x", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := assembly.OpenDatabase(context.Background(), tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestOpenDatabaseSQLite: anything but a PostgreSQL URL is an SQLite
// path, made with its folder.
func TestOpenDatabaseSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "orders.db")
	db, err := assembly.OpenDatabase(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
}

// TestBuildRegistersOnceReady builds the payments service, which needs
// only a database, on a memory registry: it is registered at the address
// given once it is ready, its routes and readiness answer, and it leaves
// the registry when it stops.
func TestBuildRegistersOnceReady(t *testing.T) {
	reg := memory.New()
	svc, err := service.New(service.Config{Name: "payments", HTTPAddr: "127.0.0.1:0", CheckInterval: 10 * time.Millisecond},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var opened []string
	cleanup, err := assembly.Build(context.Background(), svc, assembly.Deps{
		Resolver:  reg,
		Registrar: reg,
		Address:   "127.0.0.1",
		OpenDB: func(_ context.Context, name string) (*sql.DB, error) {
			opened = append(opened, name)
			return assembly.OpenDatabase(context.Background(), filepath.Join(dir, name+".db"))
		},
		PaymentFaults: payments.Faults{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0] != "payments" {
		t.Fatalf("databases opened: %q, want [payments]", opened)
	}
	w, err := reg.Resolve("payments")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx); cleanup() }()
	<-svc.Ready()
	waitFor(t, "payments registered", func() bool { return len(w.State().Instances) == 1 })
	inst := w.State().Instances[0]
	if want := strconv.Itoa(svc.HTTPAddr().Port); inst.Address != "127.0.0.1" || strconv.Itoa(inst.Port) != want {
		t.Errorf("registered %s, want 127.0.0.1:%s", inst.HostPort(), want)
	}
	resp, err := http.Get("http://" + inst.HostPort() + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /openapi.json: %s, want 200", resp.Status)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := w.State(); st.Registered != 0 {
		t.Errorf("after the service stopped: %d registered, want 0", st.Registered)
	}
}

func TestBuildRefusesWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		service string
		deps    assembly.Deps
		want    string
	}{
		{"orders", assembly.Deps{}, "Deps.Resolver is nil"},
		{"payments", assembly.Deps{Resolver: memory.New()}, "Deps.OpenDB is nil"},
		{"shipping", assembly.Deps{Resolver: memory.New()}, `no service is called "shipping"`},
		{"stats", assembly.Deps{Resolver: memory.New(), OpenDB: func(context.Context, string) (*sql.DB, error) {
			return assembly.OpenDatabase(context.Background(), filepath.Join(t.TempDir(), "stats.db"))
		}}, "Deps.Connect is nil"},
	} {
		t.Run(tc.service, func(t *testing.T) {
			svc, err := service.New(service.Config{Name: tc.service})
			if err != nil {
				t.Fatal(err)
			}
			_, err = assembly.Build(context.Background(), svc, tc.deps)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), tc.service+": ") {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, tc.service, tc.want)
			}
		})
	}
}

// TestVerifierFindsUsersByName: the verifier fetches the keys from
// whichever users instance the registry finds, and an instance that
// cannot answer is passed over for another.
func TestVerifierFindsUsersByName(t *testing.T) {
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(users.Issuer, users.Audience, auth.WithSigningKey(key))
	if err != nil {
		t.Fatal(err)
	}
	var broken, healthy atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("GET "+users.JWKSPath, signer.JWKSHandler())
	good := httptest.NewServer(countRequests(&healthy, mux))
	defer good.Close()
	bad := httptest.NewServer(countRequests(&broken, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})))
	defer bad.Close()

	reg := memory.New()
	for k, srv := range []*httptest.Server{bad, good} {
		host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		if err := reg.Register(context.Background(), discovery.Instance{ID: fmt.Sprintf("users-%d", k), Service: "users", Address: host, Port: p}); err != nil {
			t.Fatal(err)
		}
	}
	// Each verifier fetches the keys once, from an instance the balancer
	// picks: about half of them pick the broken one first.
	token, err := signer.Sign(auth.Claims{Subject: "ada"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		v, watch, err := assembly.NewVerifier(reg)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(context.Background(), token)
		watch.Close()
		if err != nil {
			t.Fatalf("verifying a token of the users service: %v (the broken instance asked %d times, the healthy one %d)", err, broken.Load(), healthy.Load())
		}
		if claims.Subject != "ada" {
			t.Fatalf("subject %q, want ada", claims.Subject)
		}
	}
	t.Logf("8 fetches: the broken instance asked %d times, the healthy one %d", broken.Load(), healthy.Load())
}

func countRequests(n *atomic.Int32, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

func TestAdvertisedHost(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:0":    "127.0.0.1",
		"10.0.0.7:8080":  "10.0.0.7",
		":8080":          "",
		"0.0.0.0:8080":   "",
		"[::]:8080":      "",
		"[::1]:8080":     "::1",
		"svc.local:8080": "svc.local",
		"nonsense":       "",
	} {
		if got := assembly.AdvertisedHost(addr); got != want {
			t.Errorf("AdvertisedHost(%q) = %q, want %q", addr, got, want)
		}
	}
}

// waitFor polls check until it holds; a service's announcement runs on
// its own goroutine, bounded here by a few seconds.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBuildWithoutRegistrar: with only a Resolver, as where the platform
// registers the instances, the service is built and serves, and
// registers nothing itself.
func TestBuildWithoutRegistrar(t *testing.T) {
	reg := memory.New()
	svc, err := service.New(service.Config{Name: "payments", HTTPAddr: "127.0.0.1:0"},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cleanup, err := assembly.Build(context.Background(), svc, assembly.Deps{
		Resolver: reg,
		OpenDB: func(_ context.Context, name string) (*sql.DB, error) {
			return assembly.OpenDatabase(context.Background(), filepath.Join(dir, name+".db"))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx); cleanup() }()
	<-svc.Ready()
	resp, err := http.Get("http://" + svc.HTTPAddr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %s, want 200", resp.Status)
	}
	w, err := reg.Resolve("payments")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if st := w.State(); st.Registered != 0 {
		t.Errorf("%d instances of payments registered, want none: nothing registers without a Registrar", st.Registered)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
