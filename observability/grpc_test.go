package observability_test

import (
	"context"
	"net"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestGRPC calls a real gRPC health service over loopback through the
// client and server interceptors.
func TestGRPC(t *testing.T) {
	r := newRig(t, false)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(r.inst.UnaryServerInterceptor()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(r.inst.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)

	tests := []struct {
		name                    string
		service                 string
		wantServer, wantClient  codes.Code
		wantStatusCodeAttribute string
	}{
		{"ok", "", codes.Unset, codes.Unset, "0"},
		{"not found is the client's business", "no.such.Service", codes.Unset, codes.Error, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.spans.Reset()
			_, _ = client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: tt.service})
			spans := r.spans.GetSpans()
			if len(spans) != 2 {
				t.Fatalf("got %d spans, want 2", len(spans))
			}
			byKind := map[trace.SpanKind]int{spans[0].SpanKind: 0, spans[1].SpanKind: 1}
			s, c := spans[byKind[trace.SpanKindServer]], spans[byKind[trace.SpanKindClient]]
			if s.Parent.SpanID() != c.SpanContext.SpanID() || s.SpanContext.TraceID() != c.SpanContext.TraceID() {
				t.Errorf("got server parent %s in trace %s, want client span %s in trace %s", s.Parent.SpanID(), s.SpanContext.TraceID(), c.SpanContext.SpanID(), c.SpanContext.TraceID())
			}
			if s.Name != "grpc.health.v1.Health/Check" {
				t.Errorf("got server span name %q, want grpc.health.v1.Health/Check", s.Name)
			}
			if got := attrOf(s.Attributes, "rpc.grpc.status_code"); got != tt.wantStatusCodeAttribute {
				t.Errorf("got rpc.grpc.status_code %s, want %s", got, tt.wantStatusCodeAttribute)
			}
			if s.Status.Code != tt.wantServer || c.Status.Code != tt.wantClient {
				t.Errorf("got server status %v client %v, want %v and %v", s.Status.Code, c.Status.Code, tt.wantServer, tt.wantClient)
			}
		})
	}
	if n := len(r.histogram(t, "rpc.server.call.duration")); n != 2 {
		t.Errorf("got %d server duration series, want 2 (OK and NOT_FOUND)", n)
	}
}
