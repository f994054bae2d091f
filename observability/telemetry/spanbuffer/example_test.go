package spanbuffer_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tailorkit/tailor/observability/telemetry/spanbuffer"
)

// A buffer registered as a span processor keeps the recent traces,
// failed ones first to stay. telemetry.New registers one for every
// service; the dashboard serves it.
func ExampleBuffer() {
	buf := spanbuffer.New(512)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(buf))
	defer tp.Shutdown(context.Background())

	ctx, root := tp.Tracer("orders").Start(context.Background(), "POST /v1/orders")
	_, charge := tp.Tracer("orders").Start(ctx, "POST payments")
	charge.SetStatus(codes.Error, "unavailable")
	charge.End()
	root.End()

	for _, t := range buf.Traces() {
		fmt.Println(len(t.Spans), "spans, failed:", t.Failed, "first:", t.Spans[0].Name())
	}
	// Output: 2 spans, failed: true first: POST /v1/orders
}
