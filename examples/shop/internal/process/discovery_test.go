package process

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// TestDiscoverySetting: SHOP_DISCOVERY=dns needs no Consul agent;
// Consul, the default, needs its address; any other value, a malformed
// DNS server or one given to Consul is refused with exit 2 and a message
// saying what to set.
func TestDiscoverySetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the discovery parse picks, or what the error says
		fail bool
	}{
		{"consul by default", map[string]string{EnvConsulAddr: "127.0.0.1:8500"}, DiscoveryConsul, false},
		{"consul named", map[string]string{EnvDiscovery: "consul", EnvConsulAddr: "127.0.0.1:8500"}, DiscoveryConsul, false},
		{"dns without Consul", map[string]string{EnvDiscovery: "dns"}, DiscoveryDNS, false},
		{"dns with a server", map[string]string{EnvDiscovery: "dns", EnvDNSServer: "10.96.0.10:53"}, DiscoveryDNS, false},
		{"consul without its address", map[string]string{}, "CONSUL_HTTP_ADDR is not set; set it, for instance CONSUL_HTTP_ADDR=127.0.0.1:8500, or set SHOP_DISCOVERY=dns", true},
		{"consul named without its address", map[string]string{EnvDiscovery: "consul"}, "CONSUL_HTTP_ADDR is not set", true},
		{"unknown", map[string]string{EnvDiscovery: "etcd", EnvConsulAddr: "127.0.0.1:8500"}, `SHOP_DISCOVERY is "etcd"; set it to consul (the default: register in Consul) or dns`, true},
		{"upper case", map[string]string{EnvDiscovery: "DNS"}, `SHOP_DISCOVERY is "DNS"`, true},
		{"server not ip:port", map[string]string{EnvDiscovery: "dns", EnvDNSServer: "kube-dns"}, "SHOP_DNS_SERVER", true},
		{"server named", map[string]string{EnvDiscovery: "dns", EnvDNSServer: "kube-dns:53"}, "must be an IP address", true},
		{"server with Consul", map[string]string{EnvConsulAddr: "127.0.0.1:8500", EnvDNSServer: "10.96.0.10:53"}, "SHOP_DNS_SERVER is set but the services are found in Consul", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := required(t, "orders")
			delete(env, EnvConsulAddr)
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := parse("orders", nil, io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tc.fail {
				if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v (exit %d), want exit 2 and an error saying %q", err, exitCode(err), tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if s.discovery != tc.want {
				t.Errorf("discovery %q, want %q", s.discovery, tc.want)
			}
		})
	}
}

// TestGatewayFindsServicesInDNS runs the gateway's program with
// SHOP_DISCOVERY=dns, no Consul anywhere, asking a DNS server on
// loopback: a request to the catalog's route reaches the catalog instance
// its SRV record names. The catalog here is an HTTP server on loopback
// that answers the route; what is tested is that the gateway finds it.
func TestGatewayFindsServicesInDNS(t *testing.T) {
	catalog := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/products" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[{"id":"found-through-dns"}]}`)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = catalog.Serve(ln) }()
	t.Cleanup(func() { _ = catalog.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	server := startDNS(t,
		"_http._tcp.catalog. 5 IN SRV 0 0 "+strconv.Itoa(port)+" catalog-0.shop.test.",
		"catalog-0.shop.test. 5 IN A 127.0.0.1",
	)

	addr := freeAddr(t)
	env := map[string]string{EnvDiscovery: DiscoveryDNS, EnvDNSServer: server}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "gateway", []string{"-http-addr", addr, "-shutdown-delay", "0s"}, io.Discard, io.Discard,
			func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the gateway after its context ended: %v, want nil", err)
		}
	}()

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, b, err := get("http://" + addr + "/v1/products")
		if err == nil && status == http.StatusOK {
			body = b
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the gateway stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/products through the gateway: %d %s %v; want 200 from the catalog found in DNS within 10 s", status, b, err)
		}
		time.Sleep(50 * time.Millisecond) // the gateway's process coming up
	}
	if !strings.Contains(body, "found-through-dns") {
		t.Errorf("GET /v1/products: %s, want the answer of the catalog the SRV record names", body)
	}
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// freeAddr is a loopback address with a port free when it was asked.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDNS starts an authoritative DNS server on a loopback UDP port that
// answers with records, in zone file syntax, and NXDOMAIN for any other
// name; it stops with the test. It returns its address.
func startDNS(t *testing.T, records ...string) string {
	t.Helper()
	byName := map[string][]mdns.RR{}
	for _, text := range records {
		rr, err := mdns.NewRR(text)
		if err != nil {
			t.Fatalf("record %q: %v", text, err)
		}
		name := strings.ToLower(rr.Header().Name)
		byName[name] = append(byName[name], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{})
	srv := &mdns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(up) }, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		rrs, ok := byName[strings.ToLower(r.Question[0].Name)]
		for _, rr := range rrs {
			if rr.Header().Rrtype == r.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if !ok {
			m.SetRcode(r, mdns.RcodeNameError)
		}
		_ = w.WriteMsg(m)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.ActivateAndServe() }()
	select {
	case <-up:
	case err := <-served:
		t.Fatalf("the DNS server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("stopping the DNS server: %v", err)
		}
	})
	return pc.LocalAddr().String()
}
