package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// Condition types the agent hub writes; the controller reads them.
const (
	ConditionAgentConnected = "AgentConnected"
	ConditionLayersReady    = "LayersReady"
)

// AgentInstaller makes the manifest that installs a cluster's agent, with a new registration
// token: a secret, kept in memory only.
type AgentInstaller interface {
	Manifest(ctx context.Context, cl *v1alpha1.Cluster) ([]byte, error)
}

// agentDecision is what the agent's state, as the hub wrote it, means for the cluster.
type agentDecision struct {
	// ready: the agent is connected and every layer applied and available.
	ready           bool
	reason, message string
}

// decideAgent reads the agent's part of a cluster's status.
func decideAgent(s *v1alpha1.ClusterStatus) agentDecision {
	conn := statusCondition(&s.Status, ConditionAgentConnected)
	switch {
	case s.Agent == nil || conn == nil:
		return agentDecision{reason: "AgentNotConnected", message: "waiting for the cluster's agent to connect to strata"}
	case conn.Status != "True":
		return agentDecision{reason: "AgentNotConnected", message: conn.Message}
	}
	layers := statusCondition(&s.Status, ConditionLayersReady)
	switch {
	case layers == nil:
		return agentDecision{reason: "LayersPending", message: "the agent has not reported its layers yet"}
	case layers.Status != "True":
		return agentDecision{reason: layers.Reason, message: layers.Message}
	}
	return agentDecision{ready: true}
}

// installAgent puts the agent's manifest into the cluster through its API, once: when the API
// answers and the agent was never installed. The manifest carries a fresh registration token.
func (p *pass) installAgent(ctx context.Context, kc *kubeClient) {
	if p.c.cfg.Agent == nil || kc == nil || kc.dyn == nil {
		return
	}
	p.mu.Lock()
	installed := p.status.Agent != nil && p.status.Agent.Installed
	p.mu.Unlock()
	if installed {
		return
	}
	manifest, err := p.c.cfg.Agent.Manifest(ctx, p.cur)
	if err != nil {
		p.log.Warn("make the agent's manifest", "error", err)
		return
	}
	if err := applyManifest(ctx, kc, manifest); err != nil {
		p.log.Warn("install the agent", "error", err)
		p.event(ctx, store.EventWarning, "AgentInstallFailed", err.Error())
		return
	}
	p.change(func(s *v1alpha1.ClusterStatus) {
		if s.Agent == nil {
			s.Agent = &v1alpha1.AgentStatus{}
		}
		s.Agent.Installed = true
	})
	p.event(ctx, store.EventNormal, "AgentInstalled", "strata's agent was installed in namespace strata-system")
}

// agentResources are the resources of the kinds the agent's manifest holds.
var agentResources = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Secret":             {Version: "v1", Resource: "secrets"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
}

// applyManifest server-side applies each object of the agent's manifest (field manager
// strata). Its errors never carry the manifest (it holds the token).
func applyManifest(ctx context.Context, kc *kubeClient, manifest []byte) error {
	docs, err := v1alpha1.Decodable(string(manifest))
	if err != nil {
		return fmt.Errorf("the agent's manifest does not parse")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	force := true
	for _, doc := range docs {
		if d := strings.TrimSpace(string(doc)); d == "" || d == "null" {
			continue // an empty document
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(doc); err != nil {
			return fmt.Errorf("the agent's manifest does not parse")
		}
		gvr, ok := agentResources[u.GetKind()]
		if !ok {
			return fmt.Errorf("the agent's manifest holds a %s, which strata does not install", u.GetKind())
		}
		var ri = kc.dyn.Resource(gvr).Namespace(u.GetNamespace())
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, doc, metav1.PatchOptions{FieldManager: "strata", Force: &force}); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}
