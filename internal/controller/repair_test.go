package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestDecideRepairs(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	pools := []v1alpha1.MachinePool{
		{Name: "control-plane", ControlPlane: true, Count: 3, RepairAfter: "0"},
		{Name: "workers", Count: 3, RepairAfter: "10m"},
	}
	healthy := func() map[string]nodeInfo {
		out := map[string]nodeInfo{}
		for _, n := range []string{"c-control-plane-0", "c-control-plane-1", "c-control-plane-2", "c-workers-0", "c-workers-1", "c-workers-2"} {
			out[n] = nodeInfo{name: n, ready: true, since: now.Add(-time.Hour)}
		}
		return out
	}
	down := func(nodes map[string]nodeInfo, name string, ago time.Duration) map[string]nodeInfo {
		nodes[name] = nodeInfo{name: name, since: now.Add(-ago)}
		return nodes
	}
	for _, tc := range []struct {
		name      string
		items     []v1alpha1.InventoryItem
		nodes     map[string]nodeInfo
		repairing []string
		repair    string
		held      string
	}{
		{"all Ready", fleet(pools), healthy(), nil, "", ""},
		{"NotReady for less than repairAfter", fleet(pools), down(healthy(), "c-workers-1", 9*time.Minute), nil, "", ""},
		{"NotReady for repairAfter", fleet(pools), down(healthy(), "c-workers-1", 10*time.Minute), nil, "vm/workers-1", ""},
		{"a pool whose repairAfter is 0 is not repaired", fleet(pools), down(healthy(), "c-control-plane-1", time.Hour), nil, "", ""},
		{"two of three NotReady: held, saying why", fleet(pools), down(down(healthy(), "c-workers-0", time.Hour), "c-workers-2", time.Hour), nil,
			"", "pool workers: 2 of 3 nodes NotReady (c-workers-0, c-workers-2), more than a third of the pool"},
		{"one repair of a pool at a time", fleet(pools, machineItems("workers-0", 1, "old", false)), down(healthy(), "c-workers-1", time.Hour),
			[]string{"vm/workers-0"}, "", ""},
		{"a node not registered yet is not counted", fleet(pools), func() map[string]nodeInfo { n := healthy(); delete(n, "c-workers-2"); return n }(), nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slots := slotStates(pools, tc.items, "old", "old", tc.repairing)
			d := decideRepairs(pools, slots, tc.nodes, tc.repairing, now)
			if got := strings.Join(d.repair, " "); got != tc.repair {
				t.Errorf("repair %q, want %q", got, tc.repair)
			}
			held := strings.Join(d.held, "; ")
			if (tc.held == "") != (held == "") || !strings.Contains(held, tc.held) {
				t.Errorf("held %q, want %q", held, tc.held)
			}
		})
	}
}

func TestRepairingCountsAsOld(t *testing.T) {
	pools := testPools(1, 2, 1, 0)
	items := fleet(pools)
	slots := slotStates(pools, items, "old", "old", []string{"vm/workers-1"})
	mp := planMachines(slots, pools, nil)
	if mp.generations["workers-1"] != 1 || mp.generations["workers-0"] != 0 || !mp.retained["vm/workers-1"] {
		t.Errorf("a machine being repaired gets a new generation and stays until it is replaced: %+v", mp)
	}
}
