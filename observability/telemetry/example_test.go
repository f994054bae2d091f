package telemetry_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/telemetry"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Set up telemetry from the environment, instrument a router with it, and
// flush on the way out. package service does this for every service.
func ExampleNew() {
	ctx := context.Background()
	providers, err := telemetry.New(ctx, telemetry.Config{ServiceName: "catalog"})
	if err != nil {
		panic(err) // a bad OTEL_* value, named in the error
	}
	defer providers.Shutdown(ctx) // flushes the last spans

	inst, err := observability.New(observability.Config{
		TracerProvider: providers.TracerProvider(),
		MeterProvider:  providers.MeterProvider(),
	})
	if err != nil {
		panic(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
	router.Handle("GET /metrics", providers.MetricsHandler())
	router.HandleFunc("GET /v1/products", func(w http.ResponseWriter, r *http.Request) {})
	fmt.Println(providers.Resource().Set().HasValue("service.instance.id"))
	// Output: true
}
