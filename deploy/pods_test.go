package deploy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tailorkit/tailor/discovery/dns"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

// The paths the probes must use: what package service serves, as the
// test TestProbePathsAreServed shows against a real service.
const (
	livenessPath  = "/healthz"
	readinessPath = "/readyz"
)

// coreDNSTTL is the TTL of the records CoreDNS's kubernetes plugin
// serves (its ttl option, default 5 s).
const coreDNSTTL = 5 * time.Second

// serviceContainer returns the Deployment of a shop service and its one
// container, named after the service.
func serviceContainer(t *testing.T, objs []object, svc string) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	d := named[*appsv1.Deployment](objs, svc)
	if d == nil {
		t.Fatalf("no Deployment %s", svc)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != svc {
		t.Fatalf("Deployment %s has containers %v; want one, named %s", svc, containerNames(cs), svc)
	}
	return d, &cs[0]
}

func containerNames(cs []corev1.Container) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// envLookup returns an os.LookupEnv for what the container's environment
// holds once the Kubernetes objects objs are applied: literal values and
// ConfigMap and Secret keys. A key of an object that objs lack (a Secret
// made outside the overlay) is set to a placeholder.
func envLookup(t *testing.T, objs []object, c *corev1.Container) func(string) (string, bool) {
	t.Helper()
	if len(c.EnvFrom) > 0 {
		t.Errorf("container %s uses envFrom; name each variable in env, so the checks see what it sets", c.Name)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			env[e.Name] = fmt.Sprintf("<ConfigMap %s key %s>", ref.Name, ref.Key)
			if cm := named[*corev1.ConfigMap](objs, ref.Name); cm != nil {
				env[e.Name] = cm.Data[ref.Key]
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			env[e.Name] = fmt.Sprintf("<Secret %s key %s>", ref.Name, ref.Key)
			if s := named[*corev1.Secret](objs, ref.Name); s != nil {
				env[e.Name] = string(s.Data[ref.Key])
			}
		default:
			env[e.Name] = "<from the pod>"
		}
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// serviceConfig is the service.Config the service's program binds from
// the container's environment, as its flags and variables read it.
func serviceConfig(t *testing.T, objs []object, c *corev1.Container) service.Config {
	t.Helper()
	cfg := service.Config{Name: c.Name}
	if err := cfg.Bind(flag.NewFlagSet(c.Name, flag.ContinueOnError), "", envLookup(t, objs, c)); err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
	return cfg
}

// port returns the port number of a host:port address.
func port(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

// containerPort resolves a probe's or a Service's port, by name or
// number, to the container's port of that name or number.
func containerPort(c *corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// TestPortsAndProbes checks each service's ports and probes against the
// settings its program reads: the container's port http is the port of
// TAILOR_HTTP_ADDR (grpc, of TAILOR_GRPC_ADDR, where set), and the
// probes ask that port for /healthz (startup, liveness) and /readyz
// (readiness).
func TestPortsAndProbes(t *testing.T) {
	for _, overlay := range overlays {
		objs := build(t, overlay)
		for _, svc := range services {
			t.Run(overlay+"/"+svc, func(t *testing.T) {
				d, c := serviceContainer(t, objs, svc)
				cfg := serviceConfig(t, objs, c)
				want := map[string]int32{"http": port(t, cfg.HTTPAddr)}
				if cfg.GRPCAddr != "" {
					want["grpc"] = port(t, cfg.GRPCAddr)
				}
				if len(c.Ports) != len(want) {
					t.Errorf("container ports %v; want exactly %v, from TAILOR_HTTP_ADDR %q and TAILOR_GRPC_ADDR %q", c.Ports, want, cfg.HTTPAddr, cfg.GRPCAddr)
				}
				for _, cp := range c.Ports {
					if n, ok := want[cp.Name]; !ok || cp.ContainerPort != n {
						t.Errorf("container port %s is %d; want one of %v, from TAILOR_HTTP_ADDR %q and TAILOR_GRPC_ADDR %q", cp.Name, cp.ContainerPort, want, cfg.HTTPAddr, cfg.GRPCAddr)
					}
				}
				for _, p := range []struct {
					kind  string
					probe *corev1.Probe
					path  string
				}{
					{"startup", c.StartupProbe, livenessPath},
					{"liveness", c.LivenessProbe, livenessPath},
					{"readiness", c.ReadinessProbe, readinessPath},
				} {
					if p.probe == nil || p.probe.HTTPGet == nil {
						t.Errorf("no %s probe over HTTP; want GET %s", p.kind, p.path)
						continue
					}
					g := p.probe.HTTPGet
					if g.Path != p.path {
						t.Errorf("%s probe asks for %q; want %q", p.kind, g.Path, p.path)
					}
					if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
						t.Errorf("%s probe scheme %s; the service serves plain HTTP", p.kind, g.Scheme)
					}
					if cp, ok := containerPort(c, g.Port); !ok || cp.ContainerPort != want["http"] {
						t.Errorf("%s probe port %s is not the HTTP port %d (TAILOR_HTTP_ADDR %q)", p.kind, g.Port.String(), want["http"], cfg.HTTPAddr)
					}
				}
				ann := d.Spec.Template.Annotations
				if ann["prometheus.io/port"] != strconv.Itoa(int(want["http"])) || ann["prometheus.io/path"] != "/metrics" {
					t.Errorf("scrape annotations %v; want port %d, path /metrics", ann, want["http"])
				}
			})
		}
	}
}

// TestProbePathsAreServed runs a real service and asks it for the
// probes' paths: liveness answers 200 even when a readiness check fails,
// readiness answers 200 only when every check passes.
func TestProbePathsAreServed(t *testing.T) {
	var failing atomic.Bool
	svc := servicetest.New(t, service.Config{Name: "probed"})
	svc.AddCheck("switch", func(ctx context.Context) error {
		if failing.Load() {
			return errors.New("switched off")
		}
		return nil
	})
	s := servicetest.Start(t, svc)
	get := func(path string) int {
		t.Helper()
		resp, err := s.Client().Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		failing bool
		path    string
		want    int
	}{
		{false, livenessPath, http.StatusOK},
		{false, readinessPath, http.StatusOK},
		{false, "/no-such-probe", http.StatusNotFound},
		{true, livenessPath, http.StatusOK},
		{true, readinessPath, http.StatusServiceUnavailable},
	} {
		failing.Store(c.failing)
		if got := get(c.path); got != c.want {
			t.Errorf("GET %s with the check failing %v: status %d; want %d", c.path, c.failing, got, c.want)
		}
	}
}

// TestGracefulTermination checks that Kubernetes waits for the whole
// drain before it kills a pod. On deletion the pod leaves its Service's
// endpoints, and the kubelet runs the preStop hook, then sends SIGTERM;
// the service reports not ready and calls Drain (up to
// TAILOR_SHUTDOWN_TIMEOUT), serves on for TAILOR_SHUTDOWN_DELAY, lets
// in-flight requests finish (up to the timeout again), then stops its
// components and flushes its telemetry (the timeout a third time). The
// grace period must exceed that sum, and the delay must outlast a
// caller's view of DNS: the records' TTL plus the resolver's refresh.
func TestGracefulTermination(t *testing.T) {
	for _, overlay := range overlays {
		objs := build(t, overlay)
		for _, svc := range services {
			t.Run(overlay+"/"+svc, func(t *testing.T) {
				d, c := serviceContainer(t, objs, svc)
				cfg := serviceConfig(t, objs, c)
				var preStop time.Duration
				if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
					h := c.Lifecycle.PreStop
					if h.Sleep == nil {
						t.Fatalf("preStop %+v runs a command or a request; the image has no shell: use sleep, or TAILOR_SHUTDOWN_DELAY", h)
					}
					preStop = time.Duration(h.Sleep.Seconds) * time.Second
				}
				drain := preStop + cfg.ShutdownDelay + 3*cfg.ShutdownTimeout
				gp := d.Spec.Template.Spec.TerminationGracePeriodSeconds
				if gp == nil {
					t.Fatalf("no terminationGracePeriodSeconds; want more than the drain's %s", drain)
				}
				if grace := time.Duration(*gp) * time.Second; grace <= drain {
					t.Errorf("terminationGracePeriodSeconds %d is not more than preStop %s + TAILOR_SHUTDOWN_DELAY %s + 3 × TAILOR_SHUTDOWN_TIMEOUT %s = %s",
						*gp, preStop, cfg.ShutdownDelay, cfg.ShutdownTimeout, drain)
				}
				if seen := coreDNSTTL + dns.DefaultRefresh; preStop+cfg.ShutdownDelay < seen {
					t.Errorf("preStop %s + TAILOR_SHUTDOWN_DELAY %s is less than callers may keep the pod's address: DNS TTL %s + refresh %s",
						preStop, cfg.ShutdownDelay, coreDNSTTL, dns.DefaultRefresh)
				}
			})
		}
	}
}
