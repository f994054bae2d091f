package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/observability"
)

// BenchmarkCallStats makes one HTTP call over loopback through a client
// made with WithTelemetry, without and with the telemetry's
// EndpointStats, which a service turns on with its admin listener: the
// difference is what the dashboard's topology panel costs a call, whole.
//
//	go test ./discovery/client -run '^$' -bench CallStats -benchmem -count 6 | benchstat -col /stats -
func BenchmarkCallStats(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`"inventory-1"`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	inst := discovery.Instance{ID: "inventory-1", Service: "inventory", Address: "127.0.0.1", Port: p}
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run("stats="+name, func(b *testing.B) {
			tel, err := observability.New(observability.Config{EndpointStats: on})
			if err != nil {
				b.Fatal(err)
			}
			reg := memory.New()
			if err := reg.Register(context.Background(), inst); err != nil {
				b.Fatal(err)
			}
			c, err := client.New(reg, "inventory", client.WithTelemetry(tel))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			call := c.Endpoint(workFactory())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := call(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
