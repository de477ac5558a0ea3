package layers

import (
	"strings"
	"testing"
)

func TestParseManifests(t *testing.T) {
	tests := []struct {
		name, manifests string
		kinds           []string // in apply order
		err             string
	}{
		{name: "empty", manifests: "", kinds: nil},
		{name: "only separators and comments", manifests: "---\n# nothing\n---\n\n---\n", kinds: nil},
		{
			name:      "namespaces then CRDs then the rest in order",
			manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: w.example.com}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			kinds:     []string{"Namespace", "CustomResourceDefinition", "ConfigMap", "Deployment"},
		},
		{name: "invalid YAML", manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n", err: "document 2: invalid YAML"},
		{name: "scalar document", manifests: "just text\n", err: "document 1: not a Kubernetes object"},
		{name: "no kind", manifests: "apiVersion: v1\nmetadata: {name: a}\n", err: "document 1: not a Kubernetes object: kind is missing"},
		{name: "no name", manifests: "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", err: "document 1: not a Kubernetes object: metadata.name is missing"},
		{name: "helm source named", manifests: "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n", err: "document 1 (web/templates/cm.yaml): not a Kubernetes object: metadata.name is missing"},
		{name: "part-of label refused", manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {applyset.kubernetes.io/part-of: x}}\n", err: "document 1: the manifest sets label applyset.kubernetes.io/part-of=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := parseManifests(tt.manifests)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.gvk.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tt.kinds)
			}
		})
	}
}

func TestParseAllClaims(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	plans, claims := parseAll([]Layer{
		{Name: "one", Manifests: cm},
		{Name: "two", Manifests: cm},
		{Name: "one"},
		{Name: "Bad_Name!"},
		{Name: "three", Manifests: strings.ReplaceAll(cm+"---\n"+cm, "name: a", "name: b")},
	})
	if plans[0].err != nil || len(plans[0].objs) != 1 {
		t.Errorf("layer one: %v", plans[0].err)
	}
	for i, want := range map[int]string{1: `already in layer "one"`, 2: "listed twice", 3: "invalid layer name", 4: "declared twice in the layer"} {
		if err := plans[i].err; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("plan %d: err = %v, want %q", i, err, want)
		}
	}
	if !claims.claimed(objKey{Kind: "ConfigMap", Namespace: "default", Name: "a"}) {
		t.Error("a ConfigMap written without namespace is not claimed in default")
	}
	if claims.claimed(objKey{Kind: "ConfigMap", Namespace: "other", Name: "a"}) {
		t.Error("claimed in another namespace")
	}
}

func TestApplySetID(t *testing.T) {
	// The id kubectl's tests expect for the parent Secret test/my-set.
	if got, want := applySetID("my-set", "test", "Secret", ""), "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"; got != want {
		t.Errorf("applySetID = %s, want %s", got, want)
	}
}
