package observability

import (
	"testing"
	"time"
)

func TestLatencyBinsKeepQuantilesWithinAQuarter(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 3 * time.Microsecond, 5 * time.Microsecond,
		100 * time.Microsecond, 1234 * time.Microsecond, 45 * time.Millisecond, 2 * time.Second, 10 * time.Minute} {
		got := binMiddle(latencyBin(d))
		if lo, hi := float64(d)*0.75-float64(time.Microsecond), float64(d)*1.25+float64(time.Microsecond); float64(got) < lo || float64(got) > hi {
			t.Errorf("bin of %s reports %s; want within 25%%", d, got)
		}
	}
	if b := latencyBin(time.Hour); b != latencyBins-1 {
		t.Errorf("bin of an hour = %d, want the last, %d", b, latencyBins-1)
	}
	if b := latencyBin(-time.Second); b != 0 {
		t.Errorf("bin of a negative duration = %d, want 0", b)
	}
	for i := 1; i < latencyBins; i++ {
		if binMiddle(i) <= binMiddle(i-1) {
			t.Fatalf("bin %d's middle %s is not above bin %d's %s", i, binMiddle(i), i-1, binMiddle(i-1))
		}
	}
}

func TestEndpointWindowForgetsWhatIsOlderThanAMinute(t *testing.T) {
	in, err := New(Config{EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	// 98 fast requests and 2 slow failures in the first second, one more
	// 30 s later.
	for range 98 {
		in.endpoints.record([2]string{"GET", "/v1/a"}, t0, time.Millisecond, outcomeOK)
	}
	for range 2 {
		in.endpoints.record([2]string{"GET", "/v1/a"}, t0.Add(500*time.Millisecond), time.Second, outcomeFailed)
	}
	in.endpoints.record([2]string{"POST", "/v1/a"}, t0.Add(30*time.Second), time.Millisecond, outcomeOK)

	got := in.Endpoints(t0.Add(59 * time.Second))
	if len(got) != 2 {
		t.Fatalf("at 59 s: %+v, want two routes", got)
	}
	a := got[0]
	if a.Method != "GET" || a.Requests != 100 || a.Errors != 2 || a.ErrorRatio() != 0.02 || a.Rate() != 100.0/60 {
		t.Errorf("GET /v1/a = %+v, want 100 requests and 2 errors", a)
	}
	if a.P50 < 750*time.Microsecond || a.P50 > 1250*time.Microsecond || a.P99 < 750*time.Millisecond || a.P99 > 1250*time.Millisecond {
		t.Errorf("GET /v1/a p50 = %s, p99 = %s; want about 1ms and 1s", a.P50, a.P99)
	}
	got = in.Endpoints(t0.Add(60 * time.Second))
	if len(got) != 1 || got[0].Method != "POST" || got[0].Requests != 1 {
		t.Errorf("at 60 s: %+v, want only POST, the first second having left the window", got)
	}
	// A bucket reused a minute later starts from zero.
	in.endpoints.record([2]string{"GET", "/v1/a"}, t0.Add(60*time.Second), time.Millisecond, outcomeOK)
	got = in.Endpoints(t0.Add(60 * time.Second))
	if len(got) != 2 || got[0].Method != "GET" || got[0].Requests != 1 || got[0].Errors != 0 {
		t.Errorf("after reuse: %+v, want GET with 1 request and no error", got)
	}
	if got := in.Endpoints(t0.Add(2 * time.Hour)); len(got) != 0 {
		t.Errorf("two hours later: %+v, want none", got)
	}
}

func TestEndpointsAreOffByDefault(t *testing.T) {
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if in.endpoints != nil || in.Endpoints(time.Now()) != nil {
		t.Error("a Telemetry without EndpointStats keeps endpoint stats")
	}
}

func TestTrackingEndsWhenUntracked(t *testing.T) {
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	stop := in.TrackInstances("payments", func() []InstanceStatus { return []InstanceStatus{{Addr: "b"}, {Addr: "a"}} })
	if got := in.Instances(); len(got) != 1 || got[0].Instances[0].Addr != "a" {
		t.Fatalf("Instances() = %+v, want payments' two, by address", got)
	}
	stop()
	stop() // again: nothing
	if got := in.Instances(); len(got) != 0 {
		t.Errorf("after untrack Instances() = %+v, want none", got)
	}
}

// BenchmarkEndpointRecord is what Config.EndpointStats adds to a request:
// one record in its route's window.
//
//	go test ./observability -run '^$' -bench EndpointRecord -benchmem
func BenchmarkEndpointRecord(b *testing.B) {
	e := &windows[[2]string]{}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		e.record([2]string{"GET", "/v1/products/{id}"}, now, 3*time.Millisecond, outcomeOK)
	}
}
