package dns

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tailorkit/tailor/discovery"
)

// fakeDNS stands in for net.Resolver: it answers from its maps, fails
// every lookup with err while err is set, and blocks lookups until their
// context ends while hang is set. A name in neither map does not exist.
type fakeDNS struct {
	mu     sync.Mutex
	srv    map[string][]*net.SRV
	srvErr error // returned with the SRV records, as for invalid targets
	ips    map[string][]netip.Addr
	ipErr  map[string]error
	err    error
	hang   bool
	at     []time.Time // when each SRV lookup started
}

func (f *fakeDNS) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	hang, err := f.hang, f.err
	records, ok := f.srv[name]
	records = slices.Clone(records)
	srvErr := f.srvErr
	f.mu.Unlock()
	if service != "" || proto != "" {
		return "", nil, errors.New("the watch should pass the whole SRV name")
	}
	switch {
	case hang:
		<-ctx.Done()
		return "", nil, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true}
	case err != nil:
		return "", nil, err
	case !ok:
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return name, records, srvErr
}

func (f *fakeDNS) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ipErr[host]; err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range f.ips[host] {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func (f *fakeDNS) set(update func(f *fakeDNS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	update(f)
}

func (f *fakeDNS) lookups() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.at)
}

// orders is an SRV name with one target per port given, all on 10.0.0.1.
func orders(ports ...uint16) *fakeDNS {
	f := &fakeDNS{
		srv: map[string][]*net.SRV{},
		ips: map[string][]netip.Addr{"a.orders.": {netip.MustParseAddr("10.0.0.1")}},
	}
	for _, p := range ports {
		f.srv["_http._tcp.orders."] = append(f.srv["_http._tcp.orders."], &net.SRV{Target: "a.orders.", Port: p})
	}
	return f
}

func ports(st discovery.State) []int {
	var out []int
	for _, inst := range st.Instances {
		out = append(out, inst.Port)
	}
	return out
}

var temporary = &net.DNSError{Err: "server misbehaving", Name: "_http._tcp.orders.", Server: "10.96.0.10:53", IsTemporary: true}

// A watch looks its name up at once and then every Refresh, and its state
// follows the records.
func TestRefreshEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := orders(8080)
		r := newResolver(Config{Name: func(string) string { return "orders." }}, f, "test")
		start := time.Now()
		w, err := r.Resolve("orders")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := w.State(); !slices.Equal(ports(st), []int{8080}) || st.Updated != start {
			t.Fatalf("at once: got ports %v updated at %v, want [8080] at %v", ports(st), st.Updated, start)
		}
		f.set(func(f *fakeDNS) {
			f.srv["_http._tcp.orders."] = append(f.srv["_http._tcp.orders."], &net.SRV{Target: "a.orders.", Port: 8081})
		})
		time.Sleep(DefaultRefresh - time.Millisecond)
		synctest.Wait()
		if got := ports(w.State()); !slices.Equal(got, []int{8080}) {
			t.Fatalf("just before the refresh: got %v, want [8080]", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := ports(w.State()); !slices.Equal(got, []int{8080, 8081}) {
			t.Fatalf("after the refresh: got %v, want [8080 8081]", got)
		}
		time.Sleep(2 * DefaultRefresh)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		var gaps []time.Duration
		at := f.lookups()
		for k := 1; k < len(at); k++ {
			gaps = append(gaps, at[k].Sub(at[k-1]))
		}
		want := []time.Duration{DefaultRefresh, DefaultRefresh, DefaultRefresh}
		if at[0] != start || !slices.Equal(gaps, want) {
			t.Errorf("lookups at %v from the start, then %v apart; want at once, then %v", at[0].Sub(start), gaps, want)
		}
	})
}

// Failed lookups keep the last known instances, count the failures and
// are retried after a backoff that doubles, with jitter, up to MaxBackoff;
// an answer clears the error and brings back the Refresh schedule.
func TestFailuresBackOffAndKeepInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := orders(8080)
		var logs bytes.Buffer
		cfg := Config{Name: func(string) string { return "orders." }, MinBackoff: time.Second, MaxBackoff: 8 * time.Second}
		r := newResolver(cfg, f, "10.96.0.10:53", WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		w, err := r.Resolve("orders")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		answered := w.State().Updated
		f.set(func(f *fakeDNS) { f.err = temporary })
		time.Sleep(DefaultRefresh + time.Minute)
		st := w.State()
		if !slices.Equal(ports(st), []int{8080}) || st.Updated != answered {
			t.Errorf("while failing: got ports %v updated at %v, want the last known [8080] of %v", ports(st), st.Updated, answered)
		}
		if !errors.Is(st.Err, temporary) {
			t.Errorf("got error %v, want one wrapping %v", st.Err, temporary)
		}
		at := f.lookups()
		if st.Failures != len(at)-1 {
			t.Errorf("got %d failures, want %d (every lookup but the first)", st.Failures, len(at)-1)
		}
		if gap := at[2].Sub(at[1]); gap < cfg.MinBackoff/2 || gap > cfg.MinBackoff*3/2 {
			t.Errorf("first retry after %v, want %v ± 50%%", gap, cfg.MinBackoff)
		}
		for k := 3; k < len(at); k++ {
			interval := min(cfg.MinBackoff<<(k-2), cfg.MaxBackoff)
			if gap := at[k].Sub(at[k-1]); gap < interval/2 || gap > interval*3/2 {
				t.Errorf("retry %d after %v, want %v ± 50%%", k-1, gap, interval)
			}
		}
		if n := strings.Count(logs.String(), "dns: lookup failed"); n != 1 {
			t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
		}

		f.set(func(f *fakeDNS) { f.err = nil })
		for w.State().Err != nil {
			time.Sleep(10 * time.Millisecond)
		}
		st = w.State()
		if st.Failures != 0 || st.Updated == answered {
			t.Errorf("after an answer: got %d failures, updated %v; want 0, a new time", st.Failures, st.Updated)
		}
		at = f.lookups()
		time.Sleep(time.Until(at[len(at)-1].Add(DefaultRefresh)))
		synctest.Wait()
		if got := f.lookups(); len(got) != len(at)+1 || got[len(at)].Sub(at[len(at)-1]) != DefaultRefresh {
			t.Errorf("after an answer, the next lookup came %v later, want %v", got[len(got)-1].Sub(at[len(at)-1]), DefaultRefresh)
		}
		if !strings.Contains(logs.String(), "dns: lookups answered again") {
			t.Errorf("the recovery was not logged:\n%s", logs.String())
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A lookup that does not end is cut at Timeout and counts as a failure;
// before any answer the state has the error and no Updated time, which is
// what a client waits for before its first call.
func TestTimeoutIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := orders(8080)
		f.hang = true
		r := newResolver(Config{Timeout: 2 * time.Second}, f, "test")
		w, err := r.Resolve("_http._tcp.orders.")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*time.Second - time.Millisecond)
		synctest.Wait()
		if st := w.State(); st.Err != nil {
			t.Fatalf("before Timeout: got error %v, want none yet", st.Err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		st := w.State()
		var dnsErr *net.DNSError
		if !errors.As(st.Err, &dnsErr) || !dnsErr.IsTimeout || st.Failures != 1 || !st.Updated.IsZero() {
			t.Errorf("at Timeout: got err %v, %d failures, updated %v; want a timeout, 1, zero", st.Err, st.Failures, st.Updated)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A name that goes away is no instances and no error, logged once.
func TestNameGoneIsNoInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := orders(8080)
		var logs bytes.Buffer
		r := newResolver(Config{}, f, "test", WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		w, err := r.Resolve("_http._tcp.orders.")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		f.set(func(f *fakeDNS) { delete(f.srv, "_http._tcp.orders.") })
		time.Sleep(3 * DefaultRefresh)
		st := w.State()
		if len(st.Instances) != 0 || st.Registered != 0 || st.Err != nil || st.Failures != 0 {
			t.Errorf("got %v, %d registered, err %v, %d failures; want nothing, no error", ports(st), st.Registered, st.Err, st.Failures)
		}
		if n := strings.Count(logs.String(), "dns: the name has no records"); n != 1 {
			t.Errorf("the empty name was logged %d times, want once:\n%s", n, logs.String())
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// How SRV records become instances.
func TestSRVRecordsToInstances(t *testing.T) {
	a, b, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1")
	tests := []struct {
		name    string
		srvName string
		network string
		srv     []*net.SRV
		srvErr  error
		ips     map[string][]netip.Addr
		ipErr   map[string]error
		want    []string // "id protocol"
		wantErr bool
	}{
		{
			name:    "one instance per target",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}, {Target: "b.", Port: 8080}},
			ips:     map[string][]netip.Addr{"a.": {a}, "b.": {b}},
			want:    []string{"orders-10.0.0.1-8080 http", "orders-10.0.0.2-8080 http"},
		},
		{
			name:    "a port named grpc",
			srvName: "_grpc._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 9090}},
			ips:     map[string][]netip.Addr{"a.": {a}},
			want:    []string{"orders-10.0.0.1-9090 grpc"},
		},
		{
			name:    "a port named grpc-web",
			srvName: "_grpc-web._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 9090}},
			ips:     map[string][]netip.Addr{"a.": {a}},
			want:    []string{"orders-10.0.0.1-9090 grpc"},
		},
		{
			name:    "a port named grpcweb is not gRPC",
			srvName: "_grpcweb._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 9090}},
			ips:     map[string][]netip.Addr{"a.": {a}},
			want:    []string{"orders-10.0.0.1-9090 http"},
		},
		{
			name:    "the first address of a target with several",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}},
			ips:     map[string][]netip.Addr{"a.": {v6, a}},
			want:    []string{"orders-fd00__1-8080 http"},
		},
		{
			name:    "the first address of the family asked",
			srvName: "_http._tcp.orders.",
			network: "ip4",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}},
			ips:     map[string][]netip.Addr{"a.": {v6, a}},
			want:    []string{"orders-10.0.0.1-8080 http"},
		},
		{
			name:    "two targets on one address are one instance",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}, {Target: "alias.", Port: 8080}},
			ips:     map[string][]netip.Addr{"a.": {a}, "alias.": {a}},
			want:    []string{"orders-10.0.0.1-8080"},
		},
		{
			name:    "no service at '.', none on port 0, none at a target that is gone",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: ".", Port: 8080}, {Target: "a.", Port: 0}, {Target: "gone.", Port: 8080}, {Target: "b.", Port: 8081}},
			ips:     map[string][]netip.Addr{"a.": {a}, "b.": {b}},
			want:    []string{"orders-10.0.0.2-8081 http"},
		},
		{
			name:    "records kept when others had invalid targets",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}},
			srvErr:  &net.DNSError{Err: "SRV header name is invalid", Name: "_http._tcp.orders."},
			ips:     map[string][]netip.Addr{"a.": {a}},
			want:    []string{"orders-10.0.0.1-8080 http"},
		},
		{
			name:    "a target whose lookup fails fails the refresh",
			srvName: "_http._tcp.orders.",
			srv:     []*net.SRV{{Target: "a.", Port: 8080}, {Target: "b.", Port: 8080}},
			ips:     map[string][]netip.Addr{"a.": {a}},
			ipErr:   map[string]error{"b.": temporary},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDNS{srv: map[string][]*net.SRV{tt.srvName: tt.srv}, srvErr: tt.srvErr, ips: tt.ips, ipErr: tt.ipErr}
			r := newResolver(Config{Network: tt.network}, f, "test")
			tgt, err := parseTarget("orders", tt.srvName)
			if err != nil {
				t.Fatal(err)
			}
			insts, err := newInstancer(r, "orders", tgt).resolve(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want one: %v", err, tt.wantErr)
			}
			var got []string
			for _, inst := range insts {
				if inst.Service != "orders" {
					t.Errorf("instance %q has Service %q, want orders", inst.ID, inst.Service)
				}
				got = append(got, inst.ID+" "+string(inst.Protocol))
			}
			slices.Sort(got)
			for k := range tt.want {
				if !strings.Contains(tt.want[k], " ") {
					tt.want[k] += " http"
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name    string
		want    target
		wantErr string
	}{
		{name: "orders", want: target{name: "_http._tcp.orders", srv: true}},
		{name: "orders.shop.svc.cluster.local.", want: target{name: "_http._tcp.orders.shop.svc.cluster.local.", srv: true}},
		{name: "_grpc._tcp.orders.shop.svc.cluster.local", want: target{name: "_grpc._tcp.orders.shop.svc.cluster.local", srv: true}},
		{name: "orders.shop.svc.cluster.local:8080", want: target{name: "orders.shop.svc.cluster.local", port: 8080, protocol: discovery.ProtocolHTTP}},
		{name: "[fd00::1]:8080", want: target{name: "fd00::1", port: 8080, protocol: discovery.ProtocolHTTP}},
		{name: "", wantErr: `dns: Config.Name gives an empty name for "orders"; return a DNS name, or host:port`},
		{name: "orders:http", wantErr: `dns: Config.Name gives "orders:http" for "orders", whose port "http" is not 1-65535`},
		{name: "orders:0", wantErr: `dns: Config.Name gives "orders:0" for "orders", whose port "0" is not 1-65535`},
		{name: ":8080", wantErr: `dns: Config.Name gives ":8080" for "orders", with no host before the port`},
		{name: "fd00::1", wantErr: `dns: Config.Name gives "fd00::1" for "orders", which is neither a DNS name nor host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTarget("orders", tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"server and resolver", Config{Server: "10.96.0.10:53", Resolver: &net.Resolver{}}, "dns: Config sets both Server and Resolver; set one (Server builds a resolver that asks that server)"},
		{"network", Config{Network: "tcp"}, `dns: Config.Network is "tcp", want "ip", "ip4" or "ip6"`},
		{"server without port", Config{Server: "10.96.0.10"}, `dns: Config.Server "10.96.0.10" is not host:port (address 10.96.0.10: missing port in address); write it as "10.96.0.10:53"`},
		{"server by name", Config{Server: "kube-dns:53"}, `dns: Config.Server "kube-dns:53" must be an IP address and port, as in "10.96.0.10:53": a name would need a DNS server of its own to be found`},
		{"server port", Config{Server: "10.96.0.10:dns"}, `dns: Config.Server "10.96.0.10:dns" has port "dns", want 1-65535`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// Stop ends a watch's lookups and leaves its state readable; Close ends
// every watch and makes Resolve fail.
func TestStopAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := orders(8080)
		r := newResolver(Config{}, f, "test")
		w, err := r.Resolve("_http._tcp.orders.")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		w.Stop()
		w.Stop()
		n := len(f.lookups())
		time.Sleep(time.Minute)
		if got := len(f.lookups()); got != n {
			t.Errorf("%d lookups after Stop, want none", got-n)
		}
		if got := ports(w.State()); !slices.Equal(got, []int{8080}) {
			t.Errorf("state after Stop: got %v, want [8080]", got)
		}
		if _, err := r.Resolve("_http._tcp.orders."); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resolve("orders"); !errors.Is(err, discovery.ErrStopped) {
			t.Errorf("Resolve after Close: got %v, want discovery.ErrStopped", err)
		}
	})
}
