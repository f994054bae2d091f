package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The overlays, as kubectl apply -k takes them.
var overlays = []string{"overlays/dev", "overlays/prod"}

// services are the shop's services: one Deployment each, built from
// examples/shop/cmd/<service>.
var services = []string{"users", "catalog", "inventory", "payments", "orders", "reviews", "stats", "gateway"}

// object is one decoded Kubernetes object and where it came from.
type object struct {
	source string // the file or overlay, for messages
	kind   string
	name   string
	value  any // a pointer to the k8s.io/api type of kind
}

func (o object) String() string { return fmt.Sprintf("%s %s (%s)", o.kind, o.name, o.source) }

// newObject returns a pointer to the API type of apiVersion and kind, or
// false when the manifests are not expected to hold that kind.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return new(corev1.Namespace), true
	case "v1 ConfigMap":
		return new(corev1.ConfigMap), true
	case "v1 Secret":
		return new(corev1.Secret), true
	case "v1 Service":
		return new(corev1.Service), true
	case "apps/v1 Deployment":
		return new(appsv1.Deployment), true
	case "apps/v1 StatefulSet":
		return new(appsv1.StatefulSet), true
	case "policy/v1 PodDisruptionBudget":
		return new(policyv1.PodDisruptionBudget), true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return new(autoscalingv2.HorizontalPodAutoscaler), true
	}
	return nil, false
}

// decodeStrict decodes one YAML document into its API type, refusing
// unknown and duplicate fields.
func decodeStrict(source string, doc []byte) (object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, fmt.Errorf("%s: %w", source, err)
	}
	v, ok := newObject(head.APIVersion, head.Kind)
	if !ok {
		return object{}, fmt.Errorf("%s: %s %q has apiVersion %q, kind %q, which the checks do not know; add it to newObject", source, head.Kind, head.Metadata.Name, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return object{}, fmt.Errorf("%s: %s %q: %w", source, head.Kind, head.Metadata.Name, err)
	}
	return object{source: source, kind: head.Kind, name: head.Metadata.Name, value: v}, nil
}

// decodeAll decodes every document of a multi-document YAML stream.
func decodeAll(source string, r io.Reader) ([]object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []object
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		o, err := decodeStrict(source, doc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
}

// stripComments drops the comment lines of a YAML document, to tell an
// empty one.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

// builds holds each overlay's build, made once for all the tests (each
// takes most of a second under the race detector). The tests only read
// the objects.
var builds = map[string]func() ([]object, error){
	"overlays/dev":  sync.OnceValues(func() ([]object, error) { return kustomize("overlays/dev") }),
	"overlays/prod": sync.OnceValues(func() ([]object, error) { return kustomize("overlays/prod") }),
}

// build returns the objects of an overlay, as kubectl apply -k makes
// them, each decoded strictly.
func build(t *testing.T, overlay string) []object {
	t.Helper()
	b, ok := builds[overlay]
	if !ok {
		t.Fatalf("no overlay %s; add it to builds", overlay)
	}
	objs, err := b()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// kustomize runs kustomize on an overlay and decodes every object it
// makes strictly.
func kustomize(overlay string) ([]object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), overlay)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", overlay, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", overlay, err)
	}
	return decodeAll("kustomize build "+overlay, bytes.NewReader(out))
}

// all returns the objects of type T.
func all[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.value.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named returns the object of type T called name, or nil.
func named[T interface{ GetName() string }](objs []object, name string) T {
	for _, v := range all[T](objs) {
		if v.GetName() == name {
			return v
		}
	}
	var zero T
	return zero
}

// manifestFiles lists the YAML files under the base and overlays.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"base", "overlays"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatal("no manifests found under base/ and overlays/; run the tests from deploy/")
	}
	return files
}

// TestManifestsDecodeStrictly decodes every manifest file into its API
// type, and every kustomization into kustomize's, refusing unknown
// fields: a misspelt or misplaced field fails here, not on a cluster.
func TestManifestsDecodeStrictly(t *testing.T) {
	for _, path := range manifestFiles(t) {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(path) == "kustomization.yaml" {
				var k types.Kustomization
				if err := yaml.UnmarshalStrict(b, &k); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if k.Kind != types.KustomizationKind || k.APIVersion != types.KustomizationVersion {
					t.Errorf("%s: apiVersion %q, kind %q; want %q, %q", path, k.APIVersion, k.Kind, types.KustomizationVersion, types.KustomizationKind)
				}
				return
			}
			objs, err := decodeAll(path, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Errorf("%s holds no object", path)
			}
		})
	}
}

// TestDecodeStrictRefusesUnknownFields shows that the check can fail: a
// probe put one level too high, and a misspelt field.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"misplaced": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      readinessProbe: {httpGet: {path: /readyz, port: 8080}}\n      containers: [{name: x, image: x}]\n",
		"misspelt":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selectors: {app: x}\n",
		"duplicate": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: None\n  clusterIP: None\n",
		"unknown":   "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeStrict(name, []byte(doc)); err == nil {
				t.Errorf("decodeStrict accepted %q; want an error", doc)
			}
		})
	}
}

// TestOverlaysBuild builds each overlay with kustomize and checks that
// it holds the whole shop.
func TestOverlaysBuild(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := build(t, overlay)
			for _, o := range objs {
				if v, ok := o.value.(interface{ GetNamespace() string }); ok && o.kind != "Namespace" && v.GetNamespace() != "shop" {
					t.Errorf("%s is in namespace %q; want shop", o, v.GetNamespace())
				}
			}
			for _, svc := range services {
				if named[*appsv1.Deployment](objs, svc) == nil {
					t.Errorf("no Deployment %s", svc)
				}
			}
			for name, replicas := range map[string]int32{"nats": 3, "postgres": 1} {
				s := named[*appsv1.StatefulSet](objs, name)
				if s == nil {
					t.Errorf("no StatefulSet %s", name)
					continue
				}
				if s.Spec.Replicas == nil || *s.Spec.Replicas != replicas {
					t.Errorf("StatefulSet %s has replicas %v; want %d", name, s.Spec.Replicas, replicas)
				}
			}
		})
	}
}
