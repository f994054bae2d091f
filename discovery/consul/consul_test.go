package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
	queries  []uint64    // the index each query sent
	at       []time.Time // when each query was sent
	ttlAt    []time.Time // when each heartbeat was sent
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
	a.ttlAt = append(a.ttlAt, time.Now())
	return a.ttlError
}

func (a *fakeAgent) health(ctx context.Context, _ string, index uint64, _ time.Duration) ([]*api.ServiceEntry, uint64, error) {
	a.mu.Lock()
	a.queries = append(a.queries, index)
	a.at = append(a.at, time.Now())
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

func newTestRegistry(cfg Config, a agent) *Registry { return newRegistry(cfg, a) }

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

// watchUntilDrained runs a watch through the agent's whole script; call it
// in a synctest bubble, so the watch's waits take no time.
func watchUntilDrained(t *testing.T, r *Registry, a *fakeAgent) discovery.State {
	t.Helper()
	w, err := r.Resolve("inventory")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.drained:
	case <-time.After(time.Hour):
		t.Fatal("the watch did not reach the end of the agent's script in an hour of the bubble's time")
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
			synctest.Test(t, func(t *testing.T) {
				a := newFakeAgent(tt.answers...)
				watchUntilDrained(t, newTestRegistry(Config{}, a), a)
				if fmt.Sprint(a.queries) != fmt.Sprint(tt.want) {
					t.Errorf("got query indexes %v, want %v", a.queries, tt.want)
				}
			})
		})
	}
}

func TestWatchBacksOffWhileConsulIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("dial tcp 127.0.0.1:8500: connect: connection refused")
		answers := []answer{{entries: []*api.ServiceEntry{entry("a", 1, api.HealthPassing), entry("b", 2, api.HealthPassing)}, index: 10}}
		for range 10 {
			answers = append(answers, answer{err: down})
		}
		answers = append(answers, answer{index: 11}, answer{err: down})
		a := newFakeAgent(answers...)
		st := watchUntilDrained(t, newTestRegistry(Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}, a), a)

		if len(st.Instances) != 0 || st.Err == nil || st.Failures != 1 {
			t.Errorf("got %d instances, err %v, %d failures; want the 0 last known, the error, 1 failure", len(st.Instances), st.Err, st.Failures)
		}
		// The first gap spaces the successful query (MinQueryInterval);
		// then one backoff per failure, doubling up to the cap, drawn
		// between half and one and a half times that; an answer starts
		// the doubling over.
		want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			1600 * time.Millisecond, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 50 * time.Millisecond}
		if len(a.at) != len(want)+2 {
			t.Fatalf("got %d queries, want %d", len(a.at), len(want)+2)
		}
		for k, w := range want {
			gap := a.at[k+1].Sub(a.at[k])
			lo, hi := w/2, w*3/2
			if k == 0 || k == len(want)-1 {
				lo, hi = w, w
			}
			if gap < lo || gap > hi {
				t.Errorf("gap %d: got %v, want %v..%v", k, gap, lo, hi)
			}
		}
		if gap := a.at[len(a.at)-1].Sub(a.at[len(a.at)-2]); gap > 150*time.Millisecond {
			t.Errorf("the first failure after an answer waited %v, want the first backoff again (at most 150ms)", gap)
		}
	})
}

func TestWatchCountsOnlyPassingInstances(t *testing.T) {
	var st discovery.State
	synctest.Test(t, func(t *testing.T) {
		a := newFakeAgent(answer{index: 3, entries: []*api.ServiceEntry{
			entry("a", 1, api.HealthPassing, api.HealthPassing),
			entry("b", 2, api.HealthPassing, api.HealthCritical),
			entry("c", 3, api.HealthWarning),
		}})
		st = watchUntilDrained(t, newTestRegistry(Config{}, a), a)
	})
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
			r := newTestRegistry(tt.cfg, a)
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
	synctest.Test(t, func(t *testing.T) {
		a := newFakeAgent()
		a.ttlError = errors.New("agent down")
		r := newTestRegistry(Config{Check: Check{TTL: 3 * time.Second}}, a)
		inst := discovery.Instance{ID: "inv-1", Service: "inventory", Port: 8080}
		start := time.Now()
		if err := r.Register(context.Background(), inst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		if err := r.Deregister(context.Background(), inst); err != nil {
			t.Fatal(err)
		}
		r.Close() // waits for the heartbeat to end
		if got := fmt.Sprint(a.ttls); got != "[service:inv-1:tailor=passing service:inv-1:tailor=passing service:inv-1:tailor=passing]" {
			t.Errorf("got heartbeats %s, want three passing reports", got)
		}
		var at []time.Duration
		for _, t := range a.ttlAt {
			at = append(at, t.Sub(start))
		}
		if got := fmt.Sprint(at); got != "[0s 1s 2s]" {
			t.Errorf("got heartbeats at %s, want every TTL/3 = 1s", got)
		}
	})
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
	r := newTestRegistry(Config{}, newFakeAgent())
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

// leakyAgent fails every call with an error whose text holds the secrets,
// as an API error quoting its request might.
type leakyAgent struct{ *fakeAgent }

var errLeak = errors.New(`request to "http://ops:hunter2@127.0.0.1:1/v1/agent/service/register?token=s3cr3t-token" failed: connection refused`)

func (leakyAgent) register(context.Context, *api.AgentServiceRegistration) error { return errLeak }
func (leakyAgent) deregister(context.Context, string) error                      { return errLeak }
func (leakyAgent) updateTTL(context.Context, string, string, string) error       { return errLeak }
func (a leakyAgent) health(ctx context.Context, service string, index uint64, wait time.Duration) ([]*api.ServiceEntry, uint64, error) {
	if index == 0 {
		a.mu.Lock()
		n := len(a.queries)
		a.queries = append(a.queries, index)
		a.mu.Unlock()
		if n == 0 {
			return nil, 0, errLeak
		}
	}
	return a.fakeAgent.health(ctx, service, index, wait)
}

func TestSecretsNeverAppearInErrorsOrLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs strings.Builder
		var mu sync.Mutex
		logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil))
		a := leakyAgent{newFakeAgent()}
		r := newRegistry(Config{Address: "http://ops:hunter2@127.0.0.1:1", Check: Check{TTL: 3 * time.Second}}, a, WithLogger(logger))
		r.secrets = secretsOf(&api.Config{Address: "http://ops:hunter2@127.0.0.1:1", Token: "s3cr3t-token"})
		r.cfg.Address = stripUserinfo(r.cfg.Address)
		inst := discovery.Instance{ID: "inv-1", Service: "inventory", Port: 8080}
		var texts []string
		if err := r.Register(context.Background(), inst); err != nil {
			texts = append(texts, err.Error())
		}
		if err := r.Deregister(context.Background(), inst); err != nil {
			texts = append(texts, err.Error())
		}
		r.startHeartbeat(inst)
		w, err := r.Resolve("inventory")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := w.State().Err; err != nil {
			texts = append(texts, err.Error())
		}
		r.Close()
		mu.Lock()
		texts = append(texts, logs.String())
		mu.Unlock()
		if len(texts) != 4 {
			t.Fatalf("got %d error texts and logs, want 4: %q", len(texts), texts)
		}
		for _, text := range texts {
			for _, secret := range []string{"hunter2", "s3cr3t-token", "ops:"} {
				if strings.Contains(text, secret) {
					t.Errorf("%q appears in %s", secret, text)
				}
			}
			if !strings.Contains(text, "[redacted]") {
				t.Errorf("got %s, want [redacted] where the secrets were", text)
			}
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestNewRedactsTheAddressAndSkipsNilOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r, err := New(Config{Address: "http://ops:hunter2@" + addr, Token: "s3cr3t-token"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Register(context.Background(), discovery.Instance{ID: "inv-1", Service: "inventory", Port: 8080})
	if err == nil {
		t.Fatal("got nil error from an agent that is not there")
	}
	for _, secret := range []string{"hunter2", "s3cr3t-token"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q appears in %s", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "the agent at http://"+addr+":") {
		t.Errorf("got %s, want it to name the agent at http://%s without its user", err, addr)
	}
}
