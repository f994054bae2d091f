package observability_test

import (
	"fmt"
	"time"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
)

// A package that holds a breaker lists it with the telemetry, so an
// operator's dashboard finds it, and reports its changes, so watchers
// hear of them; it untracks it when done.
func ExampleTelemetry_TrackBreaker() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	stop := tel.WatchBreakers(func(e resilience.StateChange) {
		fmt.Printf("%s: %s → %s (%s)\n", e.Breaker, e.From, e.To, e.Reason)
	})
	defer stop()
	b := resilience.NewBreaker("payments", resilience.BreakerConfig{}, resilience.WithStateChange(tel.BreakerStateChange))
	untrack := tel.TrackBreaker(b)

	for _, b := range tel.Breakers() {
		fmt.Println(b.Name(), b.State())
	}
	b.SetOverride(resilience.OverrideForceOpen)
	untrack()
	fmt.Println(len(tel.Breakers()), "tracked")
	// Output:
	// payments closed
	// payments: closed → open (operator set force-open)
	// 0 tracked
}

// A client lists the instances it calls; Instances gathers every
// client's, by callee and address.
func ExampleTelemetry_TrackInstances() {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	untrack := tel.TrackInstances("payments", func() []observability.InstanceStatus {
		return []observability.InstanceStatus{{ID: "payments-1", Addr: "127.0.0.1:4567", Latency: 2 * time.Millisecond}}
	})
	defer untrack()
	for _, s := range tel.Instances() {
		for _, i := range s.Instances {
			fmt.Println(s.Service, i.ID, i.Addr, i.Latency, i.Ejected)
		}
	}
	// Output:
	// payments payments-1 127.0.0.1:4567 2ms false
}

// With EndpointStats, the telemetry's HTTP middleware keeps each route's
// last minute; Endpoints reads it.
func ExampleTelemetry_Endpoints() {
	tel, err := observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(tel.Endpoints(time.Now())), "routes served a request in the last", observability.EndpointWindow)
	// Output:
	// 0 routes served a request in the last 1m0s
}
