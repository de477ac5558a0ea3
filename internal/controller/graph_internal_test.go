package controller

import (
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestReadsFromGraph(t *testing.T) {
	running := func(edit func(s *v1alpha1.ClusterStatus)) *v1alpha1.ClusterStatus {
		s := &v1alpha1.ClusterStatus{}
		s.Phase, s.ObservedGeneration = PhaseRunning, 3
		if edit != nil {
			edit(s)
		}
		return s
	}
	kube := func(status string) func(s *v1alpha1.ClusterStatus) {
		return func(s *v1alpha1.ClusterStatus) {
			s.Conditions = []v1alpha1.Condition{{Type: ConditionKubernetesReady, Status: status}}
		}
	}
	tests := []struct {
		name   string
		status *v1alpha1.ClusterStatus
		want   bool
	}{
		{"at rest", running(nil), true},
		{"at rest, Kubernetes ready", running(kube("True")), true},
		{"Kubernetes not ready (a node NotReady)", running(kube("False")), false},
		{"Kubernetes unknown (its API does not answer)", running(kube("Unknown")), false},
		{"provisioning", running(func(s *v1alpha1.ClusterStatus) { s.Phase = PhaseProvisioning }), false},
		{"updating", running(func(s *v1alpha1.ClusterStatus) { s.Phase = PhaseUpdating }), false},
		{"a generation not applied yet", running(func(s *v1alpha1.ClusterStatus) { s.ObservedGeneration = 2 }), false},
		{"an upgrade", running(func(s *v1alpha1.ClusterStatus) { s.Upgrade = &v1alpha1.UpgradeStatus{} }), false},
		{"a repair", running(func(s *v1alpha1.ClusterStatus) { s.Repairing = []string{"vm/workers-1"} }), false},
		{"a drain", running(func(s *v1alpha1.ClusterStatus) { s.Scale = []v1alpha1.PoolScale{{Pool: "workers", Draining: "n-2"}} }), false},
		{"autoscaled, nothing draining", running(func(s *v1alpha1.ClusterStatus) { s.Scale = []v1alpha1.PoolScale{{Pool: "workers", Count: 3}} }), true},
	}
	for _, tt := range tests {
		if got := readsFromGraph(tt.status, 3); got != tt.want {
			t.Errorf("%s: readsFromGraph = %v, want %v", tt.name, got, tt.want)
		}
	}
}
