package observability_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/requestid"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Put the middleware inside the Router, so spans and metrics are named by
// the route template.
func ExampleTelemetry_HTTPMiddleware() {
	spans := tracetest.NewInMemoryExporter()
	inst, err := observability.New(observability.Config{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
	})
	if err != nil {
		panic(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
	router.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/products/42", nil))

	s := spans.GetSpans()[0]
	fmt.Println(s.Name, s.Status.Code) // a 404 is not the server's fault
	// Output: GET /v1/products/{id} Unset
}

// Log with the request's context and every record names the trace, the
// span and the request ID.
func ExampleNewLogHandler() {
	text := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{} // keep the example's output stable
		}
		return a
	}})
	logger := slog.New(observability.NewLogHandler(text))

	// A request's context: a trace continued from a caller, and an ID.
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	})
	ctx = requestid.NewContext(ctx, "req-7")

	logger.InfoContext(ctx, "reserved", "sku", "mug")
	logger.Info("outside any request")
	// Output:
	// level=INFO msg=reserved sku=mug trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 request_id=req-7
	// level=INFO msg="outside any request"
}

// Move the trace context through message headers: inject before
// publishing, extract when consuming.
func ExampleTelemetry_Inject() {
	tp := sdktrace.NewTracerProvider()
	inst, _ := observability.New(observability.Config{TracerProvider: tp})
	ctx, span := inst.Tracer().Start(context.Background(), "publish order.placed")
	headers := map[string]string{} // the message's headers
	inst.Inject(ctx, propagation.MapCarrier(headers))
	span.End()

	consumer := inst.Extract(context.Background(), propagation.MapCarrier(headers))
	_, child := inst.Tracer().Start(consumer, "consume order.placed")
	fmt.Println(child.SpanContext().TraceID() == span.SpanContext().TraceID())
	child.End()
	// Output: true
}

// Wire a breaker's state changes and a policy's retries and rejections to
// metrics and span events.
func ExampleTelemetry_CallMiddleware() {
	inst, _ := observability.New(observability.Config{})
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:    "inventory",
		Retry:   &resilience.RetryConfig{MaxAttempts: 3},
		Breaker: &resilience.BreakerConfig{},
	}, resilience.WithStateChange(inst.BreakerStateChange))
	client := func(context.Context, any) (any, error) { return "reserved", nil }

	call := inst.CallMiddleware("inventory")(policy.Middleware()(inst.AttemptMiddleware("inventory")(client)))
	fmt.Println(call(context.Background(), nil))
	// Output: reserved <nil>
}
