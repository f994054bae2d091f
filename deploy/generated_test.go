package deploy

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/tailorkit/tailor/internal/scaffold"
)

// TestGeneratedManifests checks the Kubernetes manifests tailor new
// writes into a service's deploy/, in the shop's style, with the checks
// the shop's pass: every file decodes strictly, each overlay builds, the
// Service is headless with a port http (and grpc) that leads to the
// container's, the probes ask the port of TAILOR_HTTP_ADDR for /healthz
// and /readyz, the grace period outlasts the drain, the pod runs as
// non-root on a read-only root, with requests and limits, and a
// PodDisruptionBudget (and, on PostgreSQL, an autoscaler) covers it.
func TestGeneratedManifests(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    scaffold.Options
	}{
		{"sqlite", scaffold.Options{Name: "widgets"}},
		{"postgres-grpc-events", scaffold.Options{Name: "widgets", DB: "postgres", GRPC: true, Events: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.o.TailorVersion = "v1.0.0"
			if _, err := scaffold.New(dir, tc.o); err != nil {
				t.Fatal(err)
			}
			deploy := filepath.Join(dir, "deploy")
			decodeTree(t, deploy)
			for _, overlay := range overlays {
				t.Run(overlay, func(t *testing.T) {
					objs, err := kustomize(filepath.Join(deploy, overlay))
					if err != nil {
						t.Fatal(err)
					}
					checkGenerated(t, objs, tc.o)
				})
			}
		})
	}
}

// decodeTree decodes every YAML file under dir strictly: kustomizations
// into kustomize's type, the rest into their API types.
func decodeTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Base(path) == "kustomization.yaml" {
			var k types.Kustomization
			if err := yaml.UnmarshalStrict(b, &k); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			return nil
		}
		if objs, err := decodeAll(path, bytes.NewReader(b)); err != nil {
			t.Error(err)
		} else if len(objs) == 0 {
			t.Errorf("%s holds no object", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkGenerated checks one overlay's build of a generated service.
func checkGenerated(t *testing.T, objs []object, o scaffold.Options) {
	t.Helper()
	d, c := serviceContainer(t, objs, o.Name)
	cfg := serviceConfig(t, objs, c)
	if o.GRPC {
		cfg.GRPCAddr = cmp.Or(cfg.GRPCAddr, ":9090") // the program's default
	}

	// Ports and probes.
	want := map[string]int32{"http": port(t, cfg.HTTPAddr)}
	if o.GRPC {
		want["grpc"] = port(t, cfg.GRPCAddr)
	}
	for name, p := range want {
		cp, ok := containerPort(c, intstr.FromString(name))
		if !ok || cp.ContainerPort != p {
			t.Errorf("container port %s: got %+v, want %d", name, cp, p)
		}
	}
	for what, tc := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{
		"startupProbe":   {c.StartupProbe, livenessPath},
		"livenessProbe":  {c.LivenessProbe, livenessPath},
		"readinessProbe": {c.ReadinessProbe, readinessPath},
	} {
		if tc.probe == nil || tc.probe.HTTPGet == nil || tc.probe.HTTPGet.Path != tc.path || tc.probe.HTTPGet.Port.StrVal != "http" {
			t.Errorf("%s: got %+v, want GET %s on port http", what, tc.probe, tc.path)
		}
	}
	if o.Events {
		if _, ok := envLookup(t, objs, c)("NATS_URL"); !ok {
			t.Error("the container has no NATS_URL")
		}
	}

	// Graceful termination, as TestGracefulTermination has it.
	drain := cfg.ShutdownDelay + 3*cfg.ShutdownTimeout
	if gp := d.Spec.Template.Spec.TerminationGracePeriodSeconds; gp == nil || float64(*gp) <= drain.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %v is not more than TAILOR_SHUTDOWN_DELAY + 3 × TAILOR_SHUTDOWN_TIMEOUT = %s", gp, drain)
	}

	// Security and resources.
	pod := d.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod may run as root; set securityContext.runAsNonRoot")
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext %+v: want a read-only root and no privilege escalation", sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}

	// The Service, the budget and the autoscaler find the pods.
	pods := labels.Set(d.Spec.Template.Labels)
	s := named[*corev1.Service](objs, o.Name)
	if s == nil || s.Spec.ClusterIP != corev1.ClusterIPNone || !labels.SelectorFromSet(s.Spec.Selector).Matches(pods) {
		t.Fatalf("Service %s: got %+v, want a headless one that selects the pods %v", o.Name, s, pods)
	}
	for _, p := range s.Spec.Ports {
		if cp, ok := containerPort(c, p.TargetPort); !ok || cp.Name != p.Name {
			t.Errorf("Service port %s targets %s; want the container's port of that name", p.Name, p.TargetPort.String())
		}
		delete(want, p.Name)
	}
	if len(want) > 0 {
		t.Errorf("the Service has no port named %v", want)
	}
	pdb := named[*policyv1.PodDisruptionBudget](objs, o.Name)
	if pdb == nil || !labelSelector(t, pdb.Spec.Selector).Matches(pods) {
		t.Errorf("PodDisruptionBudget %s: got %+v, want one over the pods", o.Name, pdb)
	}
	hpa := named[*autoscalingv2.HorizontalPodAutoscaler](objs, o.Name)
	switch {
	case o.DB != "postgres":
		if hpa != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("on SQLite: got replicas %v and autoscaler %v, want 1 replica and no autoscaler", d.Spec.Replicas, hpa)
		}
	case hpa == nil || hpa.Spec.ScaleTargetRef.Name != d.Name || d.Spec.Replicas != nil:
		t.Errorf("on PostgreSQL: got autoscaler %+v and replicas %v, want one that scales Deployment %s, which names no replicas", hpa, d.Spec.Replicas, d.Name)
	}
	if d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && o.DB != "postgres" {
		t.Error("a rolling update on SQLite would run two writers; want Recreate")
	}
}
