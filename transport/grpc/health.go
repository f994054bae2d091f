package grpc

import (
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Health is a server's standard grpc.health.v1 service, tied to the
// service's readiness: it reports every service registered on the server,
// and the overall service "", as SERVING or NOT_SERVING all at once.
// Load balancers, Kubernetes gRPC probes and grpc-go clients with health
// checking enabled all read it.
//
// The contract with the code that runs the service (the service package
// does this for you):
//
//   - Build it with [NewHealth] after registering every other service and
//     before serving; it starts NOT_SERVING, so no traffic arrives before
//     the service is ready.
//   - Call SetServing(true) once the service is ready to take traffic.
//   - Call SetServing(false) the moment the service starts draining, before
//     [grpc.Server.GracefulStop], so balancers stop sending new calls while
//     calls in flight finish.
//   - Call Shutdown when the process is going away for good: every status
//     becomes NOT_SERVING and stays so.
//
// A Health is safe for concurrent use. Its zero value is not usable; use
// [NewHealth].
type Health struct {
	grpc   *grpc.Server
	health *health.Server

	mu sync.Mutex // serialises SetServing, so concurrent calls never leave a mix of statuses
}

// NewHealth registers the grpc.health.v1 service on s and returns it, with
// every service NOT_SERVING. Like every registration it must happen before
// s serves; services registered on s after NewHealth are still covered, as
// long as they are registered before the next SetServing.
func NewHealth(s *grpc.Server) *Health {
	h := &Health{grpc: s, health: health.NewServer()}
	healthpb.RegisterHealthServer(s, h.health)
	h.SetServing(false)
	return h
}

// SetServing sets the overall service "" and every service registered on
// the server (except the health service itself) to SERVING when serving is
// true and to NOT_SERVING when it is false. Watchers are told at once.
// After [Health.Shutdown] it has no effect.
func (h *Health) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.grpc.GetServiceInfo() {
		if name != healthpb.Health_ServiceDesc.ServiceName {
			h.health.SetServingStatus(name, st)
		}
	}
	h.health.SetServingStatus("", st)
}

// Shutdown sets every status to NOT_SERVING for good: later calls to
// SetServing are ignored. It is the health server's own
// [health.Server.Shutdown].
func (h *Health) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.health.Shutdown()
}
