package controller

import (
	"path"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

// A rolling replacement of an IaaS cluster's machines. Each VM's inventory entry records the
// machine template it was built from (plan.MachineTemplate: the Kubernetes version and the OS
// image). When the spec's template is another, the cluster's machines are replaced slot by
// slot (a slot is a pool's i-th machine): the control plane first, one slot at a time, the new
// member made before the old one leaves; then each worker pool in turn, at most maxSurge new
// machines beside the old ones and at most maxUnavailable old ones removed before their
// replacement exists. An old machine is drained through the cluster's API once its
// replacement's Node is Ready, then deleted with its NIC and disk, then its Node. Everything
// the replacement needs to resume is in the inventory and status.upgrade, so that a restart at
// any step goes on from there.
//
// This file holds the decisions, pure functions of the inventory; upgrade.go does the I/O.

// slotState is what the inventory holds of one slot of a pool.
type slotState struct {
	slot, pool   string
	controlPlane bool
	// current is the generation of the slot's VM built from the target template, -1 none.
	current int
	// old are the generations of its VMs built from another template.
	old []int
	// pending are the generations of its NICs and disks that have no VM and are not old: a
	// machine being made.
	pending []int
	// items are the keys of the slot's VMs, NICs and disks, by generation.
	items map[int][]string
	// names are its VMs' names (their Nodes' names, lower-case), by generation.
	names map[int]string
	// currentReady: the current VM exists as planned.
	currentReady bool
}

// inFlight reports whether the slot's replacement has started: it has old machines and a new
// one made or being made.
func (s *slotState) inFlight() bool {
	return len(s.old) > 0 && (s.current >= 0 || len(s.pending) > 0)
}

// nextGeneration is the generation of the machine the slot gets next: the one being made,
// else one above its old machines', else 0.
func (s *slotState) nextGeneration() int {
	if len(s.pending) > 0 {
		return slices.Max(s.pending)
	}
	if len(s.old) > 0 {
		return slices.Max(s.old) + 1
	}
	return 0
}

// itemTemplate is the template a VM's inventory entry says it was built from: its own, or,
// for one made before strata recorded it, the cluster's template of that time (fleet).
func itemTemplate(it v1alpha1.InventoryItem, fleet string) string {
	if it.Template != "" {
		return it.Template
	}
	return fleet
}

// slotsOf reads the slots of the pools from a cluster's status: the target template is the
// upgrade's under way, else the machines'.
func slotsOf(pools []v1alpha1.MachinePool, s *v1alpha1.ClusterStatus) []*slotState {
	target := s.MachineTemplate
	if s.Upgrade != nil {
		target = s.Upgrade.Template
	}
	return slotStates(pools, s.Inventory, s.MachineTemplate, target, s.Repairing)
}

// slotStates reads the slots of the pools from the inventory, in rollout order: the
// control-plane pool's, then each other pool's in the spec's order; slots beyond a pool's
// count are left out (scaling down removes them). A VM is old when it was built from another
// template than target, or is being repaired (its key in repairing).
func slotStates(pools []v1alpha1.MachinePool, items []v1alpha1.InventoryItem, fleet, target string, repairing []string) []*slotState {
	names := make([]string, 0, len(pools))
	for _, mp := range pools {
		names = append(names, mp.Name)
	}
	bySlot := map[string]*slotState{}
	var out []*slotState
	for _, mp := range orderedPools(pools) {
		for i := range mp.Count {
			s := &slotState{slot: plan.Slot(mp.Name, i), pool: mp.Name, controlPlane: mp.ControlPlane, current: -1,
				items: map[int][]string{}, names: map[int]string{}}
			bySlot[s.slot] = s
			out = append(out, s)
		}
	}
	vms := map[string]map[int]bool{}
	for _, it := range items {
		slot, gen, ok := plan.MachineOfKey(it.Key, names)
		s := bySlot[slot]
		if !ok || s == nil {
			continue
		}
		s.items[gen] = append(s.items[gen], it.Key)
		if it.Kind != string(plan.KindVirtualMachine) {
			continue
		}
		if vms[slot] == nil {
			vms[slot] = map[int]bool{}
		}
		vms[slot][gen] = true
		s.names[gen] = strings.ToLower(path.Base(it.ID))
		if itemTemplate(it, fleet) == target && !slices.Contains(repairing, it.Key) {
			s.current, s.currentReady = gen, it.Ready
		} else {
			s.old = append(s.old, gen)
		}
	}
	for _, s := range out {
		for gen := range s.items {
			if !vms[s.slot][gen] {
				s.pending = append(s.pending, gen)
			}
		}
		slices.Sort(s.old)
		slices.Sort(s.pending)
	}
	return out
}

// orderedPools are the pools in rollout order: the control-plane pool first.
func orderedPools(pools []v1alpha1.MachinePool) []v1alpha1.MachinePool {
	out := make([]v1alpha1.MachinePool, 0, len(pools))
	for _, mp := range pools {
		if mp.ControlPlane {
			out = append(out, mp)
		}
	}
	for _, mp := range pools {
		if !mp.ControlPlane {
			out = append(out, mp)
		}
	}
	return out
}

// machinePlan is what a pass gives plan.Build of the machines, and what it keeps.
type machinePlan struct {
	// generations are plan.Input.Machines.
	generations map[string]int
	// retained are the inventory keys of old machines that stay until the replacement
	// removes them: removeGone leaves them.
	retained map[string]bool
	// removing are the slots whose old machine goes before its replacement is made
	// (status.upgrade.removing).
	removing []string
	// remaining counts the slots that still have an old machine.
	remaining int
}

// planMachines decides which machine of each slot the graph holds, given the slots (in
// rollout order), the pools' surge and unavailability and the slots being removed first.
// A slot whose machine is current, or that has none, holds it (a missing machine is made);
// a slot with an old machine holds its replacement once the replacement has started, and
// starts it only when the rules allow (startReplacements); else it holds nothing (the old
// machine is kept as it is, outside the graph).
func planMachines(slots []*slotState, pools []v1alpha1.MachinePool, removing []string) machinePlan {
	mp := machinePlan{generations: map[string]int{}, retained: map[string]bool{}}
	for _, s := range slots {
		if len(s.old) > 0 && slices.Contains(removing, s.slot) {
			mp.removing = append(mp.removing, s.slot)
		}
	}
	started := startReplacements(slots, pools, mp.removing)
	mp.removing = append(mp.removing, started.removing...)
	for _, s := range slots {
		gen := s.nextGeneration()
		switch {
		case s.current >= 0:
			gen = s.current
		case len(s.old) > 0 && !s.inFlight() && !started.surge[s.slot]:
			gen = plan.SkipMachine
		case slices.Contains(mp.removing, s.slot):
			gen = plan.SkipMachine // made once the old machine is gone
		}
		mp.generations[s.slot] = gen
		if len(s.old) > 0 {
			mp.remaining++
		}
		for _, g := range s.old {
			for _, key := range s.items[g] {
				mp.retained[key] = true
			}
		}
	}
	return mp
}

// started is what startReplacements starts: slots whose new machine is made now (surge), and
// slots whose old machine is removed first (removing).
type started struct {
	surge    map[string]bool
	removing []string
}

// startReplacements starts the replacements the rules allow this pass. The control plane
// goes first, one slot at a time: its first slot with an old machine, when no other is in
// flight. Then, once no control-plane slot has an old machine, the first worker pool (in
// rollout order) with old machines: while fewer than maxSurge+maxUnavailable of its slots are
// in flight, the next slot starts with a new machine if fewer than maxSurge slots have one
// beside their old one, else by removing its old machine if fewer than maxUnavailable are
// unavailable (being removed, or without a machine that exists as planned).
func startReplacements(slots []*slotState, pools []v1alpha1.MachinePool, removing []string) started {
	out := started{surge: map[string]bool{}}
	for _, s := range slots {
		if s.controlPlane && len(s.old) > 0 {
			if !s.inFlight() {
				out.surge[s.slot] = true
			}
			return out // one control-plane slot at a time, and the workers wait
		}
	}
	for _, pool := range orderedPools(pools) {
		var own []*slotState
		surging, unavailable := 0, 0
		for _, s := range slots {
			if s.pool != pool.Name {
				continue
			}
			switch {
			case len(s.old) == 0 && !s.currentReady:
				unavailable++ // a machine missing or being made
			case len(s.old) == 0:
			case slices.Contains(removing, s.slot):
				unavailable++
			case s.inFlight():
				surging++
			}
			if len(s.old) > 0 {
				own = append(own, s)
			}
		}
		if pool.ControlPlane || len(own) == 0 {
			continue
		}
		for _, s := range own {
			if surging+unavailable >= pool.Surge()+pool.Unavailable() {
				break
			}
			if s.inFlight() || slices.Contains(removing, s.slot) {
				continue
			}
			switch {
			case surging < pool.Surge():
				out.surge[s.slot] = true
				surging++
			case unavailable < pool.Unavailable():
				out.removing = append(out.removing, s.slot)
				unavailable++
			}
		}
		return out // one worker pool at a time
	}
	return out
}

// retirement is an old machine of a slot that may leave now: its replacement's VM exists and
// its Node is Ready, or its slot is removed first.
type retirement struct {
	slot, pool string
	// keys are the inventory keys of the old VMs, NICs and disks; nodes their Nodes' names.
	keys  []string
	nodes []string
}

// retirements are the old machines that may be drained and deleted now: of each slot with an
// old machine, whose replacement is current with its Node Ready (nodeReady by name), or which
// is removed first.
func retirements(slots []*slotState, removing []string, nodeReady func(name string) bool) []retirement {
	var out []retirement
	for _, s := range slots {
		if len(s.old) == 0 {
			continue
		}
		replaced := s.current >= 0 && s.currentReady && nodeReady(s.names[s.current])
		if !replaced && !slices.Contains(removing, s.slot) {
			continue
		}
		r := retirement{slot: s.slot, pool: s.pool}
		for _, g := range s.old {
			r.keys = append(r.keys, s.items[g]...)
			r.nodes = append(r.nodes, s.names[g])
		}
		out = append(out, r)
	}
	return out
}

// surplus are the machines of slots beyond their pool's count (a pool scaled down, by its
// spec or its autoscaler), one retirement per slot: they are drained, then deleted, rather
// than left to removeGone. A pool no longer in the spec is not read here (its machines go
// with removeGone).
func surplus(pools []v1alpha1.MachinePool, items []v1alpha1.InventoryItem) []retirement {
	names := make([]string, 0, len(pools))
	inRange := map[string]bool{}
	for _, mp := range pools {
		names = append(names, mp.Name)
		for i := range mp.Count {
			inRange[plan.Slot(mp.Name, i)] = true
		}
	}
	bySlot := map[string]*retirement{}
	var order []string
	for _, it := range items {
		slot, _, ok := plan.MachineOfKey(it.Key, names)
		if !ok || inRange[slot] {
			continue
		}
		r := bySlot[slot]
		if r == nil {
			r = &retirement{slot: slot, pool: poolOfSlot(slot, names)}
			bySlot[slot] = r
			order = append(order, slot)
		}
		r.keys = append(r.keys, it.Key)
		if it.Kind == string(plan.KindVirtualMachine) {
			r.nodes = append(r.nodes, strings.ToLower(path.Base(it.ID)))
		}
	}
	out := make([]retirement, 0, len(order))
	for _, slot := range order {
		out = append(out, *bySlot[slot])
	}
	return out
}

// poolOfSlot is the pool of a slot ("workers-2" → "workers"): the longest pool name that
// prefixes it.
func poolOfSlot(slot string, pools []string) string {
	best := ""
	for _, p := range pools {
		if strings.HasPrefix(slot, p+"-") && len(p) > len(best) {
			best = p
		}
	}
	return best
}
