package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/flow"
)

func nodes(spec ...string) []nodeInfo {
	var out []nodeInfo
	for _, s := range spec {
		name, ready := strings.CutSuffix(s, "+")
		out = append(out, nodeInfo{name: name, ready: ready})
	}
	return out
}

// TestDecideKubernetes checks KubernetesReady, status.kubernetes and whether the cluster may
// be Running, from what a pass saw.
func TestAKSMinNodes(t *testing.T) {
	three, five := 3, 5
	cases := []struct {
		name  string
		pools []v1alpha1.MachinePool
		want  int
	}{
		{"fixed counts", []v1alpha1.MachinePool{{Count: 2}, {Count: 3}}, 5},
		{"an autoscaled pool counts its minimum", []v1alpha1.MachinePool{{Count: 2}, {Count: 4, Min: &three, Max: &five}}, 5},
		{"a minimum above the count counts the count", []v1alpha1.MachinePool{{Count: 2, Min: &three, Max: &five}}, 2},
		{"no pool", nil, 0},
	}
	for _, c := range cases {
		if got := aksMinNodes(c.pools); got != c.want {
			t.Errorf("%s: aksMinNodes = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestDecideKubernetes(t *testing.T) {
	unreachable := fmt.Errorf("GET /version: %w", errors.New(`Get "https://127.77.0.4:6443/version": dial tcp 127.77.0.4:6443: connect: connection refused`))
	unauthorized := fmt.Errorf("list the nodes: %w", apierrors.NewUnauthorized("Unauthorized"))
	forbidden := fmt.Errorf("list the nodes: %w", apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("no")))
	machines := []string{"prod-cp-0", "prod-cp-1", "prod-cp-2", "prod-w-0"}
	tests := []struct {
		name     string
		ob       kubeObservation
		status   string
		reason   string
		msg      string // a part of the message
		observed *v1alpha1.KubernetesStatus
		ready    bool
	}{
		{"control plane not up", kubeObservation{}, "Unknown", ReasonWaitingForControlPlane, "does not run in Azure yet", nil, false},
		{"not up even with an error", kubeObservation{err: unreachable}, "Unknown", ReasonWaitingForControlPlane, "", nil, false},
		{"local accounts disabled", kubeObservation{controlPlaneUp: true, noAccessReason: ReasonLocalAccountsDisabled, noAccessMessage: localAccountsMessage},
			"Unknown", ReasonLocalAccountsDisabled, "Entra ID identity", nil, true},
		{"unreachable", kubeObservation{controlPlaneUp: true, err: unreachable}, "False", ReasonAPIServerUnreachable, "connection refused", nil, false},
		{"unauthorized", kubeObservation{controlPlaneUp: true, err: unauthorized, version: "v1.37.2"}, "False", ReasonAPIServerError, "Unauthorized", nil, false},
		{"forbidden", kubeObservation{controlPlaneUp: true, err: forbidden}, "False", ReasonAPIServerError, "forbidden", nil, false},
		{"aks all ready", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("a+", "b+", "c+")},
			"True", ReasonNodesReady, "API server v1.37.2 answers; 3 of 3 nodes Ready", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 3, NodesTotal: 3}, true},
		{"aks one not ready", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("a+", "b", "c+")},
			"False", ReasonNodesNotReady, "2 of 3 nodes Ready; not Ready: b", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 2, NodesTotal: 3}, false},
		{"aks a pool not registered yet", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("a+", "b+"), minNodes: 3},
			"False", ReasonNodesNotReady, "2 of 2 nodes Ready; the node pools have at least 3 nodes: not registered yet", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 2, NodesTotal: 2}, false},
		{"aks pools at their minimum", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("a+", "b+", "c+"), minNodes: 3},
			"True", ReasonNodesReady, "3 of 3 nodes Ready", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 3, NodesTotal: 3}, true},
		{"no nodes", kubeObservation{controlPlaneUp: true, version: "v1.37.2"},
			"False", ReasonNodesNotReady, "no node has registered yet", &v1alpha1.KubernetesStatus{Version: "v1.37.2"}, false},
		{"iaas no nodes", kubeObservation{controlPlaneUp: true, version: "v1.37.2", machines: machines},
			"False", ReasonNodesNotReady, "no node has registered yet", &v1alpha1.KubernetesStatus{Version: "v1.37.2"}, false},
		{"iaas all ready", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("prod-cp-0+", "prod-cp-1+", "prod-cp-2+", "prod-w-0+"), machines: machines},
			"True", ReasonNodesReady, "4 of 4 nodes Ready", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 4, NodesTotal: 4}, true},
		{"iaas node names in capitals", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("PROD-CP-0+", "prod-cp-1+", "prod-cp-2+", "prod-w-0+"), machines: machines},
			"True", ReasonNodesReady, "", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 4, NodesTotal: 4}, true},
		{"iaas workers not joined yet", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("prod-cp-0+", "prod-cp-1+", "prod-cp-2+"), machines: machines},
			"False", ReasonNodesNotReady, "3 of 3 nodes Ready; not Ready or not registered: prod-w-0", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 3, NodesTotal: 3}, false},
		{"iaas one not ready", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("prod-cp-0+", "prod-cp-1", "prod-cp-2+", "prod-w-0+"), machines: machines},
			"False", ReasonNodesNotReady, "not Ready or not registered: prod-cp-1", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 3, NodesTotal: 4}, false},
		{"iaas a removed machine's node left behind", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("prod-cp-0+", "prod-cp-1+", "prod-cp-2+", "prod-w-0+", "prod-w-1"), machines: machines},
			"True", ReasonNodesReady, "4 of 5 nodes Ready; not Ready and no machine of the cluster (a machine removed? delete its node): prod-w-1", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 4, NodesTotal: 5}, true},
		{"iaas a Ready node that is no machine", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("prod-cp-0+", "prod-cp-1+", "prod-cp-2+", "prod-w-0+", "extra+"), machines: machines},
			"True", ReasonNodesReady, "5 of 5 nodes Ready", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 5, NodesTotal: 5}, true},
		{"many missing", kubeObservation{controlPlaneUp: true, version: "v1.37.2", nodes: nodes("a+"), machines: []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
			"False", ReasonNodesNotReady, "b, c, d, e, f and 2 more", &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 1, NodesTotal: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideKubernetes(tt.ob)
			if d.status != tt.status || d.reason != tt.reason || !strings.Contains(d.message, tt.msg) {
				t.Errorf("condition %s %s %q, want %s %s containing %q", d.status, d.reason, d.message, tt.status, tt.reason, tt.msg)
			}
			if (d.observed == nil) != (tt.observed == nil) || (d.observed != nil && *d.observed != *tt.observed) {
				t.Errorf("status.kubernetes %+v, want %+v", d.observed, tt.observed)
			}
			if d.ready != tt.ready {
				t.Errorf("ready %v, want %v", d.ready, tt.ready)
			}
		})
	}
}

// TestPhaseWhenBuilt checks the phase of a cluster whose Azure resources all run.
func TestPhaseWhenBuilt(t *testing.T) {
	tests := []struct {
		prev      string
		kubeReady bool
		want      string
	}{
		{PhaseProvisioning, true, PhaseRunning},
		{PhaseProvisioning, false, PhaseProvisioning},
		{PhaseUpdating, true, PhaseRunning},
		{PhaseUpdating, false, PhaseUpdating},
		{PhaseRunning, true, PhaseRunning},
		{PhaseRunning, false, PhaseRunning}, // degraded: Ready and KubernetesReady False say why
		{PhaseFailed, true, PhaseRunning},
		{PhaseFailed, false, PhaseProvisioning},
		{"", false, PhaseProvisioning},
		{PhasePending, false, PhaseProvisioning},
	}
	for _, tt := range tests {
		if got := phaseWhenBuilt(tt.prev, tt.kubeReady); got != tt.want {
			t.Errorf("phaseWhenBuilt(%q, %v) = %s, want %s", tt.prev, tt.kubeReady, got, tt.want)
		}
	}
}

// TestSetStatusWithKubernetes checks the status a pass writes for a cluster whose Azure
// resources all run, by what it made of Kubernetes: Running only when ready, a Running cluster
// degraded but Running, the condition removed when the check is off.
func TestSetStatusWithKubernetes(t *testing.T) {
	ready := &kubeDecision{status: "True", reason: ReasonNodesReady, message: "API server v1.37.2 answers; 2 of 2 nodes Ready",
		observed: &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 2, NodesTotal: 2}, ready: true}
	down := &kubeDecision{status: "False", reason: ReasonAPIServerUnreachable, message: "connection refused"}
	tests := []struct {
		name       string
		prev       string
		kube       *kubeDecision
		wantPhase  string
		wantReady  string
		wantReason string
		wantKube   bool
	}{
		{"check off", PhaseProvisioning, nil, PhaseRunning, "True", "Running", false},
		{"ready", PhaseProvisioning, ready, PhaseRunning, "True", "Running", true},
		{"not ready while provisioning", PhaseProvisioning, down, PhaseProvisioning, "False", ReasonAPIServerUnreachable, true},
		{"Running, then down", PhaseRunning, down, PhaseRunning, "False", ReasonAPIServerUnreachable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := v1alpha1.ClusterStatus{Status: v1alpha1.Status{Phase: tt.prev}}
			setCondition(&s, ConditionKubernetesReady, "True", ReasonNodesReady, "from an earlier pass")
			o := &outcome{result: emptyResult(), kube: tt.kube, address: "127.77.0.4", endpoint: "x:6443"}
			o.setStatus(&s)
			c := statusCondition(&s.Status, ConditionReady)
			if s.Phase != tt.wantPhase || c == nil || c.Status != tt.wantReady || c.Reason != tt.wantReason {
				t.Errorf("phase %s, Ready %+v; want %s, %s %s", s.Phase, c, tt.wantPhase, tt.wantReady, tt.wantReason)
			}
			kc := statusCondition(&s.Status, ConditionKubernetesReady)
			if (kc != nil) != tt.wantKube || (tt.kube != nil && kc.Status != tt.kube.status) {
				t.Errorf("KubernetesReady %+v, want it %v", kc, tt.wantKube)
			}
			if tt.kube == nil && s.Kubernetes != nil {
				t.Errorf("status.kubernetes %+v with the check off", s.Kubernetes)
			}
			if s.ControlPlaneAddress != "127.77.0.4" {
				t.Errorf("controlPlaneAddress %q", s.ControlPlaneAddress)
			}
		})
	}
}

// TestNeedsWorkDegraded checks that a Running cluster whose Ready condition is False is
// looked at again once its requeue time is past, not only at the next resync.
func TestNeedsWorkDegraded(t *testing.T) {
	cl := &v1alpha1.Cluster{}
	cl.Status.Phase = PhaseRunning
	setCondition(&cl.Status, ConditionReady, "True", "Running", "")
	now := time.Now()
	st := &objState{lastSync: now.Add(-time.Second)}
	if needsWork(cl, st, now, 5*time.Minute) {
		t.Error("a Running, Ready cluster synced a second ago needs work")
	}
	setCondition(&cl.Status, ConditionReady, "False", ReasonAPIServerUnreachable, "")
	if !needsWork(cl, st, now, 5*time.Minute) {
		t.Error("a Running cluster whose Kubernetes is not ready waits for the resync")
	}
}

// emptyResult is the run of an empty graph.
func emptyResult() *flow.Result { return &flow.Result{} }
