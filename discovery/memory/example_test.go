package memory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
)

// Instances that fail their health check stay registered but leave every
// watch, as they do in Consul.
func ExampleRegistry_SetFailing() {
	ctx := context.Background()
	reg := memory.New()
	for k, id := range []string{"inventory-1", "inventory-2", "inventory-3"} {
		if err := reg.Register(ctx, discovery.Instance{ID: id, Service: "inventory", Port: 8081 + k}); err != nil {
			log.Fatal(err)
		}
	}
	watch, err := reg.Resolve("inventory")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()

	if err := reg.SetFailing("inventory-2", true); err != nil {
		log.Fatal(err)
	}
	st := watch.State()
	fmt.Println(st.Registered, "registered;", len(st.Instances), "healthy:", st.Event().Instances)
	// Output: 3 registered; 2 healthy: [127.0.0.1:8081 127.0.0.1:8083]
}

// A registry in the process: what registers is watched at once.
func ExampleNew() {
	reg := memory.New()
	if err := reg.Register(context.Background(), discovery.Instance{ID: "orders-1", Service: "orders", Port: 8080, Version: "1.4.0"}); err != nil {
		log.Fatal(err)
	}
	watch, err := reg.Resolve("orders")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()
	inst := watch.State().Instances[0]
	fmt.Println(inst.ID, inst.HostPort(), inst.Version)
	// Output: orders-1 127.0.0.1:8080 1.4.0
}
