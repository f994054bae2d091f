package consul

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/tailorkit/tailor/discovery"
)

// fakeAgent stands in for the Consul API. Health queries are answered from
// a script, one answer per query; when the script runs out the query
// blocks until the watch stops.
type fakeAgent struct {
	mu       sync.Mutex
	regs     []*api.AgentServiceRegistration
	deregs   []string
	ttls     []string
	answers  []answer
	queries  []uint64 // the index each query sent
	drained  chan struct{}
	ttlError error
}

type answer struct {
	entries []*api.ServiceEntry
	index   uint64
	err     error
}

func newFakeAgent(answers ...answer) *fakeAgent {
	return &fakeAgent{answers: answers, drained: make(chan struct{})}
}

func (a *fakeAgent) register(_ context.Context, reg *api.AgentServiceRegistration) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.regs = append(a.regs, reg)
	return nil
}

func (a *fakeAgent) deregister(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deregs = append(a.deregs, id)
	return nil
}

func (a *fakeAgent) updateTTL(_ context.Context, checkID, _, status string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ttls = append(a.ttls, checkID+"="+status)
	return a.ttlError
}

func (a *fakeAgent) health(ctx context.Context, _ string, index uint64, _ time.Duration) ([]*api.ServiceEntry, uint64, error) {
	a.mu.Lock()
	a.queries = append(a.queries, index)
	if len(a.answers) == 0 {
		a.mu.Unlock()
		select {
		case <-a.drained:
		default:
			close(a.drained)
		}
		<-ctx.Done()
		return nil, 0, ctx.Err()
	}
	ans := a.answers[0]
	a.answers = a.answers[1:]
	a.mu.Unlock()
	return ans.entries, ans.index, ans.err
}

// fakeTime records the registry's sleeps and returns at once.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (f *fakeTime) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeTime) time() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func newTestRegistry(cfg Config, a *fakeAgent) (*Registry, *fakeTime) {
	ft := &fakeTime{now: time.Unix(1000, 0)}
	r := newRegistry(cfg, a)
	r.sleep = ft.sleep
	r.now = ft.time
	r.jitter = func(n int64) int64 { return n - 1 } // the longest wait
	return r, ft
}

func entry(id string, port int, statuses ...string) *api.ServiceEntry {
	e := &api.ServiceEntry{
		Node:    &api.Node{Node: "n1", Address: "10.0.0.1"},
		Service: &api.AgentService{ID: id, Service: "inventory", Port: port, Meta: map[string]string{"protocol": "http", "version": "1.2.0", "zone": "a", "team": "stock"}},
	}
	for k, s := range statuses {
		e.Checks = append(e.Checks, &api.HealthCheck{CheckID: fmt.Sprint(k), Status: s})
	}
	return e
}

// watchUntilDrained runs a watch through the agent's whole script.
func watchUntilDrained(t *testing.T, r *Registry, a *fakeAgent) discovery.State {
	t.Helper()
	w, err := r.Resolve("inventory")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.drained:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not reach the end of the agent's script")
	}
	st := w.State()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestWatchIndexHandling(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:8500: connect: connection refused")
	e1 := entry("a", 1, api.HealthPassing)
	tests := []struct {
		name    string
		answers []answer
		want    []uint64 // the index of each query
	}{
		{"follows the last index", []answer{{entries: []*api.ServiceEntry{e1}, index: 7}, {entries: []*api.ServiceEntry{e1}, index: 9}}, []uint64{0, 7, 9}},
		{"an index that goes backwards resets to 0", []answer{{index: 50}, {index: 3}}, []uint64{0, 50, 0}},
		{"an index of 0 is never waited on", []answer{{index: 5}, {index: 0}}, []uint64{0, 5, 0}},
		{"a failure restarts from index 0", []answer{{index: 40}, {err: down}, {index: 2}}, []uint64{0, 40, 0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAgent(tt.answers...)
			r, _ := newTestRegistry(Config{}, a)
			watchUntilDrained(t, r, a)
			if fmt.Sprint(a.queries) != fmt.Sprint(tt.want) {
				t.Errorf("got query indexes %v, want %v", a.queries, tt.want)
			}
		})
	}
}

func TestWatchBacksOffWhileConsulIsDown(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:8500: connect: connection refused")
	answers := []answer{{entries: []*api.ServiceEntry{entry("a", 1, api.HealthPassing), entry("b", 2, api.HealthPassing)}, index: 10}}
	for range 10 {
		answers = append(answers, answer{err: down})
	}
	a := newFakeAgent(answers...)
	r, ft := newTestRegistry(Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}, a)
	st := watchUntilDrained(t, r, a)

	if len(st.Instances) != 2 || st.Err == nil || st.Failures != 10 {
		t.Errorf("got %d instances, err %v, %d failures; want the 2 last known, the error, 10 failures", len(st.Instances), st.Err, st.Failures)
	}
	// The first sleep spaces the successful query (MinQueryInterval);
	// then one backoff per failure, doubling up to the cap.
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	if fmt.Sprint(ft.sleeps) != fmt.Sprint(want) {
		t.Errorf("got sleeps %v, want %v", ft.sleeps, want)
	}
}

func TestBackoffJitter(t *testing.T) {
	r, _ := newTestRegistry(Config{MinBackoff: time.Second, MaxBackoff: 8 * time.Second}, newFakeAgent())
	w := newInstancer(r, "inventory")
	for _, tt := range []struct {
		failures int
		jitter   int64 // what the random source returns
		want     time.Duration
	}{
		{1, 0, 500 * time.Millisecond},
		{1, int64(500 * time.Millisecond), time.Second},
		{3, 0, 2 * time.Second},
		{10, 0, 4 * time.Second},
		{40, int64(4 * time.Second), 8 * time.Second},
	} {
		r.jitter = func(int64) int64 { return tt.jitter }
		if got := w.backoff(tt.failures); got != tt.want {
			t.Errorf("backoff(%d) with jitter %v: got %v, want %v", tt.failures, time.Duration(tt.jitter), got, tt.want)
		}
	}
}

func TestWatchCountsOnlyPassingInstances(t *testing.T) {
	a := newFakeAgent(answer{index: 3, entries: []*api.ServiceEntry{
		entry("a", 1, api.HealthPassing, api.HealthPassing),
		entry("b", 2, api.HealthPassing, api.HealthCritical),
		entry("c", 3, api.HealthWarning),
	}})
	r, _ := newTestRegistry(Config{}, a)
	st := watchUntilDrained(t, r, a)
	if st.Registered != 3 || len(st.Instances) != 1 {
		t.Fatalf("got %d registered, %d healthy; want 3 and 1", st.Registered, len(st.Instances))
	}
	got := st.Instances[0]
	want := discovery.Instance{ID: "a", Service: "inventory", Address: "10.0.0.1", Port: 1, Version: "1.2.0", Zone: "a", Protocol: discovery.ProtocolHTTP, Meta: map[string]string{"team": "stock"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRegistration(t *testing.T) {
	inst := discovery.Instance{ID: "inv-1", Service: "inventory", Address: "10.0.0.7", Port: 8080, Tags: []string{"primary"}, Version: "1.2.0", Zone: "eu-1a"}
	grpcInst := inst
	grpcInst.Protocol = discovery.ProtocolGRPC
	tests := []struct {
		name  string
		cfg   Config
		inst  discovery.Instance
		check api.AgentServiceCheck
	}{
		{
			name: "HTTP check of /readyz by default",
			inst: inst,
			check: api.AgentServiceCheck{CheckID: "service:inv-1:tailor", Name: "tailor: inventory readiness", Status: "passing",
				HTTP: "http://10.0.0.7:8080/readyz", Method: "GET", Interval: "10s", Timeout: "2s", DeregisterCriticalServiceAfter: "1m0s"},
		},
		{
			name: "TTL check",
			cfg:  Config{Check: Check{TTL: 3 * time.Second, DeregisterCriticalAfter: 5 * time.Minute}},
			inst: inst,
			check: api.AgentServiceCheck{CheckID: "service:inv-1:tailor", Name: "tailor: inventory readiness", Status: "passing",
				TTL: "3s", Notes: "heartbeat from the instance every 1s", DeregisterCriticalServiceAfter: "5m0s"},
		},
		{
			name: "gRPC health check for gRPC instances",
			cfg:  Config{Check: Check{Interval: 2 * time.Second, DeregisterCriticalAfter: -1}},
			inst: grpcInst,
			check: api.AgentServiceCheck{CheckID: "service:inv-1:tailor", Name: "tailor: inventory readiness", Status: "passing",
				GRPC: "10.0.0.7:8080", Interval: "2s", Timeout: "2s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAgent()
			r, _ := newTestRegistry(tt.cfg, a)
			defer r.Close()
			if err := r.Register(context.Background(), tt.inst); err != nil {
				t.Fatal(err)
			}
			reg := a.regs[0]
			if reg.ID != "inv-1" || reg.Name != "inventory" || reg.Address != "10.0.0.7" || reg.Port != 8080 || fmt.Sprint(reg.Tags) != "[primary]" {
				t.Errorf("got registration %+v, want the instance's id, name, address, port and tags", reg)
			}
			wantMeta := fmt.Sprintf("map[protocol:%s version:1.2.0 zone:eu-1a]", discovery.Instance{Protocol: tt.inst.Protocol}.Protocol)
			if tt.inst.Protocol == "" {
				wantMeta = "map[protocol:http version:1.2.0 zone:eu-1a]"
			}
			if got := fmt.Sprint(reg.Meta); got != wantMeta {
				t.Errorf("got meta %s, want %s", got, wantMeta)
			}
			if got, want := fmt.Sprintf("%+v", *reg.Check), fmt.Sprintf("%+v", tt.check); got != want {
				t.Errorf("got check  %s\nwant check %s", got, want)
			}
			if err := r.Deregister(context.Background(), tt.inst); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.deregs) != "[inv-1]" {
				t.Errorf("got deregistrations %v, want [inv-1]", a.deregs)
			}
		})
	}
}

func TestTTLHeartbeat(t *testing.T) {
	a := newFakeAgent()
	a.ttlError = errors.New("agent down")
	r, ft := newTestRegistry(Config{Check: Check{TTL: 3 * time.Second}}, a)
	r.sleep = func(ctx context.Context, d time.Duration) error {
		ft.mu.Lock()
		ft.sleeps = append(ft.sleeps, d)
		n := len(ft.sleeps)
		ft.mu.Unlock()
		if n >= 3 {
			<-ctx.Done() // hold the third beat until the heartbeat stops
			return ctx.Err()
		}
		return nil
	}
	inst := discovery.Instance{ID: "inv-1", Service: "inventory", Port: 8080}
	if err := r.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		n := len(a.ttls)
		a.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d heartbeats, want 3", n)
		}
		time.Sleep(time.Millisecond)
	}
	if err := r.Deregister(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	r.Close() // waits for the heartbeat to end
	if got := fmt.Sprint(a.ttls); got != "[service:inv-1:tailor=passing service:inv-1:tailor=passing service:inv-1:tailor=passing]" {
		t.Errorf("got heartbeats %s, want three passing reports", got)
	}
	if got := fmt.Sprint(ft.sleeps); got != "[1s 1s 1s]" {
		t.Errorf("got heartbeat intervals %s, want TTL/3 = 1s", got)
	}
}

// closingAgent closes its registry while a registration is on its way.
type closingAgent struct {
	*fakeAgent
	r *Registry
}

func (a *closingAgent) register(ctx context.Context, reg *api.AgentServiceRegistration) error {
	if err := a.r.Close(); err != nil {
		return err
	}
	return a.fakeAgent.register(ctx, reg)
}

func TestRegisterRacingCloseStartsNoHeartbeat(t *testing.T) {
	a := &closingAgent{fakeAgent: newFakeAgent()}
	r := newRegistry(Config{Check: Check{TTL: 3 * time.Second}}, a)
	a.r = r
	inst := discovery.Instance{ID: "inv-1", Service: "inventory", Port: 8080}
	if err := r.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	n := len(r.heartbeats)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("got %d heartbeats after Close, want 0", n)
	}
}

func TestRegisterRejectsBadInstances(t *testing.T) {
	r, _ := newTestRegistry(Config{}, newFakeAgent())
	defer r.Close()
	err := r.Register(context.Background(), discovery.Instance{Service: "inventory", Port: 8080})
	want := `discovery: instance of "inventory" has no ID; set Instance.ID (for example "inventory-local-8080")`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := r.Resolve(""); err == nil {
		t.Error("Resolve(\"\"): got nil error, want one")
	}
}
