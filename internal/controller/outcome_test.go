package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
)

// TestOutcomeStatus: the status a pass writes follows from what it saw — the nodes' results,
// the removal of what left the graph, what runs — category by category.
func TestOutcomeStatus(t *testing.T) {
	iaas := []*plan.Node{
		{Key: "vnet", Kind: plan.KindVirtualNetwork},
		{Key: "subnet", Kind: plan.KindSubnet},
		{Key: "storage", Kind: plan.KindStorageAccount},
		{Key: "lb", Kind: plan.KindLoadBalancer},
		{Key: "vm/cp-0", Kind: plan.KindVirtualMachine, Role: plan.RoleControlPlane},
		{Key: "vm/w-0", Kind: plan.KindVirtualMachine, Role: plan.RoleNodes},
		{Key: "vm/w-1", Kind: plan.KindVirtualMachine, Role: plan.RoleNodes},
	}
	aks := []*plan.Node{
		{Key: "vnet", Kind: plan.KindVirtualNetwork},
		{Key: "aks", Kind: plan.KindManagedCluster},
		{Key: "pool/a", Kind: plan.KindAgentPool},
	}
	keys := func(nodes []*plan.Node, except ...string) []string {
		var out []string
		for _, n := range nodes {
			if !strings.Contains(" "+strings.Join(except, " ")+" ", " "+n.Key+" ") {
				out = append(out, n.Key)
			}
		}
		return out
	}
	refused := &azcore.ResponseError{StatusCode: 400, ErrorCode: "InvalidParameter"}
	busy := &azcore.ResponseError{StatusCode: 500, ErrorCode: "InternalServerError"}
	conflict := &azure.ConflictError{Kind: plan.KindVirtualNetwork, ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v", Tagged: true, Owner: "other"}
	cp := &azure.ControlPlaneObservation{FQDN: "aks.example", KubernetesVersion: "1.31.2", PowerState: "Running"}

	tests := []struct {
		name      string
		o         outcome
		phase     string // the phase before
		wantPhase string
		want      map[string]string // condition type: "status reason", "" for absent
		// wantReady is the reason and message setStatus returns ("" when running).
		wantReady string
	}{
		{
			name: "everything runs",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas)},
				total: map[string]int{ConditionControlPlaneReady: 1, ConditionNodePoolsReady: 2}, running: map[string]int{ConditionControlPlaneReady: 1, ConditionNodePoolsReady: 2}},
			phase: PhaseProvisioning, wantPhase: PhaseRunning,
			want: map[string]string{ConditionNetworkReady: "True Provisioned", ConditionStorageReady: "True Provisioned",
				ConditionControlPlaneReady: "True Provisioned", ConditionNodePoolsReady: "True Provisioned",
				ConditionReady: "True Running", ConditionResourceNameConflict: ""},
		},
		{
			name: "a VM starting",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas)},
				total: map[string]int{ConditionControlPlaneReady: 1, ConditionNodePoolsReady: 2}, running: map[string]int{ConditionControlPlaneReady: 1, ConditionNodePoolsReady: 1}},
			phase: PhaseRunning, wantPhase: PhaseProvisioning,
			want:      map[string]string{ConditionNodePoolsReady: "False VirtualMachinesStarting", ConditionControlPlaneReady: "True Provisioned", ConditionReady: "False VirtualMachinesStarting"},
			wantReady: "VirtualMachinesStarting: 1 of 2 virtual machine(s) running",
		},
		{
			name: "refused, and what depends on it waits",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas, "subnet", "vm/cp-0", "vm/w-0", "vm/w-1"),
				Failed: []string{"subnet"}, Errors: map[string]error{"subnet": refused}}, runErr: refused},
			phase: PhaseProvisioning, wantPhase: PhaseFailed,
			want: map[string]string{ConditionNetworkReady: "False InvalidParameter", ConditionStorageReady: "True Provisioned",
				ConditionControlPlaneReady: "False WaitingForDependencies", ConditionNodePoolsReady: "False WaitingForDependencies",
				ConditionReady: "False InvalidParameter"},
			wantReady: "InvalidParameter: " + refused.Error(),
		},
		{
			name: "two failures in a category, one a name conflict",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas, "vnet", "subnet", "vm/cp-0", "vm/w-0", "vm/w-1"),
				Failed: []string{"vnet", "subnet"}, Errors: map[string]error{"vnet": conflict, "subnet": busy}}, runErr: conflict},
			phase: PhaseProvisioning, wantPhase: PhaseFailed,
			want: map[string]string{ConditionNetworkReady: "False ResourceNameConflict", ConditionResourceNameConflict: "True ResourceNameConflict",
				ConditionReady: "False ResourceNameConflict"},
			wantReady: "ResourceNameConflict: " + conflict.Error() + " (and 1 more failure(s))",
		},
		{
			name: "Azure failing is not permanent",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas, "storage"),
				Failed: []string{"storage"}, Errors: map[string]error{"storage": busy}}, runErr: busy},
			phase: PhaseFailed, wantPhase: PhaseProvisioning,
			want:      map[string]string{ConditionStorageReady: "False InternalServerError", ConditionNetworkReady: "True Provisioned", ConditionReady: "False InternalServerError"},
			wantReady: "InternalServerError: " + busy.Error(),
		},
		{
			name: "removing what left the graph failed",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas)}, gcErr: errors.New("gone wrong"),
				total: map[string]int{ConditionNodePoolsReady: 2}, running: map[string]int{ConditionNodePoolsReady: 2}},
			phase: PhaseRunning, wantPhase: PhaseProvisioning,
			want:      map[string]string{ConditionNodePoolsReady: "True Provisioned", ConditionReady: "False DeleteFailed"},
			wantReady: "DeleteFailed: gone wrong",
		},
		{
			name: "observing failed",
			o: outcome{nodes: iaas, result: &flow.Result{Succeeded: keys(iaas)}, observeErr: errors.New("no answer"),
				total: map[string]int{ConditionNodePoolsReady: 2}, running: map[string]int{ConditionNodePoolsReady: 1}},
			phase: PhaseRunning, wantPhase: PhaseProvisioning,
			want:      map[string]string{ConditionNodePoolsReady: "False VirtualMachinesStarting", ConditionReady: "False ObserveFailed"},
			wantReady: "ObserveFailed: no answer",
		},
		{
			name: "AKS: no StorageReady, a pool not running",
			o: outcome{nodes: aks, aks: true, result: &flow.Result{Succeeded: keys(aks)}, controlPlane: cp,
				total: map[string]int{ConditionControlPlaneReady: 1, ConditionNodePoolsReady: 1}, running: map[string]int{ConditionControlPlaneReady: 1}},
			phase: PhaseProvisioning, wantPhase: PhaseProvisioning,
			want: map[string]string{ConditionStorageReady: "", ConditionControlPlaneReady: "True Provisioned",
				ConditionNodePoolsReady: "False NotRunning", ConditionReady: "False NotRunning"},
			wantReady: "NotRunning: 0 of 1 running and not busy in Azure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.gen, o.endpoint = 3, "api.example:6443"
			s := v1alpha1.ClusterStatus{Status: v1alpha1.Status{Phase: tt.phase}, Progress: &v1alpha1.Progress{Done: 1, Total: 1}}
			// A conflict of an earlier pass, to be cleared when none is seen.
			setCondition(&s, ConditionResourceNameConflict, "True", ReasonResourceNameConflict, "earlier")
			reason, msg := o.setStatus(&s)
			if got := reason + ": " + msg; (tt.wantReady == "" && reason != "") || (tt.wantReady != "" && got != tt.wantReady) {
				t.Errorf("Ready's reason and message %q, want %q", got, tt.wantReady)
			}
			if s.Phase != tt.wantPhase || s.ObservedGeneration != 3 {
				t.Errorf("phase %s, observed generation %d; want %s, 3", s.Phase, s.ObservedGeneration, tt.wantPhase)
			}
			for typ, want := range tt.want {
				got := ""
				if c := statusCondition(&s.Status, typ); c != nil {
					got = c.Status + " " + c.Reason
				}
				if got != want {
					t.Errorf("%s = %q, want %q", typ, got, want)
				}
			}
			running := tt.wantPhase == PhaseRunning
			if endpoint := s.ControlPlaneEndpoint; (endpoint == o.endpoint) != running {
				t.Errorf("endpoint %q while running is %v", endpoint, running)
			}
			if (s.Progress.Step == "running") != running {
				t.Errorf("progress step %q while running is %v", s.Progress.Step, running)
			}
			if mcp := s.ManagedControlPlane; (mcp != nil) != (o.controlPlane != nil) || (mcp != nil && (mcp.FQDN != cp.FQDN || mcp.KubernetesVersion != cp.KubernetesVersion)) {
				t.Errorf("managed control plane %+v, observed %+v", mcp, o.controlPlane)
			}
		})
	}
}

func TestControlPlaneEndpoint(t *testing.T) {
	iaas := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
	iaas.Metadata.Name = "c1"
	iaas.Spec.Azure = v1alpha1.ClusterAzure{Type: v1alpha1.ClusterTypeIaaS, SubscriptionID: "s", ResourceGroup: "rg", Location: "westeurope"}
	aks := *iaas
	aks.Spec.Azure.Type = v1alpha1.ClusterTypeAKS
	for _, tt := range []struct {
		name string
		cl   *v1alpha1.Cluster
		cp   *azure.ControlPlaneObservation
		want string
	}{
		{"IaaS: its load balancer", iaas, nil, plan.APIServerEndpoint(iaas)},
		{"AKS not seen yet", &aks, nil, ""},
		{"AKS without FQDN", &aks, &azure.ControlPlaneObservation{}, ""},
		{"AKS", &aks, &azure.ControlPlaneObservation{FQDN: "x.hcp.westeurope.azmk8s.io"}, "x.hcp.westeurope.azmk8s.io:443"},
	} {
		if got := controlPlaneEndpoint(tt.cl, tt.cp); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if !strings.HasSuffix(plan.APIServerEndpoint(iaas), fmt.Sprintf(":%d", plan.APIServerPort)) {
		t.Errorf("IaaS endpoint %q", plan.APIServerEndpoint(iaas))
	}
}
