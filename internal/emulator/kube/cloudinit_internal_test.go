package kube

import (
	"strings"
	"testing"
)

// TestDecodeManifest splits what a cloud-init applies into objects, and refuses what is not
// one without repeating it (a manifest may hold secrets).
func TestDecodeManifest(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     []string // kind/name of the objects
		err      string
	}{
		{"objects and empty documents", "---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: a\nstringData:\n  token: hush\n", []string{"Namespace/a", "Secret/s"}, ""},
		{"nothing", "", nil, ""},
		{"not YAML", "apiVersion: v1\nkind: Secret\nstringData: {token: hush\n", nil, "document 1 is not valid YAML"},
		{"no name", "apiVersion: v1\nkind: Secret\nstringData:\n  token: hush\n", nil, "document 1 is not a Kubernetes object with a name"},
		{"a list", "- hush\n", nil, "document 1 is not a Kubernetes object with a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := decodeManifest([]byte(tt.manifest))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || strings.Contains(err.Error(), "hush") {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("objects %v, want %v", got, tt.want)
			}
		})
	}
}
