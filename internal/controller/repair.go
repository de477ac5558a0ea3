package controller

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

// Node repair: a machine whose Node has been NotReady for longer than its pool's repairAfter
// is replaced by the rolling replacement's machinery (its VM key goes into status.repairing,
// and the slot's machine counts as old). At most one machine of a pool is repaired at a time,
// and none while more than a third of the pool is NotReady: an outage of a zone or of the
// network, which new machines would not mend and a storm of replacements would worsen.

// ConditionMachinesHealthy says whether an IaaS cluster's machines are healthy or being
// repaired, and why a repair is held back.
const ConditionMachinesHealthy = "MachinesHealthy"

// repairDecision is what decideRepairs decided: the VM keys to repair now, and, by pool, why
// repairs are held back.
type repairDecision struct {
	repair []string
	held   []string
}

// decideRepairs decides the repairs of a pass, given the slots (rollout order), the Nodes
// read by name, the repairs under way (VM keys) and the time. A pool repairs when its
// repairAfter is above 0, none of its machines is being repaired or replaced, and at most a
// third of its machines' Nodes are NotReady: the first machine NotReady for at least
// repairAfter. A Node not registered yet is not counted (its machine may be booting).
func decideRepairs(pools []v1alpha1.MachinePool, slots []*slotState, nodes map[string]nodeInfo, repairing []string, now time.Time) repairDecision {
	var d repairDecision
	for i := range pools {
		mp := &pools[i]
		after := mp.Repair()
		if after <= 0 {
			continue
		}
		var notReady, due []string
		busy := false
		for _, s := range slots {
			if s.pool != mp.Name {
				continue
			}
			if len(s.old) > 0 || s.current < 0 {
				busy = true // being replaced or repaired, or being made
				continue
			}
			n, ok := nodes[s.names[s.current]]
			if !ok || n.ready {
				continue
			}
			notReady = append(notReady, n.name)
			if now.Sub(n.since) >= after {
				vm, _, _ := plan.MachineKeys(s.slot, s.current)
				due = append(due, vm)
			}
		}
		switch {
		case len(notReady) == 0:
		case len(notReady)*3 > mp.Count:
			d.held = append(d.held, fmt.Sprintf("pool %s: %d of %d nodes NotReady (%s), more than a third of the pool: that looks like an outage of a zone or of the network, which new machines would not mend, so none is replaced",
				mp.Name, len(notReady), mp.Count, strings.Join(notReady, ", ")))
		case !busy && len(due) > 0 && !slices.Contains(repairing, due[0]):
			d.repair = append(d.repair, due[0])
		}
	}
	return d
}

// nodesByName indexes nodes by name.
func nodesByName(nodes []nodeInfo) map[string]nodeInfo {
	out := make(map[string]nodeInfo, len(nodes))
	for _, n := range nodes {
		out[n.name] = n
	}
	return out
}
