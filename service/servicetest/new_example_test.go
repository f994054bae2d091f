package servicetest_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

// New keeps the service's own configuration but moves its listeners to
// free loopback ports: a GRPCAddr, whatever it says, gets a gRPC listener
// on one. A test that checks how the service stops calls Stop and looks at
// Run's error itself.
func ExampleNew() {
	testHealth := func(t *testing.T) {
		svc := servicetest.New(t, service.Config{Name: "catalog", GRPCAddr: ":9090"})
		s := servicetest.Start(t, svc)

		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health: got %v, want SERVING", got)
		}
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v, want a clean shutdown", err)
		}
	}
	_ = testHealth // in a _test.go file: func TestHealth(t *testing.T) { ... }
}
