package dns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/discovery/dns"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// whoServer is an HTTP server on loopback whose GET /who answers its name.
func whoServer(t *testing.T, name string) (port int) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /who", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(name)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return port
}

// waitFor waits up to wait for ok, checking every 10 ms: the client's own
// watch asks the DNS server on its own schedule.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s did not happen", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The call-by-name client over a dns.Resolver calls the HTTP servers the
// SRV records name, follows the records as they change, and fails with a
// NoInstanceError that says so once the name is gone.
func TestClientCallsInstancesFoundInDNS(t *testing.T) {
	s := startDNS(t)
	pa, pb := whoServer(t, "a"), whoServer(t, "b")
	s.set(
		fmt.Sprintf("_http._tcp.orders.shop.test. 5 IN SRV 0 10 %d a.orders.shop.test.", pa),
		fmt.Sprintf("_http._tcp.orders.shop.test. 5 IN SRV 0 10 %d b.orders.shop.test.", pb),
		"a.orders.shop.test. 5 IN A 127.0.0.1",
		"b.orders.shop.test. 5 IN A 127.0.0.1",
	)
	r := newTestResolver(t, s, dns.Config{Name: func(service string) string { return service + ".shop.test." }})
	orders, err := client.New(r, "orders", client.WithBalancer(client.RoundRobin()))
	if err != nil {
		t.Fatal(err)
	}
	defer orders.Close()
	who := orders.Endpoint(client.HTTPFactory(http.MethodGet, "/who",
		func(context.Context, *http.Request, any) error { return nil },
		thttp.DecodeJSONResponse[string]()))
	call := func() (string, error) {
		resp, err := who(context.Background(), nil)
		if err != nil {
			return "", err
		}
		return *resp.(*string), nil
	}

	seen := map[string]int{}
	for range 10 {
		name, err := call()
		if err != nil {
			t.Fatal(err)
		}
		seen[name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("10 calls round robin: got %v, want 5 on each of a and b", seen)
	}

	s.set(fmt.Sprintf("_http._tcp.orders.shop.test. 5 IN SRV 0 10 %d b.orders.shop.test.", pb))
	waitFor(t, "a leaving the client's rotation", func() bool { return len(orders.Instances()) == 1 })
	for range 3 {
		if name, err := call(); err != nil || name != "b" {
			t.Fatalf("after a left: got %q, %v; want b", name, err)
		}
	}

	s.remove("_http._tcp.orders.shop.test.")
	waitFor(t, "the rotation emptying", func() bool { return len(orders.Instances()) == 0 })
	_, err = call()
	var nie *client.NoInstanceError
	if !errors.As(err, &nie) {
		t.Fatalf("got %v, want a NoInstanceError", err)
	}
	want := `client: no instance of "orders" is registered; is the service running, and registered under that name?`
	if nie.Error() != want {
		t.Errorf("got %q, want %q", nie.Error(), want)
	}
}
