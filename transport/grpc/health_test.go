package grpc_test

import (
	"errors"
	"sync"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tailorkit/tailor/fault"
	tailorgrpc "github.com/tailorkit/tailor/transport/grpc"
	"github.com/tailorkit/tailor/transport/grpc/internal/testpb"
)

func TestHealth(t *testing.T) {
	s := tailorgrpc.NewServer()
	testpb.RegisterEchoServer(s, newEchoServer())
	health := tailorgrpc.NewHealth(s)
	addr := serve(t, s)
	client := healthpb.NewHealthClient(dial(t, addr))
	ctx := testContext(t)

	services := []string{"", testpb.Echo_ServiceDesc.ServiceName}
	check := func(t *testing.T, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for _, name := range services {
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
			if err != nil {
				t.Fatalf("Check(%q): %v", name, err)
			}
			if resp.GetStatus() != want {
				t.Errorf("Check(%q): got %v, want %v", name, resp.GetStatus(), want)
			}
		}
	}

	watch, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: ""})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	next := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		if resp.GetStatus() != want {
			t.Errorf("Watch: got %v, want %v", resp.GetStatus(), want)
		}
	}

	check(t, healthpb.HealthCheckResponse_NOT_SERVING)
	next(healthpb.HealthCheckResponse_NOT_SERVING)

	health.SetServing(true)
	check(t, healthpb.HealthCheckResponse_SERVING)
	next(healthpb.HealthCheckResponse_SERVING)

	health.SetServing(false)
	check(t, healthpb.HealthCheckResponse_NOT_SERVING)
	next(healthpb.HealthCheckResponse_NOT_SERVING)

	health.SetServing(true)
	next(healthpb.HealthCheckResponse_SERVING)
	health.Shutdown()
	check(t, healthpb.HealthCheckResponse_NOT_SERVING)
	next(healthpb.HealthCheckResponse_NOT_SERVING)
	health.SetServing(true)
	check(t, healthpb.HealthCheckResponse_NOT_SERVING)

	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"}); !errors.Is(err, fault.NotFound) {
		t.Errorf("Check of an unknown service: got %v, want not found", err)
	}
}

func TestHealthConcurrentFlips(t *testing.T) {
	s := tailorgrpc.NewServer()
	testpb.RegisterEchoServer(s, newEchoServer())
	health := tailorgrpc.NewHealth(s)
	client := healthpb.NewHealthClient(dial(t, serve(t, s)))
	ctx := testContext(t)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				health.SetServing(i%2 == 0)
			}
		})
	}
	wg.Wait()
	health.SetServing(true)
	for _, name := range []string{"", testpb.Echo_ServiceDesc.ServiceName} {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q): got %v, %v; want SERVING", name, resp.GetStatus(), err)
		}
	}
}
