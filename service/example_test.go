package service_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/tailorkit/tailor/observability/telemetry"
	"github.com/tailorkit/tailor/service"
)

// A service with one route and one readiness check, run until its context
// ends.
func Example() {
	svc, err := service.New(
		service.Config{Name: "hello", HTTPAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	svc.Router().HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	svc.AddCheck("always", func(context.Context) error { return nil })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Ready() // every check passed: /readyz answers 200

	resp, err := http.Get("http://" + svc.HTTPAddr().String() + "/readyz")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("readyz:", resp.StatusCode)

	cancel() // or SIGINT / SIGTERM
	fmt.Println("Run:", <-done)
	// Output:
	// readyz: 200
	// Run: <nil>
}

// An invalid setting fails at New, naming the setting and its value.
func ExampleNew_badSetting() {
	_, err := service.New(service.Config{HTTPAddr: "localhost"})
	fmt.Println(err)
	// Output: service: address "localhost" (Config.HTTPAddr in code) is not host:port (address localhost: missing port in address); use a form like 127.0.0.1:8080 or :8080
}

// main builds the telemetry once and hands it over; the service serves
// its metrics at /metrics and shuts it down at the end of Run.
func ExampleWithTelemetry() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tel, err := telemetry.New(ctx, telemetry.Config{ServiceName: "hello", Logger: logger})
	if err != nil {
		fmt.Println(err) // a bad OTEL_* value, named in the error
		return
	}
	svc, err := service.New(service.Config{Name: "hello", HTTPAddr: "127.0.0.1:0"},
		service.WithLogger(logger), service.WithTelemetry(tel))
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Ready()

	resp, err := http.Get("http://" + svc.HTTPAddr().String() + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("metrics:", resp.StatusCode)
	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// metrics: 200
	// Run: <nil>
}

// Two services in one program bind their settings under their own
// prefixes on one flag set.
func ExampleConfig_Bind() {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	catalog := service.Config{Name: "catalog"}
	orders := service.Config{Name: "orders"}
	if err := catalog.Bind(fs, "catalog", os.LookupEnv); err != nil {
		fmt.Println(err)
		return
	}
	if err := orders.Bind(fs, "orders", os.LookupEnv); err != nil {
		fmt.Println(err)
		return
	}
	if err := fs.Parse([]string{"-catalog-http-addr", "127.0.0.1:8081", "-orders-http-addr", "127.0.0.1:8082"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(catalog.HTTPAddr, orders.HTTPAddr)
	// Output: 127.0.0.1:8081 127.0.0.1:8082
}
