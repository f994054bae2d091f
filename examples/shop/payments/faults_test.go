package payments_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/fault"
)

func TestFaultsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    payments.Faults
		wantErr []string // words of the error
	}{
		{"unset", nil, payments.Faults{}, nil},
		{"empty", map[string]string{payments.EnvFailureRate: "", payments.EnvLatencyMS: "", payments.EnvUnavailableRate: ""}, payments.Faults{}, nil},
		{"all", map[string]string{payments.EnvFailureRate: "0.25", payments.EnvLatencyMS: "150", payments.EnvUnavailableRate: "1"},
			payments.Faults{FailureRate: 0.25, LatencyMS: 150, UnavailableRate: 1}, nil},
		{"bounds", map[string]string{payments.EnvFailureRate: "0", payments.EnvLatencyMS: "60000", payments.EnvUnavailableRate: "0"},
			payments.Faults{LatencyMS: payments.MaxLatencyMS}, nil},
		{"failure rate not a number", map[string]string{payments.EnvFailureRate: "ten percent"}, payments.Faults{}, []string{payments.EnvFailureRate, `"ten percent"`, "from 0 to 1"}},
		{"failure rate too high", map[string]string{payments.EnvFailureRate: "1.5"}, payments.Faults{}, []string{payments.EnvFailureRate, `"1.5"`}},
		{"failure rate NaN", map[string]string{payments.EnvFailureRate: "NaN"}, payments.Faults{}, []string{payments.EnvFailureRate}},
		{"unavailable rate negative", map[string]string{payments.EnvUnavailableRate: "-0.1"}, payments.Faults{}, []string{payments.EnvUnavailableRate, `"-0.1"`}},
		{"latency negative", map[string]string{payments.EnvLatencyMS: "-1"}, payments.Faults{}, []string{payments.EnvLatencyMS, `"-1"`, "0 to 60000 milliseconds"}},
		{"latency fraction", map[string]string{payments.EnvLatencyMS: "1.5"}, payments.Faults{}, []string{payments.EnvLatencyMS, "whole number"}},
		{"latency too long", map[string]string{payments.EnvLatencyMS: "60001"}, payments.Faults{}, []string{payments.EnvLatencyMS}},
		{"latency with a unit", map[string]string{payments.EnvLatencyMS: "200ms"}, payments.Faults{}, []string{payments.EnvLatencyMS, `"200ms"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payments.FaultsFromEnv(func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			})
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			for _, w := range append(tt.wantErr, "payments: ") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSetFaults(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	if got := s.Faults(); got != (payments.Faults{}) {
		t.Fatalf("faults at start = %+v, want none", got)
	}
	want := payments.Faults{FailureRate: 0.1, LatencyMS: 20, UnavailableRate: 0.2}
	if got, err := s.SetFaults(ctx, want); err != nil || got != want {
		t.Fatalf("SetFaults = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		f          payments.Faults
		wantFields []string
	}{
		{payments.Faults{FailureRate: -0.1}, []string{"failure_rate"}},
		{payments.Faults{FailureRate: 1.01, LatencyMS: -1, UnavailableRate: 2}, []string{"failure_rate", "latency_ms", "unavailable_rate"}},
		{payments.Faults{LatencyMS: payments.MaxLatencyMS + 1}, []string{"latency_ms"}},
		{payments.Faults{FailureRate: math.NaN(), UnavailableRate: math.Inf(1)}, []string{"failure_rate", "unavailable_rate"}},
	} {
		_, err := s.SetFaults(ctx, tt.f)
		wantKind(t, err, fault.InvalidArgument, http.StatusUnprocessableEntity)
		var fields []string
		for _, v := range fault.As(err).Violations {
			fields = append(fields, v.Field)
		}
		if !slices.Equal(fields, tt.wantFields) {
			t.Errorf("SetFaults(%+v): violations on %q, want %q", tt.f, fields, tt.wantFields)
		}
	}
	if got := s.Faults(); got != want {
		t.Errorf("faults after refused changes = %+v, want %+v", got, want)
	}
	if _, err := payments.NewService(nil, payments.WithFaults(payments.Faults{UnavailableRate: 3})); err == nil || !strings.Contains(err.Error(), "unavailable_rate") {
		t.Errorf("NewService with a rate of 3: %v, want an error naming unavailable_rate", err)
	}
}

// The latency delays every charge and refund by exactly its length; a
// call whose context ends first fails with the context's error, at that
// moment, and changes nothing. It runs in fake time.
func TestLatencyHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, db := newService(t, payments.WithFaults(payments.Faults{LatencyMS: 2000}))

		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 100))
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("the charge answered after %v, want 500ms, its deadline", took)
		}
		wantKind(t, err, fault.DeadlineExceeded, http.StatusGatewayTimeout, "nothing was charged")
		if !errors.Is(err, context.DeadlineExceeded) || !fault.IsRetryable(err) {
			t.Errorf("err = %v; want it to wrap context.DeadlineExceeded and be retryable", err)
		}
		if n := rows(t, db, "saga-1/charge"); n != 0 {
			t.Fatalf("%d payments recorded by a call that ran out of time, want 0", n)
		}

		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = s.Refund(canceled, payments.RefundRequest{Key: "saga-1/charge", OrderID: "order-1"})
		wantKind(t, err, fault.Canceled, 499)
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("a canceled call waited %v, want 0", took-500*time.Millisecond)
		}

		start = time.Now()
		p, err := s.Charge(context.Background(), charge("saga-1/charge", "order-1", 100))
		if err != nil || p.Status != payments.Charged {
			t.Fatalf("charge = %+v, %v", p, err)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("the charge answered after %v, want 2s", took)
		}
	})
}
