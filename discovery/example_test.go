package discovery_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/service"
)

// A service registers itself once it is ready and deregisters as soon as
// it starts shutting down, before it stops answering.
func ExampleNewRegistration() {
	reg := memory.New()
	svc, err := service.New(service.Config{Name: "inventory", HTTPAddr: "127.0.0.1:0"},
		service.WithoutSignals(), service.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	registration := discovery.NewRegistration(reg, func() discovery.Instance {
		return discovery.Instance{ID: "inventory-1", Service: "inventory", Address: "127.0.0.1", Port: svc.HTTPAddr().Port, Version: "1.0.0"}
	})
	svc.Add(registration)

	watch, err := reg.Resolve("inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	events := make(chan sd.Event)
	go watch.Register(events)
	for ev := range events { // Announce registers once the service is ready
		if len(ev.Instances) == 1 {
			break
		}
	}
	watch.Deregister(events)
	st := watch.State()
	fmt.Println("registered:", st.Instances[0].ID, st.Instances[0].Version)

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println("after shutdown:", watch.State().Registered, "registered")
	// Output:
	// registered: inventory-1 1.0.0
	// after shutdown: 0 registered
}
