package telemetry_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// MetricsHandler serves what the service measured in the Prometheus
// format, next to the Go runtime's own metrics, for a scraper to pull.
// The request metrics are named by route template.
func ExampleProviders_MetricsHandler() {
	ctx := context.Background()
	providers, err := telemetry.New(ctx, telemetry.Config{ServiceName: "catalog"})
	if err != nil {
		panic(err)
	}
	defer providers.Shutdown(ctx)
	inst, err := observability.New(observability.Config{MeterProvider: providers.MeterProvider()})
	if err != nil {
		panic(err)
	}

	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
	router.Handle("GET /metrics", providers.MetricsHandler())
	router.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, id := range []string{"1", "2", "3"} {
		resp, err := http.Get(srv.URL + "/v1/products/" + id)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") && strings.Contains(line, `http_route="/v1/products/{id}"`) {
			fmt.Println("requests:", line[strings.LastIndexByte(line, ' ')+1:])
		}
		if strings.HasPrefix(line, "go_goroutines ") {
			fmt.Println("with the Go runtime's metrics")
		}
	}
	// Output:
	// with the Go runtime's metrics
	// requests: 3
}
