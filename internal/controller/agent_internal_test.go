package controller

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestAgentInCustomData decides when a pass puts the agent's manifest, with a new token, in
// the init VM's custom data: only while this pass may create that VM.
func TestAgentInCustomData(t *testing.T) {
	iaas, aks := v1alpha1.ClusterTypeIaaS, v1alpha1.ClusterTypeAKS
	claimed := &v1alpha1.InventoryItem{Key: "vm/cp-0", Kind: "VirtualMachine", Managed: true}
	creating := &v1alpha1.InventoryItem{Key: "vm/cp-0", Kind: "VirtualMachine", Managed: true, ResumeToken: "poller-state"}
	made := &v1alpha1.InventoryItem{Key: "vm/cp-0", Kind: "VirtualMachine", Managed: true, Ready: true}
	tests := []struct {
		name      string
		typ       string
		agentOn   bool
		installed bool
		initVM    *v1alpha1.InventoryItem
		want      bool
	}{
		{"iaas, init VM never claimed", iaas, true, false, nil, true},
		{"iaas, claimed, not made, no operation (crash before the PUT, failed PUT)", iaas, true, false, claimed, true},
		{"iaas, being created", iaas, true, false, creating, false},
		{"iaas, made", iaas, true, false, made, false},
		{"iaas, agent already installed", iaas, true, true, nil, false},
		{"iaas, no agent endpoint", iaas, false, false, nil, false},
		{"aks", aks, true, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := agentInCustomData(tt.typ, tt.agentOn, tt.installed, tt.initVM); got != tt.want {
				t.Errorf("agentInCustomData = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDecideAgentInstall decides how an agent not marked installed gets in.
func TestDecideAgentInstall(t *testing.T) {
	const grace = DefaultAgentInstallGrace
	tests := []struct {
		name        string
		aks, exists bool
		answeredFor time.Duration
		want        agentStep
	}{
		{"aks: through the API at once", true, false, 0, agentInstallNow},
		{"iaas: installed by cloud-init", false, true, 0, agentFound},
		{"iaas: found after the grace too", false, true, time.Hour, agentFound},
		{"iaas: missing, API just answered", false, false, 0, agentWait},
		{"iaas: missing within the grace", false, false, grace - time.Second, agentWait},
		{"iaas: missing after the grace", false, false, grace, agentInstallNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decideAgentInstall(tt.aks, tt.exists, tt.answeredFor, grace); got != tt.want {
				t.Errorf("decideAgentInstall = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFirstAnswer: the grace starts when the client first saw the API answer.
func TestFirstAnswer(t *testing.T) {
	var kc kubeClient
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := kc.firstAnswer(t0); !got.Equal(t0) {
		t.Fatalf("first: %v", got)
	}
	if got := kc.firstAnswer(t0.Add(time.Minute)); !got.Equal(t0) {
		t.Fatalf("later: %v, want %v", got, t0)
	}
}
