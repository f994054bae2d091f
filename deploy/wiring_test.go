package deploy

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// workload is a Deployment or StatefulSet, by its pod template.
type workload struct {
	kind, name string
	template   corev1.PodTemplateSpec
}

func workloads(objs []object) []workload {
	var ws []workload
	for _, d := range all[*appsv1.Deployment](objs) {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Template})
	}
	for _, s := range all[*appsv1.StatefulSet](objs) {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Template})
	}
	return ws
}

// selected returns the workloads whose pods the label selector picks.
func selected(ws []workload, sel labels.Selector) []workload {
	var out []workload
	for _, w := range ws {
		if sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func labelSelector(t *testing.T, s *metav1.LabelSelector) labels.Selector {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// TestServicesSelectTheirPods checks every Service, PodDisruptionBudget
// and workload selector against the pods: each picks the pods of exactly
// one workload, and a Service's ports lead to that workload's container
// ports.
func TestServicesSelectTheirPods(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := build(t, overlay)
			ws := workloads(objs)
			for _, w := range ws {
				var sel *metav1.LabelSelector
				if d := named[*appsv1.Deployment](objs, w.name); w.kind == "Deployment" {
					sel = d.Spec.Selector
				} else {
					sel = named[*appsv1.StatefulSet](objs, w.name).Spec.Selector
				}
				if got := selected(ws, labelSelector(t, sel)); len(got) != 1 || got[0].name != w.name {
					t.Errorf("%s %s: its selector %v picks the pods of %v; want its own only", w.kind, w.name, sel, got)
				}
			}
			for _, s := range all[*corev1.Service](objs) {
				if len(s.Spec.Selector) == 0 {
					t.Errorf("Service %s has no selector", s.Name)
					continue
				}
				got := selected(ws, labels.SelectorFromSet(s.Spec.Selector))
				if len(got) != 1 {
					t.Errorf("Service %s selects %v, the pods of %d workloads %v; want one", s.Name, s.Spec.Selector, len(got), got)
					continue
				}
				c := got[0].template.Spec.Containers[0]
				for _, p := range s.Spec.Ports {
					target := p.TargetPort
					if target.IntVal == 0 && target.StrVal == "" {
						target.IntVal = p.Port
					}
					cp, ok := containerPort(&c, target)
					if !ok {
						t.Errorf("Service %s port %s targets %s, which container %s of %s has not", s.Name, p.Name, target.String(), c.Name, got[0].name)
					} else if cp.Name != p.Name {
						t.Errorf("Service %s port %s targets the container's port %s; name them alike", s.Name, p.Name, cp.Name)
					}
				}
			}
			for _, p := range all[*policyv1.PodDisruptionBudget](objs) {
				if got := selected(ws, labelSelector(t, p.Spec.Selector)); len(got) != 1 {
					t.Errorf("PodDisruptionBudget %s selects the pods of %v; want one workload's", p.Name, got)
				}
			}
		})
	}
}

// TestEachServiceIsDiscoverable checks what discovery/dns needs: every
// service but the gateway has a headless Service of its own name whose
// port http (and grpc, for the catalog) leads to the container's; the
// gateway has a normal one.
func TestEachServiceIsDiscoverable(t *testing.T) {
	objs := build(t, "overlays/dev")
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			_, c := serviceContainer(t, objs, svc)
			s := named[*corev1.Service](objs, svc)
			if s == nil {
				t.Fatalf("no Service %s", svc)
			}
			headless := s.Spec.ClusterIP == corev1.ClusterIPNone
			if svc == "gateway" && headless {
				t.Errorf("Service gateway is headless; want a normal one, one address for an Ingress or load balancer")
			}
			if svc != "gateway" && !headless {
				t.Errorf("Service %s has clusterIP %q; want None, so DNS serves an SRV record per pod", svc, s.Spec.ClusterIP)
			}
			var names []string
			for _, p := range s.Spec.Ports {
				names = append(names, p.Name)
			}
			var want []string
			for _, cp := range c.Ports {
				want = append(want, cp.Name)
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) || !slices.Contains(names, "http") {
				t.Errorf("Service %s has ports %v; want %v, the container's, with http among them", svc, names, want)
			}
		})
	}
}

// TestScaling checks the autoscalers and disruption budgets: each
// service has an HPA on its Deployment, which names no replica count of
// its own; dev runs one replica of each and prod two or more; a budget
// lets one pod go at a time.
func TestScaling(t *testing.T) {
	for _, overlay := range overlays {
		objs := build(t, overlay)
		for _, svc := range services {
			t.Run(overlay+"/"+svc, func(t *testing.T) {
				d, c := serviceContainer(t, objs, svc)
				if d.Spec.Replicas != nil {
					t.Errorf("Deployment sets replicas %d; leave them to the HPA, or each apply resets them", *d.Spec.Replicas)
				}
				h := named[*autoscalingv2.HorizontalPodAutoscaler](objs, svc)
				if h == nil {
					t.Fatalf("no HorizontalPodAutoscaler %s", svc)
				}
				if r := h.Spec.ScaleTargetRef; r.APIVersion != "apps/v1" || r.Kind != "Deployment" || r.Name != svc {
					t.Errorf("HPA scales %+v; want apps/v1 Deployment %s", r, svc)
				}
				lo, hi := int32(1), h.Spec.MaxReplicas
				if h.Spec.MinReplicas != nil {
					lo = *h.Spec.MinReplicas
				}
				if overlay == "overlays/dev" && lo != 1 || overlay == "overlays/prod" && lo < 2 || hi < lo {
					t.Errorf("HPA bounds %d to %d; want 1 in dev, 2 or more in prod, max at least min", lo, hi)
				}
				p := named[*policyv1.PodDisruptionBudget](objs, svc)
				if p == nil {
					t.Fatalf("no PodDisruptionBudget %s", svc)
				}
				if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PodDisruptionBudget allows %v unavailable; want 1, which never blocks a drain when there is one pod", p.Spec.MaxUnavailable)
				}
				if !labelSelector(t, p.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
					t.Errorf("PodDisruptionBudget selector %v misses the pods %v", p.Spec.Selector, d.Spec.Template.Labels)
				}
				r := c.Resources
				for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := r.Requests[name]; !ok {
						t.Errorf("no %s request; the HPA scales on CPU requested", name)
					}
					// A CPU limit sets GOMAXPROCS, which bounds, among
					// others, the users service's password hashing memory.
					if _, ok := r.Limits[name]; !ok {
						t.Errorf("no %s limit", name)
					}
				}
			})
		}
	}
}

// TestOverlaysDiffer checks what sets dev and prod apart: images, room,
// and where the secrets come from.
func TestOverlaysDiffer(t *testing.T) {
	dev, prod := build(t, "overlays/dev"), build(t, "overlays/prod")
	for _, svc := range services {
		_, dc := serviceContainer(t, dev, svc)
		_, pc := serviceContainer(t, prod, svc)
		if !strings.HasSuffix(dc.Image, ":dev") {
			t.Errorf("dev image of %s is %q; want the tag dev", svc, dc.Image)
		}
		if tag := pc.Image[strings.LastIndex(pc.Image, ":")+1:]; !strings.Contains(pc.Image, ":") || tag == "dev" || tag == "latest" {
			t.Errorf("prod image of %s is %q; want a release tag", svc, pc.Image)
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if d, p := dc.Resources.Requests[name], pc.Resources.Requests[name]; p.Cmp(d) <= 0 {
				t.Errorf("%s requests %s %s in prod, %s in dev; want more in prod", svc, name, p.String(), d.String())
			}
		}
	}
	if s := all[*corev1.Secret](prod); len(s) > 0 {
		t.Errorf("prod makes %d Secrets; its secrets come from outside (see README.md)", len(s))
	}
	for _, s := range all[*corev1.Secret](dev) {
		for k, v := range s.Data {
			if !strings.Contains(string(v), "dev") && !strings.Contains(k, "signing-key") {
				t.Errorf("dev Secret %s key %s has a value that does not say it is for development", s.Name, k)
			}
		}
	}
}

// ref is a ConfigMap or Secret key a pod reads.
type ref struct{ kind, name, key string }

// refs lists what the pod spec reads from ConfigMaps and Secrets: env
// keys, and the keys or whole objects its volumes mount (key "").
func refs(spec corev1.PodSpec) []ref {
	var out []ref
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
			case e.ValueFrom.ConfigMapKeyRef != nil:
				out = append(out, ref{"ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key})
			case e.ValueFrom.SecretKeyRef != nil:
				out = append(out, ref{"Secret", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key})
			}
		}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			out = append(out, ref{"ConfigMap", v.ConfigMap.Name, ""})
			for _, it := range v.ConfigMap.Items {
				out = append(out, ref{"ConfigMap", v.ConfigMap.Name, it.Key})
			}
		case v.Secret != nil:
			out = append(out, ref{"Secret", v.Secret.SecretName, ""})
			for _, it := range v.Secret.Items {
				out = append(out, ref{"Secret", v.Secret.SecretName, it.Key})
			}
		}
	}
	return out
}

// keys returns the keys of the ConfigMap or Secret r names, and whether
// objs has it.
func keys(objs []object, r ref) (map[string]bool, bool) {
	k := map[string]bool{}
	switch r.kind {
	case "ConfigMap":
		cm := named[*corev1.ConfigMap](objs, r.name)
		if cm == nil {
			return nil, false
		}
		for key := range maps.Keys(cm.Data) {
			k[key] = true
		}
	case "Secret":
		s := named[*corev1.Secret](objs, r.name)
		if s == nil {
			return nil, false
		}
		for key := range maps.Keys(s.Data) {
			k[key] = true
		}
	}
	return k, true
}

// TestReferencedKeysExist checks every ConfigMap and Secret key the pods
// read: in dev each exists; in prod, whose Secrets come from outside,
// the ConfigMap keys exist, every Secret read is one dev generates too,
// and the README names each Secret and key prod needs.
func TestReferencedKeysExist(t *testing.T) {
	dev, prod := build(t, "overlays/dev"), build(t, "overlays/prod")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	generated := devSecrets(t, dev)
	documented := func(name string) bool { return strings.Contains(string(readme), "`"+name+"`") }
	missing := map[string]bool{} // reported once each
	for _, c := range []struct {
		overlay string
		objs    []object
	}{{"overlays/dev", dev}, {"overlays/prod", prod}} {
		for _, w := range workloads(c.objs) {
			for _, r := range refs(w.template.Spec) {
				in := c.objs
				if c.overlay == "overlays/prod" && r.kind == "Secret" {
					// Made outside the overlay, under the name of the
					// generator dev makes it with.
					in = dev
					for _, name := range []string{r.name, r.key} {
						if name != "" && !documented(name) && !missing[name] {
							missing[name] = true
							t.Errorf("README.md does not name `%s` (Secret %s, key %q), which prod reads (%s %s)", name, r.name, r.key, w.kind, w.name)
						}
					}
					if generated[r.name] == "" {
						t.Errorf("prod: %s %s reads Secret %s, which dev does not generate", w.kind, w.name, r.name)
						continue
					}
					r.name = generated[r.name]
				}
				k, ok := keys(in, r)
				switch {
				case !ok:
					t.Errorf("%s: %s %s reads %s %s, which the build has not", c.overlay, w.kind, w.name, r.kind, r.name)
				case r.key != "" && !k[r.key]:
					t.Errorf("%s: %s %s reads key %s of %s %s, which has only %v", c.overlay, w.kind, w.name, r.key, r.kind, r.name, slices.Sorted(maps.Keys(k)))
				}
			}
		}
	}
}

// devSecrets maps the name of each Secret generator of the dev overlay
// to the name of the Secret it made, with its hash suffix.
func devSecrets(t *testing.T, dev []object) map[string]string {
	t.Helper()
	b, err := os.ReadFile("overlays/dev/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k types.Kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range k.SecretGenerator {
		for _, s := range all[*corev1.Secret](dev) {
			if s.Name == g.Name || strings.HasPrefix(s.Name, g.Name+"-") && !strings.Contains(s.Name[len(g.Name)+1:], "-") {
				out[g.Name] = s.Name
			}
		}
		if out[g.Name] == "" {
			t.Errorf("the dev build has no Secret from the generator %s", g.Name)
		}
	}
	return out
}
