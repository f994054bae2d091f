package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
)

// needTool returns the path of a tool the integration tests run, or
// reports it missing as internal/testenv's rule says.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, name+" not found; install it (Debian: apt-get install prometheus; scripts/tools.sh does this in CI)")
	}
	return path
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestMetricsScrapedByPrometheus runs a service, sends it a known number
// of requests, lets a real Prometheus (started here on loopback, with a
// temporary config and storage) scrape it, and checks through
// Prometheus's HTTP API that it counted what was sent. It also runs
// promtool check metrics on the /metrics output.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	promtool := needTool(t, "promtool")
	prometheus := needTool(t, "prometheus")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: "catalog"})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, service.Config{Name: "catalog"}, service.WithTelemetry(tel))
	svc.Router().HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "no such product", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("{}"))
	})
	wait := start(t, svc, ctx)
	base := "http://" + svc.HTTPAddr().String()

	const ok, missing = 37, 5
	for i := range ok + missing {
		id := strconv.Itoa(i)
		if i >= ok {
			id = "missing"
		}
		resp, err := http.Get(base + "/v1/products/" + id)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// promtool check metrics reads the exposition from standard input.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(exposition)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// Prometheus on loopback, scraping the service every second.
	dir := t.TempDir()
	promAddr := freePort(t)
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: catalog
    static_configs:
      - targets: [%q]
`, svc.HTTPAddr().String())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
	defer pcancel()
	var promLog bytes.Buffer
	cmd := exec.CommandContext(pctx, prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--storage.tsdb.retention.time=1h")
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promLog.String())
		}
	}()

	queries := []struct {
		query string
		want  float64
	}{
		{`sum(http_server_request_duration_seconds_count{job="catalog",http_route="/v1/products/{id}",http_response_status_code="200"})`, ok},
		{`sum(http_server_request_duration_seconds_count{job="catalog",http_route="/v1/products/{id}",http_response_status_code="404"})`, missing},
	}
	for _, q := range queries {
		got, err := pollQuery(pctx, "http://"+promAddr, q.query, q.want)
		if err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
		if got != q.want {
			t.Errorf("%s: got %v, want %v", q.query, got, q.want)
		}
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// pollQuery asks Prometheus for query's value until it equals want or ctx
// ends, and returns the last value seen.
func pollQuery(ctx context.Context, promURL, query string, want float64) (float64, error) {
	last, lastErr := -1.0, error(nil)
	for {
		v, err := queryOnce(ctx, promURL, query)
		if err == nil {
			last, lastErr = v, nil
			if v == want {
				return v, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("no answer before the deadline; last error: %w", lastErr)
			}
			return last, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func queryOnce(ctx context.Context, promURL, query string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", promURL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("prometheus: %s", body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, fmt.Errorf("no series yet")
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}
