package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs svc in the background and returns a function that waits for
// Run's result.
func start(t *testing.T, svc *service.Service, ctx context.Context) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Started():
	case err := <-done:
		t.Fatalf("Run returned before starting: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("service did not start within 10s")
	}
	return func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return within 30s")
			return nil
		}
	}
}

func newService(t *testing.T, cfg service.Config, opts ...service.Option) *service.Service {
	t.Helper()
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	svc, err := service.New(cfg, append([]service.Option{service.WithLogger(quietLogger()), service.WithoutSignals()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	logs := new(syncBuffer)
	svc := newService(t, service.Config{Name: "probe"}, service.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	var dbDown atomic.Bool
	svc.AddCheck("database", func(ctx context.Context) error {
		if dbDown.Load() {
			return errors.New("dial tcp 10.0.0.7:5432: connection refused")
		}
		return nil
	})
	svc.AddCheck("cache", func(ctx context.Context) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	base := "http://" + svc.HTTPAddr().String()

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d, want 200", code)
	}
	code, body := get(t, base+"/readyz")
	if code != 200 || !strings.Contains(body, `"status":"ready"`) || !strings.Contains(body, `"name":"database","status":"pass"`) {
		t.Fatalf("/readyz = %d %s, want 200, ready, database pass", code, body)
	}
	dbDown.Store(true)
	code, body = get(t, base+"/readyz")
	var rd struct {
		Status string
		Checks []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatal(err)
	}
	if code != 503 || rd.Status != "not_ready" || len(rd.Checks) != 2 || rd.Checks[0].Name != "database" || rd.Checks[0].Status != "fail" || rd.Checks[1].Status != "pass" {
		t.Fatalf("/readyz with a failing check = %d %+v; want 503 naming the failing database check", code, rd)
	}
	// A 5xx body never carries an internal error; the log does.
	if strings.Contains(body, "10.0.0.7") || strings.Contains(body, "refused") {
		t.Errorf("/readyz body = %s; want no error text in it", body)
	}
	if l := logs.String(); !strings.Contains(l, `"check":"database"`) || !strings.Contains(l, "10.0.0.7:5432: connection refused") {
		t.Errorf("logs = %s; want the database check's error logged", l)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz with a failing check = %d, want 200 (alive)", code)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// A listen error names the setting as the program spells it and says
// what is wrong: a port in use is not a name that does not resolve.
func TestListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name, addr string
		want       []string
		notWant    string
	}{
		{"port in use", ln.Addr().String(), []string{ln.Addr().String(), "-catalog-http-addr / TAILOR_CATALOG_HTTP_ADDR", "another process is using the port"}, ""},
		{"unknown host", "no-such-host.invalid:0", []string{"no-such-host.invalid", "-catalog-http-addr", "does not resolve"}, "another process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := service.Config{Name: "catalog"}
			lookup := func(k string) (string, bool) { return tt.addr, k == "TAILOR_CATALOG_HTTP_ADDR" }
			if err := cfg.Bind(flag.NewFlagSet("t", flag.ContinueOnError), "catalog", lookup); err != nil {
				t.Fatal(err)
			}
			svc := newService(t, cfg)
			err := svc.Run(context.Background())
			if err == nil {
				t.Fatal("Run = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run = %q, want it to mention %s", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("Run = %q, want no mention of %s", err, tt.notWant)
			}
		})
	}
}

// recorder notes lifecycle calls in order.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type part struct {
	name     string
	rec      *recorder
	startErr error
}

func (p part) Start(context.Context) error { p.rec.add("start " + p.name); return p.startErr }
func (p part) Stop(context.Context) error  { p.rec.add("stop " + p.name); return nil }
func (p part) String() string              { return p.name }

// drainingPart stands for a registry registration: it announces once the
// service is ready and withdraws when it starts to drain.
type drainingPart struct {
	part
	readyz func() int
}

func (p drainingPart) Announce(context.Context) error {
	p.rec.add(fmt.Sprintf("announce %s (readyz %d)", p.name, p.readyz()))
	return nil
}

func (p drainingPart) Drain(context.Context) error {
	p.rec.add(fmt.Sprintf("drain %s (readyz %d)", p.name, p.readyz()))
	return nil
}

func TestComponentsStartInOrderStopInReverse(t *testing.T) {
	rec := &recorder{}
	svc := newService(t, service.Config{})
	readyz := func() int { code, _ := get(t, "http://"+svc.HTTPAddr().String()+"/readyz"); return code }
	svc.Add(part{"a", rec, nil}, drainingPart{part{"registry", rec, nil}, readyz}, part{"c", rec, nil})
	s := servicetest.Start(t, svc) // returns once announced
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start registry", "start c", "announce registry (readyz 200)", "drain registry (readyz 503)", "stop c", "stop registry", "stop a"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestFailedStartStopsWhatStarted(t *testing.T) {
	rec := &recorder{}
	svc := newService(t, service.Config{})
	svc.Add(part{"a", rec, nil}, part{"b", rec, nil}, part{"broker", rec, errors.New("no route to broker")}, part{"d", rec, nil})
	err := svc.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start broker") || !strings.Contains(err.Error(), "no route to broker") {
		t.Fatalf("Run = %v, want an error naming the broker component and its cause", err)
	}
	want := []string{"start a", "start b", "start broker", "stop b", "stop a"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

type failingAnnouncer struct{ part }

func (failingAnnouncer) Announce(context.Context) error { return errors.New("registry refused") }

func TestFailedAnnounceShutsDown(t *testing.T) {
	rec := &recorder{}
	svc := newService(t, service.Config{})
	svc.Add(part{"a", rec, nil}, failingAnnouncer{part{"registry", rec, nil}})
	err := svc.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "announce registry: registry refused") {
		t.Fatalf("Run = %v, want the announce error", err)
	}
	want := []string{"start a", "start registry", "stop registry", "stop a"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

// TestGracefulShutdown cancels a service with requests in flight: /readyz
// must turn 503 at once, every in-flight request must complete, new
// connections must be refused after the drain, and Run must return nil.
func TestGracefulShutdown(t *testing.T) {
	const inFlight = 20
	svc := newService(t, service.Config{ShutdownDelay: 2 * time.Second, ShutdownTimeout: 10 * time.Second})
	entered := make(chan struct{}, inFlight)
	release := make(chan struct{})
	svc.Router().HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = w.Write([]byte("done"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	addr := svc.HTTPAddr().String()

	var completed, dropped atomic.Int32
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: inFlight}}
	for range inFlight {
		wg.Go(func() {
			resp, err := client.Get("http://" + addr + "/slow")
			if err != nil {
				dropped.Add(1)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == "done" {
				completed.Add(1)
			} else {
				dropped.Add(1)
			}
		})
	}
	for range inFlight {
		<-entered
	}

	cancel()
	// Not ready at once, while the listener still accepts (the delay).
	deadline := time.Now().Add(time.Second)
	var code int
	for time.Now().Before(deadline) {
		if code, _ = get(t, "http://"+addr+"/readyz"); code == 503 {
			break
		}
	}
	if code != 503 {
		t.Fatalf("/readyz during shutdown = %d, want 503", code)
	}
	// Let the in-flight requests finish only after the listener closed.
	go func() {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			time.Sleep(10 * time.Millisecond)
		}
		close(release)
	}()
	err := wait()
	wg.Wait()
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if completed.Load() != inFlight || dropped.Load() != 0 {
		t.Fatalf("completed %d, dropped %d; want %d and 0", completed.Load(), dropped.Load(), inFlight)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a new connection was accepted after the drain; want it refused")
	}
}

func TestShutdownTimeoutReported(t *testing.T) {
	svc := newService(t, service.Config{ShutdownTimeout: 100 * time.Millisecond})
	entered := make(chan struct{})
	svc.Router().HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(2 * time.Second)
	})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	go func() { _, _ = http.Get("http://" + svc.HTTPAddr().String() + "/stuck") }()
	<-entered
	cancel()
	err := wait()
	if err == nil || !strings.Contains(err.Error(), "did not finish within 100ms") {
		t.Fatalf("Run = %v, want an error saying the drain ran out of time", err)
	}
}

func TestGRPCHealthFollowsLifecycle(t *testing.T) {
	svc := newService(t, service.Config{GRPCAddr: "127.0.0.1:0", ShutdownDelay: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, svc, ctx)
	conn, err := grpc.NewClient(svc.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("health check: %v", err)
		}
		return resp.GetStatus()
	}
	if st := check(); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health while running = %v, want SERVING", st)
	}
	cancel()
	deadline := time.Now().Add(time.Second)
	st := check()
	for st != healthpb.HealthCheckResponse_NOT_SERVING && time.Now().Before(deadline) {
		st = check()
	}
	if st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health while draining = %v, want NOT_SERVING", st)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func TestRunTwice(t *testing.T) {
	svc := newService(t, service.Config{})
	servicetest.Start(t, svc)
	if err := svc.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("second Run = %v, want an error", err)
	}
}

// rawCodec puts a []byte on the wire as it is, so a test can send bytes no
// protobuf encoder would make.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestGRPCMalformedRequestIsInvalidArgument: a service's gRPC listener
// answers a request that does not decode with INVALID_ARGUMENT, as
// transport/grpc's servers do, not grpc-go's INTERNAL.
func TestGRPCMalformedRequestIsInvalidArgument(t *testing.T) {
	svc := newService(t, service.Config{GRPCAddr: "127.0.0.1:0"})
	servicetest.Start(t, svc)
	conn, err := grpc.NewClient(svc.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	truncated := []byte{0x0a, 0x05, 'h', 'i'} // field 1, 5 bytes promised, 2 sent
	var reply []byte
	err = conn.Invoke(ctx, healthpb.Health_Check_FullMethodName, &truncated, &reply, grpc.ForceCodecV2(rawCodec{}))
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Fatalf("malformed health check: got %v (code %v), want INVALID_ARGUMENT", err, got)
	}
}

// TestHTTPMiddlewareRunsInOrderAroundEveryRequest: WithHTTPMiddleware's
// middlewares see every request, in the order given, inside the request ID
// (they see it in the context), and may answer for the route.
func TestHTTPMiddlewareRunsInOrderAroundEveryRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	mark := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, name+" "+r.URL.Path)
				mu.Unlock()
				if r.Header.Get("X-Refuse") != "" {
					http.Error(w, "refused by "+name, http.StatusForbidden)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	svc := newService(t, service.Config{}, service.WithHTTPMiddleware(mark("outer")), service.WithHTTPMiddleware(mark("inner")))
	svc.Router().HandleFunc("GET /v1/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	s := servicetest.Start(t, svc)

	mu.Lock()
	seen = nil
	mu.Unlock()
	resp, err := s.Client().Get(s.URL() + "/v1/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("GET /v1/hello: %s, X-Request-Id %q; want 200 with a request id", resp.Status, resp.Header.Get("X-Request-Id"))
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/healthz", nil)
	req.Header.Set("X-Refuse", "yes")
	resp, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused /healthz: %s, want 403 from the outer middleware", resp.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"outer /v1/hello", "inner /v1/hello", "outer /healthz"}
	if !slices.Equal(seen, want) {
		t.Fatalf("middlewares saw %q, want %q", seen, want)
	}
}
