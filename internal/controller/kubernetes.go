package controller

import (
	corev1 "k8s.io/api/core/v1"
	"time"

	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// ConditionKubernetesReady says whether the cluster's own API server answers and its nodes
// are Ready, as strata read them (Config.CheckKubernetes); absent when the check is off.
const ConditionKubernetesReady = "KubernetesReady"

// Reasons of ConditionKubernetesReady.
const (
	// ReasonNodesReady (True): the API answers and every node (of an IaaS cluster: every
	// machine's node) is Ready.
	ReasonNodesReady = "NodesReady"
	// ReasonAPIServerUnreachable (False): no answer from the API server (refused, timed out,
	// TLS failure).
	ReasonAPIServerUnreachable = "APIServerUnreachable"
	// ReasonAPIServerError (False): the API server answered with an error (401, 403, 5xx).
	ReasonAPIServerError = "APIServerError"
	// ReasonNodesNotReady (False): a node is not Ready, none is registered yet, or a machine
	// of an IaaS cluster has no node.
	ReasonNodesNotReady = "NodesNotReady"
	// ReasonWaitingForControlPlane (Unknown): the control plane does not run in Azure yet, so
	// its API is not read.
	ReasonWaitingForControlPlane = "WaitingForControlPlane"
	// ReasonLocalAccountsDisabled (Unknown): an AKS cluster without local accounts, whose API
	// strata cannot read without an Entra ID identity.
	ReasonLocalAccountsDisabled = "LocalAccountsDisabled"
	// ReasonCredentialsUnavailable (Unknown): strata could not get credentials for the API
	// (Azure refused the admin kubeconfig, the cluster CA is unusable).
	ReasonCredentialsUnavailable = "CredentialsUnavailable"
)

// nodeInfo is what strata reads of one Kubernetes node.
type nodeInfo struct {
	name  string
	ready bool
	// since is when the node's Ready condition last changed.
	since time.Time
	// drained: strata cordoned it to drain it (drainStartedAnnotation).
	drained bool
	// node is the Node as read.
	node *corev1.Node
}

// kubeObservation is what one pass saw of a cluster's Kubernetes.
type kubeObservation struct {
	// controlPlaneUp: the control plane runs in Azure (an IaaS cluster's control-plane VMs,
	// an AKS cluster's managed cluster), so its API was read; false: nothing was read.
	controlPlaneUp bool
	// noAccessReason and noAccessMessage, when set, say why strata could not read the API
	// (no credentials): KubernetesReady Unknown.
	noAccessReason, noAccessMessage string
	// err is the failed read: the API did not answer, or answered with an error.
	err error
	// version is the API server's gitVersion; nodes are the registered nodes.
	version string
	nodes   []nodeInfo
	// machines are the names of an IaaS cluster's planned machines, each of which must be a
	// Ready node; nil for AKS, whose nodes Azure manages.
	machines []string
	// minNodes is how many nodes an AKS cluster has at least (see aksMinNodes): fewer
	// registered means a pool's nodes have not joined yet.
	minNodes int
}

// kubeDecision is what a pass makes of its kubeObservation.
type kubeDecision struct {
	// status, reason and message are ConditionKubernetesReady's.
	status, reason, message string
	// observed is status.kubernetes: nil unless the API answered.
	observed *v1alpha1.KubernetesStatus
	// ready: Kubernetes does not hold the cluster back from Running (it is ready, or strata
	// cannot read it and goes by Azure alone).
	ready bool
}

// decideKubernetes turns a pass's observation of a cluster's Kubernetes into its condition,
// status.kubernetes, and whether the cluster may be Running.
func decideKubernetes(ob kubeObservation) kubeDecision {
	switch {
	case !ob.controlPlaneUp:
		return kubeDecision{status: "Unknown", reason: ReasonWaitingForControlPlane,
			message: "the control plane does not run in Azure yet: strata reads the cluster's API once it does"}
	case ob.noAccessReason != "":
		return kubeDecision{status: "Unknown", reason: ob.noAccessReason, message: ob.noAccessMessage, ready: true}
	case ob.err != nil:
		reason := ReasonAPIServerUnreachable
		if st := apierrors.APIStatus(nil); errors.As(ob.err, &st) {
			reason = ReasonAPIServerError
		}
		return kubeDecision{status: "False", reason: reason, message: ob.err.Error()}
	}
	ready := 0
	for _, n := range ob.nodes {
		if n.ready {
			ready++
		}
	}
	d := kubeDecision{observed: &v1alpha1.KubernetesStatus{Version: ob.version, NodesReady: ready, NodesTotal: len(ob.nodes)}}
	summary := fmt.Sprintf("API server %s answers; %d of %d nodes Ready", ob.version, ready, len(ob.nodes))
	missing, stale := nodeGaps(ob.nodes, ob.machines)
	switch {
	case len(ob.nodes) == 0:
		d.status, d.reason, d.message = "False", ReasonNodesNotReady, summary+": no node has registered yet"
	case len(missing) > 0:
		d.status, d.reason, d.message = "False", ReasonNodesNotReady, summary+"; not Ready or not registered: "+nameList(missing)
	case ob.machines == nil && len(ob.nodes) < ob.minNodes:
		d.status, d.reason, d.message = "False", ReasonNodesNotReady, fmt.Sprintf("%s; the node pools have at least %d nodes: not registered yet", summary, ob.minNodes)
	case ob.machines == nil && ready < len(ob.nodes):
		d.status, d.reason, d.message = "False", ReasonNodesNotReady, summary+"; not Ready: "+nameList(notReady(ob.nodes))
	default:
		d.status, d.reason, d.message, d.ready = "True", ReasonNodesReady, summary, true
		if len(stale) > 0 {
			d.message += "; not Ready and no machine of the cluster (a machine removed? delete its node): " + nameList(stale)
		}
	}
	return d
}

// nodeGaps returns the machines without a Ready node (missing) and the nodes not Ready that
// are no machine (stale: left behind by a machine strata removed, as kubeadm clusters keep
// the node of a deleted VM). Without machines (AKS), both are nil. Names compare in lower
// case, as a hostname becomes a node name.
func nodeGaps(nodes []nodeInfo, machines []string) (missing, stale []string) {
	if machines == nil {
		return nil, nil
	}
	readyNode, planned := map[string]bool{}, map[string]bool{}
	for _, n := range nodes {
		readyNode[strings.ToLower(n.name)] = n.ready
	}
	for _, m := range machines {
		m = strings.ToLower(m)
		planned[m] = true
		if !readyNode[m] {
			missing = append(missing, m)
		}
	}
	for _, n := range nodes {
		if !n.ready && !planned[strings.ToLower(n.name)] {
			stale = append(stale, n.name)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	return missing, stale
}

// notReady returns the names of the nodes not Ready, sorted.
func notReady(nodes []nodeInfo) []string {
	var out []string
	for _, n := range nodes {
		if !n.ready {
			out = append(out, n.name)
		}
	}
	slices.Sort(out)
	return out
}

// nameList shows up to five names, and how many more there are.
func nameList(names []string) string {
	const show = 5
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

// phaseWhenBuilt is the phase of a cluster whose planned resources all exist and run in
// Azure, from the phase it had and whether Kubernetes lets it be Running: Running when it
// does; otherwise a Running cluster stays Running (its Ready and KubernetesReady conditions
// say what is wrong: a drop of its API or a node is no reason to rebuild anything), a cluster
// being provisioned or updated stays so, and any other goes back to Provisioning.
func phaseWhenBuilt(prev string, kubeReady bool) string {
	switch {
	case kubeReady:
		return PhaseRunning
	case prev == PhaseRunning || prev == PhaseUpdating || prev == PhaseProvisioning:
		return prev
	}
	return PhaseProvisioning
}

// aksMinNodes is the fewest nodes an AKS cluster's pools have: a pool's count, or its
// autoscaler's minimum (the autoscaler chooses the count between min and max).
func aksMinNodes(pools []v1alpha1.MachinePool) int {
	n := 0
	for _, p := range pools {
		if p.Min != nil {
			n += min(*p.Min, p.Count)
		} else {
			n += p.Count
		}
	}
	return n
}
