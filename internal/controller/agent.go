package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/plan"
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
	// Forget drops what strata keeps for a deleted cluster's agent: its registration tokens
	// not used yet (say, one in the custom data of a VM that never booted).
	Forget(ctx context.Context, cl *v1alpha1.Cluster) error
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

// DefaultAgentInstallGrace is how long after an IaaS cluster's API first answered the
// controller waits for cloud-init to install the agent before installing it through the API
// (Config.AgentInstallGrace). The init machine's cloud-init applies the agent's manifest right
// after kubeadm init returns, and the API answers during kubeadm init, some tens of seconds
// before it returns (it still uploads the configuration and certificates, marks the node,
// makes the bootstrap token and installs the addons); three minutes covers that on a slow VM,
// and a crash or restart of the controller only restarts the wait. A fallback that comes too
// early is harmless (either registration token the agent reads is valid, and a registered
// agent keeps its identity), only wasteful.
const DefaultAgentInstallGrace = 3 * time.Minute

// Messages of the AgentInstalled event.
const (
	agentInstalledMessage          = "strata's agent was installed in namespace strata-system"
	agentInstalledByCloudInit      = agentInstalledMessage + " by cloud-init on the first control-plane machine"
	agentInstalledAfterGracePrefix = agentInstalledMessage + " through the cluster's API: cloud-init had not installed it "
)

// agentInCustomData decides whether a pass gives plan.Build the agent's manifest, for the
// custom data of an IaaS cluster's init VM (the first control-plane machine; initVM is its
// inventory entry, nil when none): only while that VM may still be created by this pass, so
// that a registration token is minted for the pass that creates it and not for every pass
// after it (customData is never compared with Azure's, so a later manifest would change
// nothing anyway). The VM may be created when it was never claimed (no entry), or when it was
// claimed but is not known to exist, with no operation under way: the claiming pass crashed
// before its PUT, or the PUT failed (a pass that finds it made after all only wastes a token).
// A VM being created (a saved resume token) or made (Ready) gets nothing. AKS clusters, a
// controller without an agent endpoint and an agent already installed get nothing either.
func agentInCustomData(typ string, agentOn, installed bool, initVM *v1alpha1.InventoryItem) bool {
	switch {
	case typ != v1alpha1.ClusterTypeIaaS || !agentOn || installed:
		return false
	case initVM == nil:
		return true
	}
	return !initVM.Ready && initVM.ResumeToken == ""
}

// initAgentManifest is the agent's manifest for the init VM's custom data (see
// agentInCustomData), with a new registration token, or nil. It is a secret.
func (p *pass) initAgentManifest(ctx context.Context) ([]byte, error) {
	p.mu.Lock()
	cl := p.cur
	installed := p.status.Agent != nil && p.status.Agent.Installed
	initVM := item(&p.status, plan.InitMachineKey(cl))
	on := agentInCustomData(cl.Spec.Azure.Type, p.c.cfg.Agent != nil, installed, initVM)
	p.mu.Unlock()
	if !on {
		return nil, nil
	}
	manifest, err := p.c.cfg.Agent.Manifest(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("the agent's manifest for the init VM's cloud-init: %w", err)
	}
	return manifest, nil
}

// agentStep is what installAgent does for a cluster whose agent is not marked installed.
type agentStep int

const (
	// agentWait: nothing yet, cloud-init may still install the agent.
	agentWait agentStep = iota
	// agentFound: cloud-init installed the agent; it is marked installed, nothing is minted.
	agentFound
	// agentInstallNow: the controller installs the agent through the cluster's API.
	agentInstallNow
)

// decideAgentInstall decides how an agent not marked installed gets in: an AKS cluster's
// through the API at once; an IaaS cluster's by the init machine's cloud-init, the controller
// installing it through the API only when its Deployment is still missing grace after the API
// first answered (answeredFor ago).
func decideAgentInstall(aks, deploymentExists bool, answeredFor, grace time.Duration) agentStep {
	switch {
	case aks:
		return agentInstallNow
	case deploymentExists:
		return agentFound
	case answeredFor >= grace:
		return agentInstallNow
	}
	return agentWait
}

// installAgent gets the agent into the cluster, once, when its API answers and the agent was
// never installed (see decideAgentInstall): either it marks the agent cloud-init installed,
// or it applies the manifest, with a fresh registration token, through the API.
func (p *pass) installAgent(ctx context.Context, kc *kubeClient) {
	if p.c.cfg.Agent == nil || kc == nil || kc.dyn == nil {
		return
	}
	p.mu.Lock()
	installed := p.status.Agent != nil && p.status.Agent.Installed
	aks := p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeAKS
	p.mu.Unlock()
	if installed {
		return
	}
	answeredFor := time.Since(kc.firstAnswer(time.Now()))
	exists := false
	if !aks {
		var err error
		if exists, err = agentDeploymentExists(ctx, kc); err != nil {
			p.log.Warn("look for the agent's Deployment", "error", err)
			return
		}
	}
	msg := agentInstalledMessage
	switch decideAgentInstall(aks, exists, answeredFor, p.c.cfg.AgentInstallGrace) {
	case agentWait:
		return
	case agentFound:
		msg = agentInstalledByCloudInit
	case agentInstallNow:
		if !aks {
			msg = agentInstalledAfterGracePrefix + p.c.cfg.AgentInstallGrace.String() + " after the API first answered"
		}
		if !p.applyAgent(ctx, kc) {
			return
		}
	}
	p.change(func(s *v1alpha1.ClusterStatus) {
		if s.Agent == nil {
			s.Agent = &v1alpha1.AgentStatus{}
		}
		s.Agent.Installed = true
	})
	p.event(ctx, store.EventNormal, "AgentInstalled", msg)
}

// applyAgent applies the agent's manifest, with a new registration token, through the API,
// and reports whether it did; a failure is logged and recorded as an event.
func (p *pass) applyAgent(ctx context.Context, kc *kubeClient) bool {
	manifest, err := p.c.cfg.Agent.Manifest(ctx, p.cur)
	if err != nil {
		p.log.Warn("make the agent's manifest", "error", err)
		return false
	}
	if err := applyManifest(ctx, kc, manifest); err != nil {
		p.log.Warn("install the agent", "error", err)
		p.event(ctx, store.EventWarning, "AgentInstallFailed", err.Error())
		return false
	}
	return true
}

// agentDeployment is the resource of the agent's Deployment.
var agentDeployment = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// agentDeploymentExists reports whether the agent's Deployment is in the cluster: whoever
// applied the manifest (cloud-init), it holds the Deployment.
func agentDeploymentExists(ctx context.Context, kc *kubeClient) (bool, error) {
	_, err := kc.dyn.Resource(agentDeployment).Namespace(agentmanifest.Namespace).Get(ctx, agentmanifest.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("get Deployment %s/%s: %w", agentmanifest.Namespace, agentmanifest.Name, err)
}

// agentResources are the resources of the kinds the agent's manifest holds.
var agentResources = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Secret":             {Version: "v1", Resource: "secrets"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Deployment":         agentDeployment,
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
