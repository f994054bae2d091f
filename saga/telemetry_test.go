package saga_test

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/saga"
)

// recorded is a saga.Telemetry that keeps the spans.
type recorded struct{ tp *sdktrace.TracerProvider }

func (r recorded) TracerProvider() trace.TracerProvider { return r.tp }
func (r recorded) Logger() *slog.Logger                 { return nil }

func TestSpanPerStep(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		spans := tracetest.NewSpanRecorder()
		s := newShop(db)
		s.failAlways("o1/confirm", fault.New(fault.FailedPrecondition, "out of stock"))
		o, def := setup(t, db, s, saga.WithTelemetry(recorded{sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))}))
		start(t, db, def, "o1")
		if _, err := o.Run(context.Background(), "o1"); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, sp := range spans.Ended() {
			names = append(names, sp.Name())
			key := ""
			for _, a := range sp.Attributes() {
				if a.Key == attribute.Key("saga.idempotency_key") {
					key = a.Value.AsString()
				}
			}
			if key == "" {
				t.Errorf("span %s has no idempotency key", sp.Name())
			}
			if failed := sp.Name() == "saga order confirm"; failed != (sp.Status().Code == codes.Error) {
				t.Errorf("span %s: got status %v", sp.Name(), sp.Status())
			}
		}
		want := []string{"saga order reserve", "saga order charge", "saga order confirm", "saga order compensate charge", "saga order compensate reserve"}
		if !slices.Equal(names, want) {
			t.Errorf("spans: got %v, want %v", names, want)
		}
	})
}
