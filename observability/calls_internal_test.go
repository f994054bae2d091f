package observability

import (
	"testing"
	"time"
)

func TestCallWindowTimesOnlyTheCallsSent(t *testing.T) {
	var ws windows[string]
	t0 := time.Unix(1_800_000_000, 0)
	// Two calls answered in 10 ms, one failed after a second, three
	// refused at once: the refusals count but are not timed, or the median
	// would be 0.
	for range 2 {
		ws.record("payments", t0, 10*time.Millisecond, outcomeOK)
	}
	ws.record("payments", t0, time.Second, outcomeFailed)
	for range 3 {
		ws.record("payments", t0, 0, outcomeRejected)
	}
	var got []tally
	ws.each(t0, func(k string, tl *tally) {
		if k != "payments" {
			t.Errorf("key %q, want payments", k)
		}
		got = append(got, *tl)
	})
	if len(got) != 1 {
		t.Fatalf("%d windows reported, want 1", len(got))
	}
	tl := &got[0]
	if tl.requests != 6 || tl.errors != 1 || tl.rejected != 3 {
		t.Errorf("requests, errors, rejected = %d, %d, %d; want 6, 1, 3", tl.requests, tl.errors, tl.rejected)
	}
	if p50 := tl.quantile(0.5); p50 < 7500*time.Microsecond || p50 > 12500*time.Microsecond {
		t.Errorf("p50 = %s, want about 10ms", p50)
	}
	if p99 := tl.quantile(0.99); p99 < 750*time.Millisecond || p99 > 1250*time.Millisecond {
		t.Errorf("p99 = %s, want about 1s", p99)
	}
	only := tally{requests: 2, rejected: 2}
	if q := only.quantile(0.5); q != 0 {
		t.Errorf("quantile of refusals alone = %s, want 0", q)
	}
}

func TestCallsForgetWhatIsOlderThanAMinute(t *testing.T) {
	in, err := New(Config{EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	in.calls.record("payments", t0, time.Millisecond, outcomeFailed)
	in.calls.record("inventory", t0.Add(30*time.Second), time.Millisecond, outcomeRejected)
	in.calls.get("catalog") // a client made, never called

	got := in.Calls(t0.Add(59 * time.Second))
	if len(got) != 2 || got[0].Callee != "inventory" || got[1].Callee != "payments" {
		t.Fatalf("at 59 s: %+v, want inventory and payments, by name", got)
	}
	inv, pay := got[0], got[1]
	if inv.Requests != 1 || inv.Rejected != 1 || inv.Errors != 0 || inv.P50 != 0 {
		t.Errorf("inventory = %+v, want 1 call, rejected, untimed", inv)
	}
	if pay.Requests != 1 || pay.Errors != 1 || pay.ErrorRatio() != 1 || pay.Rate() != 1.0/60 {
		t.Errorf("payments = %+v, want 1 call, failed", pay)
	}
	if got := in.Calls(t0.Add(60 * time.Second)); len(got) != 1 || got[0].Callee != "inventory" {
		t.Errorf("at 60 s: %+v, want only inventory", got)
	}
	if (CallStats{}).ErrorRatio() != 0 {
		t.Error("ErrorRatio without calls is not 0")
	}
}

func TestCallsAreOffByDefault(t *testing.T) {
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if in.calls != nil || in.Calls(time.Now()) != nil {
		t.Error("a Telemetry without EndpointStats keeps call stats")
	}
}
