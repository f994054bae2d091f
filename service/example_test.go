package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

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
	<-svc.Started()

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
