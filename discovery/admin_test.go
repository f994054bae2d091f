package discovery_test

import (
	"net"
	"testing"

	"github.com/tailorkit/tailor/discovery"
)

func TestInstanceWithAdmin(t *testing.T) {
	base := discovery.Instance{ID: "orders-1", Service: "orders", Address: "10.0.0.7", Port: 8080, Meta: map[string]string{"team": "shop"}}
	tests := []struct {
		name string
		addr *net.TCPAddr
		want string // Meta["admin"]; "" for none
		dial string // AdminAddr
	}{
		{"nil", nil, "", ""},
		{"specific host", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9100}, "127.0.0.1:9100", "127.0.0.1:9100"},
		{"ipv6 host", &net.TCPAddr{IP: net.IPv6loopback, Port: 9100}, "[::1]:9100", "[::1]:9100"},
		{"wildcard", &net.TCPAddr{IP: net.IPv4zero, Port: 9100}, "9100", "10.0.0.7:9100"},
		{"no IP", &net.TCPAddr{Port: 9100}, "9100", "10.0.0.7:9100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base.WithAdmin(tt.addr)
			if v := got.Meta[discovery.MetaAdmin]; v != tt.want {
				t.Errorf("Meta[admin] = %q, want %q", v, tt.want)
			}
			if got.Meta["team"] != "shop" {
				t.Errorf("Meta[team] = %q, want the original's shop", got.Meta["team"])
			}
			if _, set := base.Meta[discovery.MetaAdmin]; set {
				t.Error("WithAdmin modified the original's Meta")
			}
			dial, ok := got.AdminAddr()
			if dial != tt.dial || ok != (tt.dial != "") {
				t.Errorf("AdminAddr() = %q, %v, want %q", dial, ok, tt.dial)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestInstanceAdminAddr(t *testing.T) {
	tests := []struct {
		meta, address, want string
	}{
		{"9100", "", "127.0.0.1:9100"},
		{":9100", "node-1", "node-1:9100"},
		{"admin.local:9100", "10.0.0.7", "admin.local:9100"},
		{"0", "10.0.0.7", ""},
		{"70000", "10.0.0.7", ""},
		{"http", "10.0.0.7", ""},
		{"host:", "10.0.0.7", ""},
		{"[::1", "10.0.0.7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.meta, func(t *testing.T) {
			i := discovery.Instance{Service: "orders", Address: tt.address, Port: 8080, Meta: map[string]string{discovery.MetaAdmin: tt.meta}}
			got, ok := i.AdminAddr()
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("AdminAddr() = %q, %v, want %q", got, ok, tt.want)
			}
		})
	}
	if got, ok := (discovery.Instance{Service: "orders", Port: 8080}).AdminAddr(); ok {
		t.Errorf("AdminAddr() without the key = %q, true; want false", got)
	}
}
