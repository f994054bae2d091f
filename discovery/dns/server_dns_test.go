package dns_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/dns"
	"github.com/tailorkit/tailor/discovery/internal/discoverytest"
)

// The tests below ask a real DNS server on loopback; their watches look
// names up every 50 ms, and each waits at most this long for a change.
const wait = 5 * time.Second

// newTestResolver returns a resolver that asks s, with quick refreshes
// and backoffs, and closes with the test.
func newTestResolver(t *testing.T, s *dnsServer, cfg dns.Config, opts ...dns.Option) *dns.Resolver {
	t.Helper()
	cfg.Server = s.addr
	if cfg.Refresh == 0 {
		cfg.Refresh = 50 * time.Millisecond
	}
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	r, err := dns.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func resolve(t *testing.T, r *dns.Resolver, service string) discovery.Instancer {
	t.Helper()
	w, err := r.Resolve(service)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// hostPorts lists st's instances as "host:port".
func hostPorts(st discovery.State) []string { return st.Event().Instances }

func hasHostPorts(want ...string) func(discovery.State) bool {
	slices.Sort(want)
	return func(st discovery.State) bool {
		return st.Err == nil && !st.Updated.IsZero() && slices.Equal(hostPorts(st), want)
	}
}

// The default Name: "orders.test." is looked up as the SRV records of
// "_http._tcp.orders.test.", and each target as its address. Records added
// and removed on the server are picked up by the next refresh; a name
// removed altogether (NXDOMAIN) leaves no instances and no error.
func TestSRVRecordsAppearChangeAndGo(t *testing.T) {
	s := startDNS(t)
	s.set(
		"_http._tcp.orders.test. 5 IN SRV 0 10 8080 a.orders.test.",
		"_http._tcp.orders.test. 5 IN SRV 0 10 8081 b.orders.test.",
		"a.orders.test. 5 IN A 127.0.0.1",
		"b.orders.test. 5 IN A 127.0.0.2",
	)
	r := newTestResolver(t, s, dns.Config{Name: func(service string) string { return service + ".test." }})
	w := resolve(t, r, "orders")

	st := discoverytest.Wait(t, w, wait, "two instances", hasHostPorts("127.0.0.1:8080", "127.0.0.2:8081"))
	want := discovery.Instance{ID: "orders-127.0.0.1-8080", Service: "orders", Address: "127.0.0.1", Port: 8080, Protocol: discovery.ProtocolHTTP}
	if got := st.Instances[0]; got.ID != want.ID || got.Service != want.Service || got.Address != want.Address || got.Port != want.Port || got.Protocol != want.Protocol {
		t.Errorf("first instance: got %+v, want %+v", got, want)
	}
	if st.Registered != 2 || st.Failures != 0 {
		t.Errorf("got %d registered and %d failures, want 2 and 0", st.Registered, st.Failures)
	}

	s.set(
		"_http._tcp.orders.test. 5 IN SRV 0 10 8081 b.orders.test.",
		"_http._tcp.orders.test. 5 IN SRV 0 10 8082 c.orders.test.",
		"c.orders.test. 5 IN AAAA ::1",
	)
	discoverytest.Wait(t, w, wait, "a replaced by c", hasHostPorts("127.0.0.2:8081", "[::1]:8082"))

	s.remove("_http._tcp.orders.test.")
	st = discoverytest.Wait(t, w, wait, "no instances once the name is gone", hasHostPorts())
	if st.Registered != 0 {
		t.Errorf("got %d registered, want 0", st.Registered)
	}
}

// A name with a port: each of its addresses is an instance on that port.
// Config.Network keeps one family.
func TestAddressesOnAPort(t *testing.T) {
	s := startDNS(t)
	s.set(
		"orders.test. 5 IN A 127.0.0.1",
		"orders.test. 5 IN A 127.0.0.2",
		"orders.test. 5 IN AAAA ::1",
	)
	name := func(string) string { return "orders.test.:9000" }
	tests := []struct {
		network string
		want    []string
	}{
		{"", []string{"127.0.0.1:9000", "127.0.0.2:9000", "[::1]:9000"}},
		{"ip4", []string{"127.0.0.1:9000", "127.0.0.2:9000"}},
		{"ip6", []string{"[::1]:9000"}},
	}
	for _, tt := range tests {
		t.Run("network="+tt.network, func(t *testing.T) {
			w := resolve(t, newTestResolver(t, s, dns.Config{Name: name, Network: tt.network}), "orders")
			discoverytest.Wait(t, w, wait, fmt.Sprint(tt.want), hasHostPorts(tt.want...))
		})
	}

	s.set("orders.test. 5 IN A 127.0.0.3")
	w := resolve(t, newTestResolver(t, s, dns.Config{Name: name}), "orders")
	discoverytest.Wait(t, w, wait, "the changed address", hasHostPorts("127.0.0.3:9000"))
}

// A name with records of other types only (NODATA) and a name that does
// not exist (NXDOMAIN) are answers: no instances, no error.
func TestNoRecordsIsNoInstances(t *testing.T) {
	s := startDNS(t)
	s.set(
		"_http._tcp.orders.test. 5 IN TXT \"no SRV here\"",
		"orders.test. 5 IN TXT \"no address here\"",
	)
	r := newTestResolver(t, s, dns.Config{})
	for _, service := range []string{"_http._tcp.orders.test.", "orders.test.:80", "missing.test.", "missing.test.:80"} {
		t.Run(service, func(t *testing.T) {
			w := resolve(t, r, service)
			st := discoverytest.Wait(t, w, wait, "an empty answer", func(st discovery.State) bool { return !st.Updated.IsZero() })
			if len(st.Instances) != 0 || st.Err != nil || st.Failures != 0 {
				t.Errorf("got %v, err %v, %d failures; want no instances, no error", hostPorts(st), st.Err, st.Failures)
			}
		})
	}
}

// A server that stops answering leaves the watch with its last known
// instances, the error and a count of failures, logged once; once it
// answers again the error is cleared.
func TestServerDownKeepsLastInstances(t *testing.T) {
	s := startDNS(t)
	s.set(
		"_http._tcp.orders.test. 5 IN SRV 0 10 8080 a.orders.test.",
		"a.orders.test. 5 IN A 127.0.0.1",
	)
	var logs syncBuffer
	r := newTestResolver(t, s, dns.Config{}, dns.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	w := resolve(t, r, "_http._tcp.orders.test.")
	discoverytest.Wait(t, w, wait, "the instance", hasHostPorts("127.0.0.1:8080"))

	s.stop()
	st := discoverytest.Wait(t, w, wait, "three failures in a row", func(st discovery.State) bool { return st.Failures >= 3 })
	if got := hostPorts(st); !slices.Equal(got, []string{"127.0.0.1:8080"}) {
		t.Errorf("instances while the server is down: got %v, want the last known [127.0.0.1:8080]", got)
	}
	var dnsErr *net.DNSError
	if !errors.As(st.Err, &dnsErr) {
		t.Errorf("got error %v (%T), want one wrapping a *net.DNSError", st.Err, st.Err)
	}
	msg := st.Err.Error()
	if !strings.HasPrefix(msg, `dns: looking up the SRV records of "_http._tcp.orders.test."`) || !strings.HasSuffix(msg, "is the DNS server ("+s.addr+") up and reachable?") {
		t.Errorf("error %q does not say what was looked up and where", msg)
	}
	if n := strings.Count(logs.String(), "dns: lookup failed"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
	}

	s.set("_http._tcp.orders.test. 5 IN SRV 0 10 8081 a.orders.test.")
	s.restart()
	discoverytest.Wait(t, w, wait, "the new port once the server is back", hasHostPorts("127.0.0.1:8081"))
	if st := w.State(); st.Failures != 0 {
		t.Errorf("got %d failures after an answer, want 0", st.Failures)
	}
	if !strings.Contains(logs.String(), "dns: lookups answered again") {
		t.Errorf("the recovery was not logged:\n%s", logs.String())
	}
}

// An answer too large for a UDP message comes back truncated, and the
// resolver asks again over TCP.
func TestLargeAnswerOverTCP(t *testing.T) {
	s := startDNS(t)
	var records, want []string
	for k := range 100 {
		target := fmt.Sprintf("pod-%d.orders.test.", k)
		records = append(records,
			fmt.Sprintf("_http._tcp.orders.test. 5 IN SRV 0 10 %d %s", 8000+k, target),
			target+" 5 IN A 127.0.0.1")
		want = append(want, fmt.Sprintf("127.0.0.1:%d", 8000+k))
	}
	s.set(records...)
	w := resolve(t, newTestResolver(t, s, dns.Config{Refresh: time.Minute}), "_http._tcp.orders.test.")
	discoverytest.Wait(t, w, wait, "100 instances", hasHostPorts(want...))
	if s.tcpQueries.Load() == 0 {
		t.Errorf("no query came over TCP (%d in all); the answer should not fit a UDP message", s.queries.Load())
	}
}

// syncBuffer is a bytes.Buffer that a logger and a test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
