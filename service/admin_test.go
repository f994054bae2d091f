package service_test

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
)

func adminGet(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, resp.Header, b.String()
}

func TestAdminListenerNeedsTheTokenWhenSet(t *testing.T) {
	svc := newService(t, service.Config{Name: "orders", AdminAddr: "127.0.0.1:0", AdminToken: "s3cret"})
	svc.AdminRouter().HandleFunc("GET /admin/hello", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	defer func() {
		cancel()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}()
	admin := "http://" + svc.AdminAddr().String()

	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "s3cre", http.StatusUnauthorized},
		{"the token", "s3cret", http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/dash/api/breakers", "/admin/hello"} {
				code, h, body := adminGet(t, admin+path, c.token)
				if code != c.want {
					t.Fatalf("GET %s = %d %s, want %d", path, code, body, c.want)
				}
				if c.want == http.StatusUnauthorized {
					if ct := h.Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(body, "Bearer") {
						t.Errorf("GET %s = %s %s; want problem+json saying to send a bearer token", path, ct, body)
					}
					if h.Get("WWW-Authenticate") == "" {
						t.Errorf("GET %s has no WWW-Authenticate", path)
					}
				}
			}
		})
	}
	// The public port serves none of it.
	for _, path := range []string{"/dash/api/breakers", "/admin/hello"} {
		if code, _ := get(t, "http://"+svc.HTTPAddr().String()+path); code != http.StatusNotFound {
			t.Errorf("GET %s on the public port = %d, want 404", path, code)
		}
	}
}

// The dashboard's page and its files hold no data: they need no token,
// while its API, and every other way of spelling an API path, still does.
func TestAdminListenerServesTheDashboardPageWithoutTheToken(t *testing.T) {
	svc := newService(t, service.Config{Name: "orders", AdminAddr: "127.0.0.1:0", AdminToken: "s3cret"})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	defer func() {
		cancel()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}()
	admin := "http://" + svc.AdminAddr().String()
	send := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, admin+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	for _, c := range []struct {
		method, path string
		want         int
		wantType     string
	}{
		{"GET", "/dash/", http.StatusOK, "text/html; charset=utf-8"},
		{"HEAD", "/dash/", http.StatusOK, "text/html; charset=utf-8"},
		{"GET", "/dash/ui/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"HEAD", "/dash/ui/style.css", http.StatusOK, "text/css; charset=utf-8"},
		{"GET", "/dash", http.StatusMovedPermanently, ""},
		{"GET", "/dash/ui/", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/ui/missing.js", http.StatusNotFound, "application/problem+json"},
		{"GET", "/dash/api/breakers", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/api/stream", http.StatusUnauthorized, "application/problem+json"},
		{"PUT", "/dash/api/breakers/payments/override", http.StatusUnauthorized, "application/problem+json"},
		{"POST", "/dash/", http.StatusUnauthorized, "application/problem+json"},
		{"PUT", "/dash/ui/app.js", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/ui/../api/breakers", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/ui/%2e%2e/api/breakers", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/ui/..%2fapi%2fbreakers", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash/ui/..", http.StatusUnauthorized, "application/problem+json"},
		{"GET", "/dash%2fapi/breakers", http.StatusUnauthorized, "application/problem+json"},
	} {
		if code, ct := send(c.method, c.path); code != c.want || c.wantType != "" && ct != c.wantType {
			t.Errorf("%s %s without the token = %d %s, want %d %s", c.method, c.path, code, ct, c.want, c.wantType)
		}
	}
}

func TestAdminListenerOnLoopbackRunsWithoutAToken(t *testing.T) {
	svc := newService(t, service.Config{AdminAddr: "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	code, _, body := adminGet(t, "http://"+svc.AdminAddr().String()+"/dash/api/breakers", "")
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || !strings.Contains(body, `"version":1`) {
		t.Fatalf("GET /dash/api/breakers = %d %s, want 200 with a version", code, body)
	}
}

func TestAdminListenerExposedWithoutATokenRefusesToStart(t *testing.T) {
	cases := []struct {
		name     string
		cfg      service.Config
		env      map[string]string
		wantText []string
	}{
		{"in code, all interfaces", service.Config{AdminAddr: ":0"}, nil, []string{`":0"`, "Config.AdminAddr", "Config.AdminToken"}},
		{"in code, a public address", service.Config{AdminAddr: "192.0.2.1:9090"}, nil, []string{"Config.AdminToken"}},
		{"from the environment", service.Config{}, map[string]string{"TAILOR_ADMIN_ADDR": "0.0.0.0:9090"}, []string{"-admin-addr / TAILOR_ADMIN_ADDR", "set TAILOR_ADMIN_TOKEN"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			if c.env != nil {
				fs := flag.NewFlagSet("x", flag.ContinueOnError)
				if err := cfg.Bind(fs, "", func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }); err != nil {
					t.Fatal(err)
				}
			}
			_, err := service.New(cfg, service.WithLogger(quietLogger()))
			if err == nil {
				t.Fatal("New succeeded; want an error asking for an admin token")
			}
			for _, w := range c.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// With a token the same address is fine.
	if _, err := service.New(service.Config{AdminAddr: ":0", AdminToken: "t"}, service.WithLogger(quietLogger())); err != nil {
		t.Fatalf("New with a token: %v", err)
	}
}

func TestBindReadsTheAdminTokenFromTheEnvironmentOnly(t *testing.T) {
	var cfg service.Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	env := map[string]string{"TAILOR_ORDERS_ADMIN_ADDR": "127.0.0.1:9191", "TAILOR_ORDERS_ADMIN_TOKEN": "tok"}
	if err := cfg.Bind(fs, "orders", func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if cfg.AdminAddr != "127.0.0.1:9191" || cfg.AdminToken != "tok" {
		t.Fatalf("after Bind AdminAddr=%q AdminToken=%q; want both from the environment", cfg.AdminAddr, cfg.AdminToken)
	}
	if err := fs.Parse([]string{"-orders-admin-addr", "127.0.0.1:9292"}); err != nil {
		t.Fatal(err)
	}
	if cfg.AdminAddr != "127.0.0.1:9292" {
		t.Errorf("AdminAddr = %q; want the flag's", cfg.AdminAddr)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "token") {
			t.Errorf("Bind registered the flag -%s; the token must come from the environment only", f.Name)
		}
	})
}

func TestAdminRouterIsNilWithoutAnAdminAddress(t *testing.T) {
	svc := newService(t, service.Config{})
	if svc.AdminRouter() != nil {
		t.Error("AdminRouter() != nil without Config.AdminAddr")
	}
}

// An event stream on the admin listener ends when the service shuts down,
// and does not hold the drain up.
func TestAdminStreamEndsOnDrain(t *testing.T) {
	svc := newService(t, service.Config{AdminAddr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	resp, err := http.Get("http://" + svc.AdminAddr().String() + "/dash/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != "event: snapshot\n" {
		t.Fatalf("first line = %q, %v; want event: snapshot", line, err)
	}
	began := time.Now()
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v, want a clean shutdown", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("shutdown took %s with a stream open; want it ended at once", d)
	}
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break // the stream ended
		}
	}
}

// With telemetry's providers, the admin listener serves the traces their
// span buffer keeps, and tries requests on the public router.
func TestAdminServesTracesAndTries(t *testing.T) {
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "orders", Sampler: sdktrace.AlwaysSample()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Name: "orders", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"},
		service.WithTelemetry(tel), service.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	svc.Router().HandleFunc("GET /v1/orders", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`[]`)) })
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	defer func() {
		cancel()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}()
	admin := "http://" + svc.AdminAddr().String()
	resp, err := http.Post(admin+"/dash/api/try", "application/json", strings.NewReader(`{"method":"GET","path":"/v1/orders"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":200`) || !strings.Contains(string(b), `"body":"[]"`) {
		t.Errorf("POST /dash/api/try = %d %s, want the route's 200 and body", resp.StatusCode, b)
	}
	if code, _, body := adminGet(t, admin+"/dash/api/traces", ""); code != http.StatusOK || !strings.Contains(body, `"root":"GET /v1/orders"`) {
		t.Errorf("GET /dash/api/traces = %d %s, want the tried request's trace", code, body)
	}
}
