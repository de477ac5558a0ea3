package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// prepareMachines decides, before an IaaS cluster's graph is built, which machines and which
// node image it holds (in.Machines, in.ImageGeneration; see rollout.go): it records the
// cluster's machine template on its first pass, starts a rolling replacement when the spec's
// template is another, and keeps the old machines and images out of removeGone's reach
// (p.retained) while the replacement goes on.
func (p *pass) prepareMachines(ctx context.Context, in *plan.Input) error {
	target, err := plan.MachineTemplate(*in)
	if err != nil {
		return p.fail(ctx, ConditionReady, "InvalidPlan", err, false)
	}
	var pools []v1alpha1.MachinePool
	var mp machinePlan
	var started bool
	var next v1alpha1.ClusterStatus // what the decisions saw, for the event and the image
	err = p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		s.Scale = syncScale(p.cur.Spec.MachinePools, s.Scale)
		pools = poolsInEffect(p.cur.Spec.MachinePools, s.Scale)
		started = followTemplate(s, target, pools)
		s.Repairing = slices.DeleteFunc(s.Repairing, func(key string) bool { return item(s, key) == nil })
		var removing []string
		if s.Upgrade != nil {
			removing = s.Upgrade.Removing
		}
		mp = planMachines(slotsOf(pools, s), pools, removing)
		if s.Upgrade != nil {
			s.Upgrade.Removing = mp.removing
			s.Upgrade.Done = max(0, s.Upgrade.Total-mp.remaining)
		}
		next = s.Clone()
	})
	if err != nil {
		return err
	}
	if started {
		p.event(ctx, store.EventNormal, "UpgradeStarted", fmt.Sprintf("replacing %d machine(s), one slot at a time, control plane first: from %s to %s",
			next.Upgrade.Total, next.Upgrade.From, next.Upgrade.To))
	}
	in.Machines = mp.generations
	in.Cluster = withPools(in.Cluster, pools)
	p.pools = pools
	in.ImageGeneration = imageGeneration(next.Inventory, plan.TemplateImage(target), plan.TemplateImage(next.MachineTemplate))
	p.retained = mp.retained
	p.surplus = surplus(pools, next.Inventory)
	for _, r := range p.surplus {
		for _, key := range r.keys {
			p.retained[key] = true // drained, then deleted, by removeSurplus
		}
	}
	if mp.remaining > 0 {
		for _, it := range next.Inventory {
			if _, ok := plan.ImageOfKey(it.Key); ok {
				p.retained[it.Key] = true // the old machines' image stays while they do
			}
		}
	}
	return nil
}

// withPools is a shallow copy of the cluster with other pools.
func withPools(cl *v1alpha1.Cluster, pools []v1alpha1.MachinePool) *v1alpha1.Cluster {
	c := *cl
	c.Spec.MachinePools = pools
	return &c
}

// followTemplate records the target machine template on a cluster that has none yet (its
// first pass, or one made before strata recorded it: its machines were built from the spec),
// starts an upgrade when the target is another than the machines', and follows a target that
// changed during one. It reports whether it started one.
func followTemplate(s *v1alpha1.ClusterStatus, target string, pools []v1alpha1.MachinePool) bool {
	switch {
	case s.MachineTemplate == "":
		s.MachineTemplate = target
	case s.Upgrade != nil:
		s.Upgrade.To, s.Upgrade.Template = target, target
	case s.MachineTemplate != target:
		total := 0
		for _, mp := range pools {
			total += mp.Count
		}
		s.Upgrade = &v1alpha1.UpgradeStatus{From: s.MachineTemplate, To: target, Template: target, Total: total}
		return true
	}
	return false
}

// imageGeneration is the generation of the node image the graph holds: that of the inventory's
// image (or VHD copy) made from the fingerprint, else one above the highest there, else 0. An
// entry without a recorded fingerprint was made from the machines' template's (fleet).
func imageGeneration(items []v1alpha1.InventoryItem, fingerprint, fleet string) int {
	highest := -1
	for _, it := range items {
		gen, ok := plan.ImageOfKey(it.Key)
		if !ok {
			continue
		}
		t := it.Template
		if t == "" {
			t = fleet
		}
		if t == fingerprint {
			return gen
		}
		highest = max(highest, gen)
	}
	return highest + 1
}

// advanceRollout moves a rolling replacement on once the graph ran: each old machine that may
// leave (retirements), and each machine beyond its pool's count (surplus), is drained through
// the cluster's API, then deleted with its NIC and disk, then its Node; Nodes left by a
// restart between those steps are deleted; and the upgrade ends once no old machine is left.
// Without a client of the cluster's API (the server does not check Kubernetes), a
// replacement's VM running stands for its Node Ready, and nothing is drained.
func (p *pass) advanceRollout(ctx context.Context, g *plan.Graph, o *outcome, applier azure.Applier) error {
	p.mu.Lock()
	s := p.status.Clone()
	p.mu.Unlock()
	drained := slices.ContainsFunc(o.kubeNodes, func(n nodeInfo) bool { return n.drained })
	if s.Upgrade == nil && len(s.Repairing) == 0 && len(p.surplus) == 0 && !drained {
		return p.detectRepairs(ctx, o)
	}
	kc, err := p.rolloutClient(ctx, g, o)
	if errors.Is(err, errRolloutWaits) {
		p.log.Debug("rolling replacement waits", "error", err)
		// A pool scaled down goes without a drain rather than wait on an API that may
		// never answer again.
		return p.removeSurplus(ctx, nil, nil, applier)
	}
	if err != nil {
		return err
	}
	nodes := nodesByName(o.kubeNodes)
	errs := []error{p.removeSurplus(ctx, kc, nodes, applier)}
	if kc != nil {
		errs = append(errs, p.deleteLeftNodes(ctx, kc, nodes))
	}
	if s.Upgrade == nil && len(s.Repairing) == 0 {
		return errors.Join(append(errs, p.detectRepairs(ctx, o))...)
	}
	slots := slotsOf(p.pools, &s)
	ready := func(name string) bool { return kc == nil || nodes[name].ready }
	var removing []string
	if s.Upgrade != nil {
		removing = s.Upgrade.Removing
	}
	for _, r := range retirements(slots, removing, ready) {
		errs = append(errs, p.retire(ctx, kc, nodes, r, applier))
	}
	if err := errors.Join(errs...); err != nil || s.Upgrade == nil {
		return err
	}
	return p.finishUpgrade(ctx, g, applier)
}

// detectRepairs starts the repairs decideRepairs decides on the Nodes the pass read (none
// when it read none), and keeps the MachinesHealthy condition: False with RepairHeld (and an
// event when it starts) while a pool holds its repairs back, False with Repairing while one
// is under way, else True.
func (p *pass) detectRepairs(ctx context.Context, o *outcome) error {
	if o.kubeNodes == nil {
		return nil
	}
	p.mu.Lock()
	s := p.status.Clone()
	p.mu.Unlock()
	d := decideRepairs(p.pools, slotsOf(p.pools, &s), nodesByName(o.kubeNodes), s.Repairing, time.Now())
	status, reason, msg := "True", "Healthy", "every machine's node is Ready or was NotReady for less than its pool's repairAfter"
	switch {
	case len(d.held) > 0:
		status, reason, msg = "False", "RepairHeld", strings.Join(d.held, "; ")
	case len(d.repair) > 0:
		status, reason, msg = "False", "Repairing", "replacing "+strings.Join(d.repair, ", ")+": its node was NotReady for longer than its pool's repairAfter"
	}
	was := statusCondition(&s.Status, ConditionMachinesHealthy)
	if was != nil && was.Status == status && was.Reason == reason && was.Message == msg && len(d.repair) == 0 {
		return nil
	}
	for _, key := range d.repair {
		p.event(ctx, store.EventWarning, "RepairStarted", key+": its node was NotReady for longer than its pool's repairAfter; a new machine replaces it")
	}
	if reason == "RepairHeld" && (was == nil || was.Message != msg) {
		p.event(ctx, store.EventWarning, "RepairHeld", msg)
	}
	return p.update(ctx, func(st *v1alpha1.ClusterStatus) {
		st.Repairing = append(st.Repairing, d.repair...)
		setCondition(st, ConditionMachinesHealthy, status, reason, msg)
	})
}

// errRolloutWaits says that a rolling replacement cannot go on yet: the cluster's API is not
// reachable. The pass is not failed for it; the next one tries again.
var errRolloutWaits = errors.New("upgrade: waiting for the cluster's API")

// rolloutClient is the client of the cluster's API that drains and deletes Nodes, the pass
// having read them (o.kubeNodes); nil when the server does not check Kubernetes. A pass that
// read no Node (the control plane does not run, the API did not answer) gives
// errRolloutWaits: the replacement waits.
func (p *pass) rolloutClient(ctx context.Context, g *plan.Graph, o *outcome) (*kubeClient, error) {
	if !p.c.cfg.CheckKubernetes {
		return nil, nil
	}
	if o.kubeNodes == nil {
		return nil, fmt.Errorf("%w: the pass read no node", errRolloutWaits)
	}
	kc := p.kubeClientFor(ctx, g, o) // cached: the pass read the Nodes with it
	if kc.noAccessReason != "" {
		return nil, fmt.Errorf("%w: %s", errRolloutWaits, kc.noAccessMessage)
	}
	return kc, nil
}

// retire drains an old machine's Nodes and, once they are drained (or the pool's drain
// timeout has passed), deletes its VM, NIC and disk, then its Nodes (drainAndDelete).
func (p *pass) retire(ctx context.Context, kc *kubeClient, nodes map[string]nodeInfo, r retirement, applier azure.Applier) error {
	p.setUpgradeStep(ctx, "draining "+r.slot)
	done, err := p.drainAndDelete(ctx, kc, nodes, r, applier)
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if !done {
		return nil
	}
	p.event(ctx, store.EventNormal, "MachineReplaced", fmt.Sprintf("%s: the old machine %s was drained and deleted", r.slot, strings.Join(r.nodes, ", ")))
	return p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		if s.Upgrade != nil {
			s.Upgrade.Removing = slices.DeleteFunc(s.Upgrade.Removing, func(x string) bool { return x == r.slot })
			s.Upgrade.Current = r.slot + " replaced"
		}
		s.Repairing = slices.DeleteFunc(s.Repairing, func(k string) bool { return slices.Contains(r.keys, k) })
	})
}

// removeSurplus drains and deletes the machines of slots beyond their pool's count (see
// surplus), which prepareMachines kept out of removeGone's reach. Without the cluster's API
// (kc nil) they are deleted without a drain.
func (p *pass) removeSurplus(ctx context.Context, kc *kubeClient, nodes map[string]nodeInfo, applier azure.Applier) error {
	var errs []error
	for _, r := range p.surplus {
		done, err := p.drainAndDelete(ctx, kc, nodes, r, applier)
		if err != nil {
			err = fmt.Errorf("scale down: %w", err)
		}
		if done {
			p.event(ctx, store.EventNormal, "MachineRemoved", fmt.Sprintf("%s: beyond the pool's count, its machine %s was drained and deleted", r.slot, strings.Join(r.nodes, ", ")))
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// drainAndDelete drains a machine's Nodes through the cluster's API and, once they are
// drained (or the pool's drain timeout has passed: a DrainTimedOut event), deletes its VM,
// NIC and disk, then its Nodes; done says it went. A Node that is not Ready is not drained:
// its kubelet would not end its pods (a repair); its pods go with it. Without a client (kc
// nil) nothing is drained.
func (p *pass) drainAndDelete(ctx context.Context, kc *kubeClient, nodes map[string]nodeInfo, r retirement, applier azure.Applier) (bool, error) {
	timeout := p.drainTimeout(r.pool)
	if kc != nil {
		for _, node := range r.nodes {
			if !nodes[node].ready {
				continue
			}
			res, err := drainNode(ctx, kc.core, node, timeout, time.Now())
			if err != nil {
				return false, fmt.Errorf("drain %s: %w", node, err)
			}
			if !res.drained {
				return false, nil // evictions under way or refused by a disruption budget: next pass
			}
			if res.timedOut {
				p.event(ctx, store.EventWarning, "DrainTimedOut", fmt.Sprintf("node %s still had %d pod(s) to evict after %s (the pool's drainTimeout): deleting its machine", node, res.left, timeout))
			}
		}
	}
	if err := p.deleteItems(ctx, p.itemsOf(r.keys), nil, applier); err != nil {
		return false, fmt.Errorf("delete the machine of %s: %w", r.slot, err)
	}
	if kc != nil {
		for _, node := range r.nodes {
			if err := kc.core.Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("delete node %s: %w", node, err)
			}
		}
	}
	return true, nil
}

// deleteLeftNodes deletes the Nodes strata drained whose machine is no longer in the
// inventory: left by a restart between a machine's deletion and its Node's.
func (p *pass) deleteLeftNodes(ctx context.Context, kc *kubeClient, nodes map[string]nodeInfo) error {
	p.mu.Lock()
	vms := map[string]bool{}
	for _, it := range p.status.Inventory {
		if it.Kind == string(plan.KindVirtualMachine) {
			vms[strings.ToLower(path.Base(it.ID))] = true
		}
	}
	p.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		if !nodes[name].drained || vms[name] {
			continue
		}
		if err := kc.core.Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("upgrade: delete node %s: %w", name, err)
		}
	}
	return nil
}

// finishUpgrade ends the upgrade once no slot has an old machine: the machines' template is
// the target's, and the old image, out of the graph and no longer retained, is deleted.
func (p *pass) finishUpgrade(ctx context.Context, g *plan.Graph, applier azure.Applier) error {
	p.mu.Lock()
	s := p.status.Clone()
	p.mu.Unlock()
	if s.Upgrade == nil {
		return nil
	}
	for _, sl := range slotsOf(p.pools, &s) {
		if len(sl.old) > 0 {
			return nil
		}
	}
	up := *s.Upgrade
	err := p.update(ctx, func(st *v1alpha1.ClusterStatus) {
		st.MachineTemplate, st.Upgrade = up.Template, nil
	})
	if err != nil {
		return err
	}
	p.event(ctx, store.EventNormal, "Upgraded", fmt.Sprintf("%d machine(s) replaced: from %s to %s", up.Total, up.From, up.To))
	p.mu.Lock()
	p.retained = nil
	p.mu.Unlock()
	return p.removeGone(ctx, g, applier)
}

// retainedMachineNames are the names of the old VMs a rolling replacement keeps out of the
// graph until it removes them: machines of the cluster all the same, whose Nodes are expected.
func (p *pass) retainedMachineNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, it := range p.status.Inventory {
		if p.retained[it.Key] && it.Kind == string(plan.KindVirtualMachine) {
			out = append(out, path.Base(it.ID))
		}
	}
	return out
}

// setUpgradeStep shows what the upgrade does now.
func (p *pass) setUpgradeStep(ctx context.Context, step string) {
	_ = p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		if s.Upgrade != nil {
			s.Upgrade.Current = step
		}
	})
}

// drainTimeout is the drain timeout of a pool.
func (p *pass) drainTimeout(pool string) time.Duration {
	if mp := poolNamed(p.pools, pool); mp != nil {
		return mp.Drain()
	}
	return v1alpha1.DefaultDrainTimeout
}

// itemsOf are the inventory entries of keys.
func (p *pass) itemsOf(keys []string) []v1alpha1.InventoryItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []v1alpha1.InventoryItem
	for _, k := range keys {
		if it := item(&p.status, k); it != nil {
			out = append(out, *it)
		}
	}
	return out
}
