package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a telemetry with a breaker "payments" (opens after 2
// failures) and the dashboard served over loopback.
type fixture struct {
	tel     *observability.Telemetry
	breaker *resilience.Breaker
	logs    *syncBuffer
	url     string
}

func newFixture(t *testing.T, opts ...dashboard.Option) *fixture {
	t.Helper()
	logs := new(syncBuffer)
	tel, err := observability.New(observability.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil)), EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	b := resilience.NewBreaker("payments", resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
		resilience.WithStateChange(tel.BreakerStateChange))
	t.Cleanup(tel.TrackBreaker(b))
	r := thttp.NewRouter()
	dashboard.Mount(r, tel, opts...)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{tel: tel, breaker: b, logs: logs, url: srv.URL}
}

// fail makes one call through the breaker that fails as the callee's
// fault.
func (f *fixture) fail() {
	_, _ = f.breaker.Middleware()(func(context.Context, any) (any, error) {
		return nil, fault.New(fault.Unavailable, "payments is down")
	})(context.Background(), nil)
}

func call(t *testing.T, method, url, body string, into any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

type breaker struct {
	Name                string   `json:"name"`
	State               string   `json:"state"`
	Override            string   `json:"override"`
	Requests            *int     `json:"requests"`
	Failures            *int     `json:"failures"`
	ConsecutiveFailures *int     `json:"consecutive_failures"`
	ProbeInMS           *float64 `json:"probe_in_ms"`
}

type breakers struct {
	Version  int       `json:"version"`
	Breakers []breaker `json:"breakers"`
}

func TestBreakers(t *testing.T) {
	f := newFixture(t)
	var got breakers
	if code, body := call(t, "GET", f.url+"/dash/api/breakers", "", &got); code != 200 {
		t.Fatalf("GET = %d %s", code, body)
	}
	if got.Version != dashboard.Version || len(got.Breakers) != 1 {
		t.Fatalf("got %+v, want version 1 and one breaker", got)
	}
	b := got.Breakers[0]
	if b.Name != "payments" || b.State != "closed" || b.Override != "auto" || b.Requests == nil || *b.Requests != 0 || b.ProbeInMS == nil || *b.ProbeInMS != 0 {
		t.Fatalf("breaker = %+v, want payments closed auto with zero counts", b)
	}
	f.fail()
	f.fail()
	call(t, "GET", f.url+"/dash/api/breakers", "", &got)
	b = got.Breakers[0]
	if b.State != "open" || *b.ConsecutiveFailures != 0 || *b.ProbeInMS <= 0 || *b.ProbeInMS > 60000 {
		t.Fatalf("after 2 failures breaker = %+v, want open with a probe due within a minute", b)
	}
}

func TestBreakerCountsWhileClosed(t *testing.T) {
	f := newFixture(t)
	f.fail()
	var got breakers
	call(t, "GET", f.url+"/dash/api/breakers", "", &got)
	b := got.Breakers[0]
	if b.State != "closed" || *b.Requests != 1 || *b.Failures != 1 || *b.ConsecutiveFailures != 1 {
		t.Fatalf("after 1 failure breaker = %+v, want closed with 1 request, 1 failure, 1 in a row", b)
	}
}

func TestOverride(t *testing.T) {
	f := newFixture(t)
	f.fail()
	f.fail() // open
	var got breakers
	code, body := call(t, "PUT", f.url+"/dash/api/breakers/payments/override", `{"override":"force-closed"}`, &got)
	if code != 200 || len(got.Breakers) != 1 || got.Breakers[0].State != "closed" || got.Breakers[0].Override != "force-closed" {
		t.Fatalf("PUT force-closed = %d %s, want 200 with the breaker closed by force", code, body)
	}
	if f.breaker.State() != resilience.StateClosed {
		t.Errorf("breaker state = %v, want closed", f.breaker.State())
	}
	logs := f.logs.String()
	for _, w := range []string{`"level":"WARN"`, `"breaker":"payments"`, `"from":"auto"`, `"to":"force-closed"`, `"remote":"127.0.0.1:`} {
		if !strings.Contains(logs, w) {
			t.Errorf("logs = %s; want %s", logs, w)
		}
	}
	call(t, "PUT", f.url+"/dash/api/breakers/payments/override", `{"override":"auto"}`, &got)
	if got.Breakers[0].Override != "auto" || got.Breakers[0].State != "open" {
		t.Errorf("after auto: %+v, want the counts' state (open) back", got.Breakers[0])
	}

	cases := []struct {
		name, path, body string
		want             int
	}{
		{"unknown breaker", "/dash/api/breakers/inventory/override", `{"override":"auto"}`, 404},
		{"not JSON", "/dash/api/breakers/payments/override", `force-open`, 400},
		{"unknown field", "/dash/api/breakers/payments/override", `{"overide":"auto"}`, 400},
		{"empty", "/dash/api/breakers/payments/override", ``, 400},
		{"unknown override", "/dash/api/breakers/payments/override", `{"override":"half-open"}`, 422},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, "PUT", f.url+c.path, c.body, nil)
			if code != c.want || !strings.Contains(body, `"status":`) {
				t.Fatalf("PUT %s %s = %d %s, want %d problem+json", c.path, c.body, code, body, c.want)
			}
		})
	}
}

func TestOverrideOfANameWithASlash(t *testing.T) {
	f := newFixture(t)
	b := resilience.NewBreaker("payments/127.0.0.1:4567", resilience.BreakerConfig{})
	defer f.tel.TrackBreaker(b)()
	var got breakers
	code, body := call(t, "PUT", f.url+"/dash/api/breakers/payments%2F127.0.0.1:4567/override", `{"override":"force-open"}`, &got)
	if code != 200 || b.State() != resilience.StateOpen {
		t.Fatalf("PUT = %d %s; breaker %v, want 200 and open", code, body, b.State())
	}
}

func TestInstances(t *testing.T) {
	f := newFixture(t)
	defer f.tel.TrackInstances("payments", func() []observability.InstanceStatus {
		return []observability.InstanceStatus{
			{ID: "p2", Addr: "127.0.0.1:4568", Ejected: true},
			{ID: "p1", Addr: "127.0.0.1:4567", Version: "1.4.2", InFlight: 3, Latency: 1500 * time.Microsecond},
		}
	})()
	var got struct {
		Version  int `json:"version"`
		Services []struct {
			Service   string `json:"service"`
			Instances []struct {
				ID        string  `json:"id"`
				Addr      string  `json:"addr"`
				Version   string  `json:"version"`
				Ejected   bool    `json:"ejected"`
				InFlight  int     `json:"in_flight"`
				LatencyMS float64 `json:"latency_ms"`
			} `json:"instances"`
		} `json:"services"`
	}
	if code, body := call(t, "GET", f.url+"/dash/api/instances", "", &got); code != 200 {
		t.Fatalf("GET = %d %s", code, body)
	}
	if got.Version != 1 || len(got.Services) != 1 || got.Services[0].Service != "payments" || len(got.Services[0].Instances) != 2 {
		t.Fatalf("got %+v, want payments with two instances", got)
	}
	p1, p2 := got.Services[0].Instances[0], got.Services[0].Instances[1]
	if p1.ID != "p1" || p1.Version != "1.4.2" || p1.InFlight != 3 || p1.LatencyMS != 1.5 || p1.Ejected {
		t.Errorf("first instance = %+v, want p1 (by address) with version, 3 in flight and 1.5 ms", p1)
	}
	if p2.ID != "p2" || !p2.Ejected {
		t.Errorf("second instance = %+v, want p2 ejected", p2)
	}
}

func TestEndpoints(t *testing.T) {
	f := newFixture(t)
	public := thttp.NewRouter(thttp.WithMiddleware(f.tel.HTTPMiddleware))
	public.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "boom" {
			thttp.WriteError(w, r, errors.New("boom"))
			return
		}
		_, _ = w.Write([]byte("{}"))
	})
	srv := httptest.NewServer(public)
	defer srv.Close()
	for _, id := range []string{"1", "2", "3", "boom"} {
		call(t, "GET", srv.URL+"/v1/orders/"+id, "", nil)
	}
	var got struct {
		Version       int `json:"version"`
		WindowSeconds int `json:"window_seconds"`
		Endpoints     []struct {
			Method     string  `json:"method"`
			Route      string  `json:"route"`
			Requests   int     `json:"requests"`
			Errors     int     `json:"errors"`
			Rate       float64 `json:"rate"`
			ErrorRatio float64 `json:"error_ratio"`
			P50MS      float64 `json:"p50_ms"`
			P99MS      float64 `json:"p99_ms"`
		} `json:"endpoints"`
	}
	if code, body := call(t, "GET", f.url+"/dash/api/endpoints", "", &got); code != 200 {
		t.Fatalf("GET = %d %s", code, body)
	}
	if got.Version != 1 || got.WindowSeconds != 60 || len(got.Endpoints) != 1 {
		t.Fatalf("got %+v, want one route over 60 s", got)
	}
	e := got.Endpoints[0]
	if e.Method != "GET" || e.Route != "/v1/orders/{id}" || e.Requests != 4 || e.Errors != 1 || e.ErrorRatio != 0.25 || e.Rate != 4.0/60 || e.P50MS <= 0 || e.P99MS < e.P50MS {
		t.Fatalf("endpoint = %+v, want GET /v1/orders/{id}: 4 requests, 1 error, p99 >= p50 > 0", e)
	}
}

// event reads one server-sent event.
func event(t *testing.T, r *bufio.Reader) (name string, data []byte) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			data = []byte(strings.TrimPrefix(line, "data: "))
		case line == "\n":
			return name, data
		}
	}
}

func TestStream(t *testing.T) {
	f := newFixture(t, dashboard.WithInterval(20*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/dash/api/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	r := bufio.NewReader(resp.Body)
	for i := range 2 {
		name, data := event(t, r)
		var snap struct {
			Version       int             `json:"version"`
			At            time.Time       `json:"at"`
			Breakers      []breaker       `json:"breakers"`
			Services      json.RawMessage `json:"services"`
			Endpoints     json.RawMessage `json:"endpoints"`
			WindowSeconds int             `json:"window_seconds"`
		}
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatal(err)
		}
		if name != "snapshot" || snap.Version != 1 || snap.At.IsZero() || len(snap.Breakers) != 1 || string(snap.Services) != "[]" || string(snap.Endpoints) != "[]" {
			t.Fatalf("event %d = %s %s, want a snapshot of one breaker and empty lists", i, name, data)
		}
	}
	f.fail()
	f.fail() // opens
	for {
		name, data := event(t, r)
		if name != "breaker" {
			continue // snapshots sent meanwhile
		}
		var ch struct {
			Version          int
			Breaker          string
			From, To, Reason string
		}
		if err := json.Unmarshal(data, &ch); err != nil {
			t.Fatal(err)
		}
		if ch.Version != 1 || ch.Breaker != "payments" || ch.From != "closed" || ch.To != "open" || ch.Reason == "" {
			t.Fatalf("breaker event = %s, want payments closed → open with a reason", data)
		}
		break
	}
	if name, data := event(t, r); name != "snapshot" || !strings.Contains(string(data), `"state":"open"`) {
		t.Fatalf("after the change: %s %s, want a snapshot with the breaker open", name, data)
	}
	cancel() // the client leaves; the handler stops watching
}

// A server's ReadTimeout does not end a stream that outlives it.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := thttp.NewRouter()
	dashboard.Mount(r, tel, dashboard.WithInterval(10*time.Millisecond))
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/dash/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	began := time.Now()
	n := 0
	for time.Since(began) < 250*time.Millisecond {
		if name, _ := event(t, rd); name == "snapshot" {
			n++
		}
	}
	if n < 5 {
		t.Errorf("%d snapshots in 250ms at one per 10ms; want the stream to go on past the 50ms ReadTimeout", n)
	}
}
