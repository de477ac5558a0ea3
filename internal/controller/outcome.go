package controller

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
)

// outcome is what a pass over a cluster's graph saw, from which its status follows (setStatus).
type outcome struct {
	nodes []*plan.Node
	aks   bool
	// gen is the generation the pass applied.
	gen int64
	// result is the graph's run, runErr its error.
	result *flow.Result
	runErr error
	// gcErr is the failure to delete what left the graph, observeErr to read what runs,
	// rolloutErr to move a rolling replacement on (advanceRollout).
	gcErr, observeErr, rolloutErr error
	// total and running count, by category, the nodes that run (VMs, the managed cluster,
	// agent pools) and those that do.
	total, running map[string]int
	// controlPlane is what was seen of an AKS cluster's managed control plane.
	controlPlane *azure.ControlPlaneObservation
	// endpoint is the API server's address once the cluster runs.
	endpoint string
	// address is the IP address of an IaaS cluster's API server load balancer, when read.
	address string
	// kube is what the pass made of the cluster's Kubernetes; nil when the check is off.
	kube *kubeDecision
	// kubeNodes are the cluster's Nodes as the pass read them; nil when it read none.
	kubeNodes []nodeInfo
	// agent is what the agent's state means; nil when the controller has no agent.
	agent *agentDecision
}

// allRunning reports whether every node is as planned, nothing failed, and everything that
// runs does.
func (o *outcome) allRunning() bool {
	if o.runErr != nil || o.gcErr != nil || o.observeErr != nil {
		return false
	}
	for cat, total := range o.total {
		if o.running[cat] < total {
			return false
		}
	}
	return true
}

// permanent reports whether a node failed in a way that retrying cannot mend.
func (o *outcome) permanent() bool {
	return slices.ContainsFunc(o.result.Failed, func(k string) bool { return azure.IsPermanent(o.result.Errors[k]) })
}

// controlPlaneEndpoint is the address of a cluster's API server: the load balancer's of an
// IaaS cluster, the FQDN of an AKS cluster's control plane once seen (else none).
func controlPlaneEndpoint(cl *v1alpha1.Cluster, cp *azure.ControlPlaneObservation) string {
	if cl.Spec.Azure.Type != v1alpha1.ClusterTypeAKS {
		return plan.APIServerEndpoint(cl)
	}
	if cp != nil && cp.FQDN != "" {
		return cp.FQDN + ":443"
	}
	return ""
}

// setStatus writes the outcome into s: a condition per category, ResourceNameConflict, Ready
// and the phase, the managed control plane and the observed generation. When the cluster is
// not running it returns Ready's reason and message.
func (o *outcome) setStatus(s *v1alpha1.ClusterStatus) (reason, msg string) {
	tallies := o.tally()
	for _, cat := range categoryConditions {
		if status, reason, msg, ok := o.categoryCondition(cat, tallies[cat]); ok {
			setCondition(s, cat, status, reason, msg)
		}
	}
	setConflictCondition(s, o.result.Failed, o.result.Errors)
	setKubernetes(s, o.kube)
	if o.allRunning() {
		reason, msg = o.built(s)
	} else {
		reason, msg = o.notReady(s)
		setCondition(s, ConditionReady, "False", reason, msg)
		switch {
		case o.permanent():
			s.Phase = PhaseFailed
		case s.Phase == PhaseFailed || s.Phase == PhaseRunning:
			s.Phase = PhaseProvisioning
		}
	}
	if o.address != "" {
		s.ControlPlaneAddress = o.address
	}
	if cp := o.controlPlane; cp != nil {
		s.ManagedControlPlane = &v1alpha1.ManagedControlPlaneStatus{
			KubernetesVersion: cp.KubernetesVersion,
			PowerState:        cp.PowerState,
			ProvisioningState: cp.ProvisioningState,
			FQDN:              cp.FQDN,
			SKUTier:           cp.SKUTier,
			UpgradeChannel:    cp.UpgradeChannel,
		}
	}
	s.ObservedGeneration = o.gen
	if s.Progress != nil && o.allRunning() {
		s.Progress.Step = "running"
		if s.Phase != PhaseRunning {
			s.Progress.Step = "waiting for Kubernetes"
		}
	}
	return reason, msg
}

// built sets Ready and the phase of a cluster whose planned resources all exist and run in
// Azure: Running, unless its Kubernetes is checked and not ready (phaseWhenBuilt). When the
// cluster is not ready it returns Ready's reason and message: KubernetesReady's.
func (o *outcome) built(s *v1alpha1.ClusterStatus) (reason, msg string) {
	s.ControlPlaneEndpoint = o.endpoint
	kubeReady := o.kube == nil || o.kube.ready
	agentReady := o.agent == nil || o.agent.ready
	s.Phase = phaseWhenBuilt(s.Phase, kubeReady && agentReady)
	if !kubeReady {
		setCondition(s, ConditionReady, "False", o.kube.reason, o.kube.message)
		return o.kube.reason, o.kube.message
	}
	if !agentReady {
		setCondition(s, ConditionReady, "False", o.agent.reason, o.agent.message)
		return o.agent.reason, o.agent.message
	}
	msg = "every planned resource exists as planned and every VM is running"
	if o.kube != nil && o.kube.status == "True" {
		msg += "; " + o.kube.message
	}
	setCondition(s, ConditionReady, "True", "Running", msg)
	return "", ""
}

// setKubernetes sets KubernetesReady and status.kubernetes from the pass's decision, or
// removes them when the controller does not check Kubernetes (d nil).
func setKubernetes(s *v1alpha1.ClusterStatus, d *kubeDecision) {
	if d == nil {
		s.Conditions = slices.DeleteFunc(s.Conditions, func(c v1alpha1.Condition) bool { return c.Type == ConditionKubernetesReady })
		s.Kubernetes = nil
		return
	}
	setCondition(s, ConditionKubernetesReady, d.status, d.reason, d.message)
	s.Kubernetes = d.observed
}

// tally is what became of the nodes of a category in the run.
type tally struct {
	total   int
	waiting int     // not run: a dependency failed
	errs    []error // of the failed nodes, in the graph's order
}

// tally counts the nodes of each category.
func (o *outcome) tally() map[string]tally {
	failed, succeeded := map[string]bool{}, map[string]bool{}
	for _, k := range o.result.Failed {
		failed[k] = true
	}
	for _, k := range o.result.Succeeded {
		succeeded[k] = true
	}
	out := map[string]tally{}
	for _, n := range o.nodes {
		cat := category(n)
		t := out[cat]
		t.total++
		switch {
		case failed[n.Key]:
			t.errs = append(t.errs, o.result.Errors[n.Key])
		case !succeeded[n.Key]:
			t.waiting++
		}
		out[cat] = t
	}
	return out
}

// categoryCondition is the condition of a category from its tally: the first failure (Azure's
// code and message), nodes waiting for a failed dependency, what runs not running yet, or
// Provisioned. ok is false for a category that does not apply (an AKS cluster stores no node
// image: StorageReady).
func (o *outcome) categoryCondition(cat string, t tally) (status, reason, msg string, ok bool) {
	running, total := o.running[cat], o.total[cat]
	switch {
	case t.total == 0 && o.aks:
		return "", "", "", false
	case len(t.errs) > 0:
		reason, msg := failure(t.errs[0], "ProvisioningFailed")
		if len(t.errs) > 1 {
			msg = fmt.Sprintf("%s (and %d more failure(s))", msg, len(t.errs)-1)
		}
		return "False", reason, msg, true
	case t.waiting > 0:
		return "False", "WaitingForDependencies", fmt.Sprintf("%d of %d resource(s) wait for a failed dependency", t.waiting, t.total), true
	case running < total && o.aks:
		return "False", "NotRunning", fmt.Sprintf("%d of %d running and not busy in Azure", running, total), true
	case running < total:
		return "False", "VirtualMachinesStarting", fmt.Sprintf("%d of %d virtual machine(s) running", running, total), true
	}
	return "True", "Provisioned", fmt.Sprintf("%d resource(s) as planned", t.total), true
}

// notReady is Ready's reason and message for a cluster that is not running: a failure to
// delete what left the graph or to observe what runs, else the first category not True.
func (o *outcome) notReady(s *v1alpha1.ClusterStatus) (reason, msg string) {
	switch {
	case o.gcErr != nil:
		return failure(o.gcErr, "DeleteFailed")
	case o.observeErr != nil:
		return failure(o.observeErr, "ObserveFailed")
	}
	for _, cat := range categoryConditions {
		if c := statusCondition(&s.Status, cat); c != nil && c.Status != "True" {
			return c.Reason, c.Message
		}
	}
	return "Provisioning", "resources are being provisioned"
}

// setConflictCondition sets ResourceNameConflict True, naming each resource (ID and owner tag)
// that a failed node found to be someone else's, or removes the condition when there is none.
func setConflictCondition(s *v1alpha1.ClusterStatus, failed []string, errs map[string]error) {
	var msgs []string
	for _, key := range slices.Sorted(slices.Values(failed)) {
		var ce *azure.ConflictError
		if errors.As(errs[key], &ce) {
			msgs = append(msgs, ce.Error())
		}
	}
	if len(msgs) == 0 {
		s.Conditions = slices.DeleteFunc(s.Conditions, func(c v1alpha1.Condition) bool { return c.Type == ConditionResourceNameConflict })
		return
	}
	setCondition(s, ConditionResourceNameConflict, "True", ReasonResourceNameConflict, strings.Join(msgs, "; "))
}
