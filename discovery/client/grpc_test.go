package client_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// startGRPC serves grpc.health.v1 on loopback and returns its instance.
func startGRPC(t *testing.T, service, id string) (discovery.Instance, *tgrpc.Health) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tgrpc.NewServer()
	health := tgrpc.NewHealth(srv)
	health.SetServing(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return discovery.Instance{ID: id, Service: service, Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: discovery.ProtocolGRPC}, health
}

// healthCheck is a gRPC endpoint factory for grpc.health.v1 Check: the
// request is the service name, the response its status.
func healthCheck(cc *grpc.ClientConn) (endpoint.Endpoint, error) {
	return tgrpc.NewClient(cc, healthpb.Health_Check_FullMethodName,
		func(_ context.Context, service string) (*healthpb.HealthCheckRequest, error) {
			return &healthpb.HealthCheckRequest{Service: service}, nil
		},
		func(_ context.Context, reply *healthpb.HealthCheckResponse) (string, error) {
			return reply.GetStatus().String(), nil
		})
}

func TestClientCallsGRPCInstances(t *testing.T) {
	reg := memory.New()
	inst, _ := startGRPC(t, "catalog", "catalog-1")
	if err := reg.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	c, call := newClient(t, reg, "catalog", client.GRPCFactory(healthCheck))
	defer c.Close()
	got, err := call(context.Background(), "")
	if err != nil || got != "SERVING" {
		t.Errorf("got %v, %v; want SERVING, nil", got, err)
	}
}

func TestClientCallsOnlyInstancesOfItsProtocol(t *testing.T) {
	reg := memory.New()
	grpcInst, _ := startGRPC(t, "catalog", "catalog-grpc")
	httpInst := newInstanceServer(t, "catalog", "catalog-http").inst
	for _, inst := range []discovery.Instance{grpcInst, httpInst} {
		if err := reg.Register(context.Background(), inst); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name    string
		factory client.Factory
		request any
		want    any
	}{
		{"http", workFactory(), nil, "catalog-http"},
		{"grpc", client.GRPCFactory(healthCheck), "", "SERVING"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, call := newClient(t, reg, "catalog", tt.factory)
			defer c.Close()
			for range 4 {
				if got, err := call(context.Background(), tt.request); err != nil || deref(got) != tt.want {
					t.Fatalf("got %v, %v; want %v", got, err, tt.want)
				}
			}
		})
	}
}

func TestFactoriesRefuseTheOtherProtocol(t *testing.T) {
	tests := []struct {
		name    string
		factory client.Factory
		inst    discovery.Instance
		want    string
	}{
		{"HTTP on a gRPC instance", workFactory(), discovery.Instance{ID: "c-1", Service: "catalog", Port: 1, Protocol: discovery.ProtocolGRPC},
			`client: wrong protocol: instance "c-1" of "catalog" speaks gRPC; call it with client.GRPCFactory`},
		{"gRPC on an HTTP instance", client.GRPCFactory(healthCheck), discovery.Instance{ID: "c-1", Service: "catalog", Port: 1},
			`client: wrong protocol: instance "c-1" of "catalog" speaks http, not gRPC; register it with Protocol: discovery.ProtocolGRPC or call it with client.HTTPFactory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.factory(tt.inst)
			if err == nil || err.Error() != tt.want || !errors.Is(err, client.ErrProtocol) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

// Routes whose factories come from one GRPCConns share one connection per
// instance, closed when the instance leaves.
func TestGRPCConnsShareOneConnectionPerInstance(t *testing.T) {
	reg := memory.New()
	inst, _ := startGRPC(t, "catalog", "catalog-1")
	if err := reg.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	var conns []*grpc.ClientConn
	record := func(cc *grpc.ClientConn) (endpoint.Endpoint, error) {
		conns = append(conns, cc)
		return healthCheck(cc)
	}
	pool := client.NewGRPCConns()
	c, err := client.New(reg, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	one, two := c.Endpoint(pool.Factory(record)), c.Endpoint(pool.Factory(record))
	for _, call := range []endpoint.Endpoint{one, two} {
		if got, err := call(context.Background(), ""); err != nil || got != "SERVING" {
			t.Fatalf("got %v, %v; want SERVING", got, err)
		}
	}
	if len(conns) != 2 || conns[0] != conns[1] {
		t.Fatalf("got %d endpoints on %v, want 2 on one connection", len(conns), conns)
	}
	if err := reg.Deregister(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for s := conns[0].GetState(); s != connectivity.Shutdown; s = conns[0].GetState() {
		if !conns[0].WaitForStateChange(ctx, s) {
			t.Fatalf("the connection is %v 5s after the instance left, want SHUTDOWN", s)
		}
	}
}

func TestGRPCFactoryPassesOnAConstructorError(t *testing.T) {
	inst, _ := startGRPC(t, "catalog", "catalog-1")
	conns := client.NewGRPCConns()
	f := conns.Factory(func(cc *grpc.ClientConn) (endpoint.Endpoint, error) {
		return tgrpc.NewClient(cc, "not a method",
			func(_ context.Context, service string) (*healthpb.HealthCheckRequest, error) {
				return &healthpb.HealthCheckRequest{Service: service}, nil
			},
			func(_ context.Context, reply *healthpb.HealthCheckResponse) (string, error) {
				return reply.GetStatus().String(), nil
			})
	})
	e, closer, err := f(inst)
	if err == nil || e != nil || closer != nil {
		t.Fatalf("factory with a malformed method: got (%v, %v, %v), want an error and no endpoint", e, closer, err)
	}
	if !strings.Contains(err.Error(), "not a method") {
		t.Errorf("error %q does not name the method", err)
	}
	// The connection dialled for the failed route is not kept: a good
	// route afterwards dials afresh and works.
	e, closer, err = conns.Factory(healthCheck)(inst)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	got, err := e(context.Background(), "")
	if err != nil || got != "SERVING" {
		t.Fatalf("good route after a failed one: got (%v, %v), want SERVING", got, err)
	}
}
