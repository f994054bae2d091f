package consul_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/consul"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The agent comes from the CONSUL_* environment; instances get a TTL check
// kept alive by heartbeats, and Consul removes those that stay critical
// for five minutes.
func ExampleNew() {
	reg, err := consul.New(consul.Config{
		Check: consul.Check{TTL: 10 * time.Second, DeregisterCriticalAfter: 5 * time.Minute},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	inst := discovery.Instance{ID: "orders-1", Service: "orders", Address: "10.0.0.7", Port: 8080, Zone: "eu-1a"}
	if err := reg.Register(context.Background(), inst); err != nil {
		log.Fatal(err)
	}
	defer reg.Deregister(context.Background(), inst)

	payments, err := client.New(reg, "payments")
	if err != nil {
		log.Fatal(err)
	}
	defer payments.Close()
	charge := payments.Endpoint(client.HTTPFactory(http.MethodPost, "/v1/charges",
		thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[map[string]any]()))
	_ = charge // wrap, adapt with tailor.Call, and call
}

// New does not contact the agent: an agent that is not there shows in the
// errors of Register, which name the agent, and in the watches' states.
func ExampleNew_agentDown() {
	reg, err := consul.New(consul.Config{Address: "127.0.0.1:1"}) // nothing listens on port 1
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	err = reg.Register(context.Background(), discovery.Instance{ID: "orders-1", Service: "orders", Port: 8080})
	fmt.Println(strings.HasPrefix(err.Error(), `consul: registering instance "orders-1" of "orders" with the agent at 127.0.0.1:1:`))
	fmt.Println(strings.HasSuffix(err.Error(), "is the agent running (CONSUL_HTTP_ADDR)?"))
	// Output:
	// true
	// true
}
