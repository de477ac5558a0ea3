package plan

import (
	"reflect"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestKubeadmAPIVersion(t *testing.T) {
	tests := []struct{ version, want string }{
		{"v1.30.4", kubeadmV1beta3},
		{"v1.31.0", kubeadmV1beta4},
		{"v1.33.2", kubeadmV1beta4},
		{"v2.0.0", ""},
		{"vx", ""},
	}
	for _, tt := range tests {
		got, err := kubeadmAPIVersion(tt.version)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("%s: got %q, %v; want %q", tt.version, got, err, tt.want)
		}
	}
}

func TestNodeRegistration(t *testing.T) {
	pool := &v1alpha1.MachinePool{Name: "cp", ControlPlane: true,
		Labels: map[string]string{"b": "2", "a": "1"},
		Taints: []v1alpha1.Taint{{Key: "k", Value: "v", Effect: "NoExecute"}}}
	taints := []map[string]string{
		{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
		{"key": "k", "value": "v", "effect": "NoExecute"},
	}
	tests := []struct {
		apiVersion string
		want       map[string]any
	}{
		{kubeadmV1beta3, map[string]any{"taints": taints, "kubeletExtraArgs": map[string]string{"node-labels": "a=1,b=2"}}},
		{kubeadmV1beta4, map[string]any{"taints": taints, "kubeletExtraArgs": []map[string]string{{"name": "node-labels", "value": "a=1,b=2"}}}},
	}
	for _, tt := range tests {
		if got := nodeRegistration(tt.apiVersion, pool); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v", tt.apiVersion, got)
		}
	}
}
