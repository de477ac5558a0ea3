package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

// machineItems are the inventory entries of a machine of a slot: its VM (built from template,
// ready), NIC and OS disk. A template "" leaves the VM out (a machine being made).
func machineItems(slot string, gen int, template string, ready bool) []v1alpha1.InventoryItem {
	vm, nic, disk := plan.MachineKeys(slot, gen)
	name := "c-" + slot
	if gen > 0 {
		name += fmt.Sprintf("-g%d", gen)
	}
	out := []v1alpha1.InventoryItem{
		{Key: nic, Kind: string(plan.KindNetworkInterface), ID: "/x/networkInterfaces/" + name + "-nic", Managed: true, Ready: true},
	}
	if template != "" {
		out = append(out,
			v1alpha1.InventoryItem{Key: vm, Kind: string(plan.KindVirtualMachine), ID: "/x/virtualMachines/" + name, Managed: true, Ready: ready, Template: template},
			v1alpha1.InventoryItem{Key: disk, Kind: string(plan.KindOSDisk), ID: "/x/disks/" + name + "_OSDisk", Managed: true, Ready: ready})
	}
	return out
}

func testPools(cp, workers, surge, unavailable int) []v1alpha1.MachinePool {
	return []v1alpha1.MachinePool{
		{Name: "workers", Count: workers, MaxSurge: new(surge), MaxUnavailable: new(unavailable)},
		{Name: "control-plane", ControlPlane: true, Count: cp},
	}
}

// fleet builds an inventory: every slot of the pools at generation 0 from template "old",
// then the given changes (slot → items replacing or adding).
func fleet(pools []v1alpha1.MachinePool, extra ...[]v1alpha1.InventoryItem) []v1alpha1.InventoryItem {
	var out []v1alpha1.InventoryItem
	for _, mp := range pools {
		for i := range mp.Count {
			out = append(out, machineItems(plan.Slot(mp.Name, i), 0, "old", true)...)
		}
	}
	for _, e := range extra {
		out = append(out, e...)
	}
	return out
}

// without drops the entries of a slot's generation.
func without(items []v1alpha1.InventoryItem, slot string, gen int) []v1alpha1.InventoryItem {
	vm, nic, disk := plan.MachineKeys(slot, gen)
	return slices.DeleteFunc(slices.Clone(items), func(it v1alpha1.InventoryItem) bool {
		return it.Key == vm || it.Key == nic || it.Key == disk
	})
}

func TestPlanMachines(t *testing.T) {
	p33 := testPools(3, 3, 1, 0)
	cpDone := fleet(p33)
	for i := range 3 {
		cpDone = append(without(cpDone, plan.Slot("control-plane", i), 0), machineItems(plan.Slot("control-plane", i), 1, "new", true)...)
	}
	for _, tc := range []struct {
		name     string
		pools    []v1alpha1.MachinePool
		items    []v1alpha1.InventoryItem
		removing []string
		// want is the generation of each slot in the graph ("-" for none), in slot order
		// control-plane-0.., workers-0..; wantRemoving the slots removed first.
		want         string
		wantRemoving []string
		remaining    int
	}{
		{"nothing to replace", p33, fleet(testPools(3, 3, 1, 0)), nil, "", nil, 0},
		{"the first control-plane slot starts", p33, fleet(p33), nil, "1 - - - - -", nil, 6},
		{"one control-plane slot at a time", p33, fleet(p33, machineItems("control-plane-0", 1, "new", false)), nil, "1 - - - - -", nil, 6},
		{"a replacement being made goes on", p33, fleet(p33, machineItems("control-plane-0", 1, "", false)), nil, "1 - - - - -", nil, 6},
		{"the next control-plane slot once the first is replaced",
			p33, append(without(fleet(p33), "control-plane-0", 0), machineItems("control-plane-0", 1, "new", true)...), nil, "1 1 - - - -", nil, 5},
		{"workers wait for the control plane, then one at a time with surge 1", p33, cpDone, nil, "1 1 1 1 - -", nil, 3},
		{"surge 2", testPools(3, 3, 2, 0), cpDone, nil, "1 1 1 1 1 -", nil, 3},
		{"surge 0, unavailable 1: removed first, made once gone", testPools(3, 3, 0, 1), cpDone, nil, "1 1 1 - - -", []string{"workers-0"}, 3},
		{"a removed-first slot whose old machine is gone gets its machine", testPools(3, 3, 0, 1),
			without(cpDone, "workers-0", 0), []string{"workers-0"}, "1 1 1 0 - -", nil, 2},
		{"surge 1, unavailable 1", testPools(3, 3, 1, 1), cpDone, nil, "1 1 1 1 - -", []string{"workers-1"}, 3},
		{"a missing machine is made at once", p33, without(fleet(testPools(3, 3, 1, 0)), "workers-2", 0), nil, "", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := "new"
			if tc.remaining == 0 && tc.want == "" {
				target = "old"
			}
			slots := slotStates(tc.pools, tc.items, "old", target, nil)
			mp := planMachines(slots, tc.pools, tc.removing)
			var got []string
			for _, s := range slots {
				g := mp.generations[s.slot]
				if g == plan.SkipMachine {
					got = append(got, "-")
				} else {
					got = append(got, fmt.Sprint(g))
				}
			}
			want := tc.want
			if want == "" {
				want = strings.TrimSpace(strings.Repeat("0 ", len(slots)))
			}
			if strings.Join(got, " ") != want || !slices.Equal(mp.removing, tc.wantRemoving) || mp.remaining != tc.remaining {
				t.Errorf("generations %v, removing %v, remaining %d; want %s, %v, %d", got, mp.removing, mp.remaining, want, tc.wantRemoving, tc.remaining)
			}
			for key := range mp.retained {
				if slot, gen, _ := plan.MachineOfKey(key, []string{"workers", "control-plane"}); mp.generations[slot] == gen {
					t.Errorf("%s is both retained and in the graph", key)
				}
			}
		})
	}
}

func TestPlanMachinesRetainsOldMachines(t *testing.T) {
	pools := testPools(1, 2, 1, 0)
	items := fleet(pools, machineItems("control-plane-0", 1, "new", false))
	mp := planMachines(slotStates(pools, items, "old", "new", nil), pools, nil)
	want := []string{"nic/control-plane-0", "nic/workers-0", "nic/workers-1", "osdisk/control-plane-0", "osdisk/workers-0",
		"osdisk/workers-1", "vm/control-plane-0", "vm/workers-0", "vm/workers-1"}
	if got := slices.Sorted(maps.Keys(mp.retained)); !slices.Equal(got, want) {
		t.Errorf("retained %v, want %v", got, want)
	}
}

func TestLegacyMachinesFollowTheFleetTemplate(t *testing.T) {
	pools := testPools(1, 1, 1, 0)
	items := fleet(pools)
	for i := range items {
		items[i].Template = "" // made before strata recorded templates
	}
	if mp := planMachines(slotStates(pools, items, "old", "old", nil), pools, nil); mp.remaining != 0 {
		t.Errorf("machines without a template count as old while the fleet's template is the target: %+v", mp)
	}
	if mp := planMachines(slotStates(pools, items, "old", "new", nil), pools, nil); mp.remaining != 2 {
		t.Errorf("machines without a template are not replaced when the target changes: %+v", mp)
	}
}

func TestRetirements(t *testing.T) {
	pools := testPools(1, 3, 2, 1)
	items := fleet(pools,
		machineItems("control-plane-0", 1, "new", true),
		machineItems("workers-0", 1, "new", true),
		machineItems("workers-1", 1, "new", false))
	ready := map[string]bool{"c-control-plane-0-g1": true, "c-workers-0-g1": false}
	for _, tc := range []struct {
		name     string
		ready    func(string) bool
		removing []string
		want     string
	}{
		{"replacements whose Node is Ready", func(n string) bool { return ready[n] }, nil, "control-plane-0:c-control-plane-0"},
		{"every Node Ready, a VM not ready yet", func(string) bool { return true }, nil, "control-plane-0:c-control-plane-0 workers-0:c-workers-0"},
		{"a slot removed first goes without a replacement", func(string) bool { return false }, []string{"workers-2"}, "workers-2:c-workers-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range retirements(slotStates(pools, items, "old", "new", nil), tc.removing, tc.ready) {
				got = append(got, r.slot+":"+strings.Join(r.nodes, ","))
				if len(r.keys) != 3 {
					t.Errorf("%s: keys %v, want the old VM, NIC and disk", r.slot, r.keys)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("retirements %v, want %s", got, tc.want)
			}
		})
	}
}

func TestFollowTemplate(t *testing.T) {
	pools := testPools(3, 2, 1, 0)
	for _, tc := range []struct {
		name    string
		status  v1alpha1.ClusterStatus
		started bool
		want    string // machineTemplate, upgrade from->to
	}{
		{"first pass records the template", v1alpha1.ClusterStatus{}, false, "new"},
		{"same template, nothing", v1alpha1.ClusterStatus{MachineTemplate: "new"}, false, "new"},
		{"another template starts an upgrade", v1alpha1.ClusterStatus{MachineTemplate: "old"}, true, "old old->new 0/5"},
		{"a target changed during an upgrade is followed", v1alpha1.ClusterStatus{MachineTemplate: "old",
			Upgrade: &v1alpha1.UpgradeStatus{From: "old", To: "mid", Template: "mid", Total: 5, Done: 2}}, false, "old old->new 2/5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.status
			started := followTemplate(&s, "new", pools)
			got := s.MachineTemplate
			if u := s.Upgrade; u != nil {
				got += fmt.Sprintf(" %s->%s %d/%d", u.From, u.To, u.Done, u.Total)
				if u.Template != u.To {
					t.Errorf("upgrade template %q, to %q", u.Template, u.To)
				}
			}
			if started != tc.started || got != tc.want {
				t.Errorf("followTemplate: %v %q; want %v %q", started, got, tc.started, tc.want)
			}
		})
	}
}

func TestImageGeneration(t *testing.T) {
	img := func(key, template string) v1alpha1.InventoryItem {
		return v1alpha1.InventoryItem{Key: key, Template: template}
	}
	for _, tc := range []struct {
		name  string
		items []v1alpha1.InventoryItem
		want  int
	}{
		{"none yet", nil, 0},
		{"the current image", []v1alpha1.InventoryItem{img("vhd-copy", "aaaa"), img("image", "aaaa")}, 0},
		{"a legacy image of the fleet's fingerprint", []v1alpha1.InventoryItem{img("vhd-copy", ""), img("image", "")}, 0},
		{"a new image is the next generation", []v1alpha1.InventoryItem{img("vhd-copy", "bbbb"), img("image", "bbbb")}, 1},
		{"the new image being made", []v1alpha1.InventoryItem{img("image", "bbbb"), img("vhd-copy-g1", "aaaa")}, 1},
		{"back to an image kept", []v1alpha1.InventoryItem{img("image-g2", "cccc"), img("image-g1", "aaaa")}, 1},
	} {
		fleet := "aaaa"
		if strings.HasPrefix(tc.name, "a new image") {
			fleet = "bbbb"
		}
		if got := imageGeneration(tc.items, "aaaa", fleet); got != tc.want {
			t.Errorf("%s: generation %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSurplus(t *testing.T) {
	pools := testPools(1, 3, 1, 0)
	full := fleet(pools, machineItems("workers-3", 0, "old", true), machineItems("workers-4", 1, "new", true))
	tests := []struct {
		name  string
		count int
		items []v1alpha1.InventoryItem
		want  string // slot:pool:nodes, one per retirement
	}{
		{"every machine within the count", 5, full, ""},
		{"two slots beyond a count of 3, one of generation 1", 3, full, "workers-3:workers:c-workers-3 workers-4:workers:c-workers-4-g1"},
		{"scaled to 1: every machine but the first", 1, fleet(testPools(1, 2, 1, 0)), "workers-1:workers:c-workers-1"},
		{"a machine being made beyond the count (no VM yet) goes too", 2, fleet(testPools(1, 2, 1, 0), machineItems("workers-2", 0, "", false)), "workers-2:workers:"},
		{"a pool left out of the spec is not read", 3, fleet([]v1alpha1.MachinePool{{Name: "gone", Count: 2}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := testPools(1, tt.count, 1, 0)
			var got []string
			for _, r := range surplus(ps, tt.items) {
				got = append(got, r.slot+":"+r.pool+":"+strings.Join(r.nodes, ","))
				if want := 1 + 2*len(r.nodes); len(r.keys) != want {
					t.Errorf("%s: keys %v, want its NIC, and its VM and disk when it has a VM", r.slot, r.keys)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}
