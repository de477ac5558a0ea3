package upgradebench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/provisionbench"
)

// Result is what a run measured.
type Result struct {
	ControlPlane, Workers, MaxSurge int
	LatencyScale                    float64
	// Kubernetes says whether real Kubernetes ran in the emulator (Node Ready waited for,
	// old nodes drained).
	Kubernetes bool
	// Pods is the replicas of the workload deployed before the upgrade (0: none).
	Pods int
	// From and To are status.upgrade's from and to.
	From, To string
	// Provision is the cluster's time from its creation to Running, before the upgrade.
	Provision time.Duration
	// Upgrade is the time from the spec change to status.upgrade gone with the cluster Running.
	Upgrade time.Duration
	// LowerBound is Image + ControlPlaneBound + WorkersBound + ImageDelete - Overlap: no
	// schedule of Azure's operations of this run, in the order the rollout rules impose, ends
	// sooner (with 1 < MaxSurge < Workers the waves are a model: starting each worker slot as
	// soon as another ends may beat them by up to the spread of the slots' costs).
	LowerBound time.Duration
	// Overlap is the part of the first slot's new NIC create that may run during the new
	// image's making (the NIC does not need the image; the VM does): the shorter of the two.
	Overlap time.Duration
	// Image is the new image's VHD copy (the model's nominal time, as provisionbench) plus
	// its image resource's create; ImageDelete the old image's delete.
	Image, ImageDelete time.Duration
	// ControlPlaneBound is the sum of the control-plane slots' Azure times (one at a time);
	// WorkersBound the sum over the Waves worker waves of each wave's longest slot.
	ControlPlaneBound, WorkersBound time.Duration
	Waves                           int
	// Slots are the replacements in rollout order.
	Slots []SlotTiming
	// VMs are the VMs' inventory keys after the upgrade.
	VMs []string
	// Events counts the cluster's events from the spec change until the controller was
	// stopped, once the upgrade ended, by reason (UpgradeStarted, MachineReplaced, Upgraded,
	// DrainTimedOut...).
	Events map[string]int
	// KubernetesReady is the cluster's condition KubernetesReady after the upgrade: its API
	// answered the controller and its nodes were Ready (false without Kubernetes).
	KubernetesReady bool
}

// SlotTiming is one slot's replacement, its times from the spec change: when its new
// machine's first inventory entry (NIC or VM) was written, when its new VM was ready (created
// and running), and when the last of its old VM, NIC and disk left the inventory.
type SlotTiming struct {
	Slot                  string
	Start, Ready, Removed time.Duration
	// Azure is what Azure's operations on it took: the new NIC's and VM's creates, the old
	// VM's delete, then the longer of the old NIC's and disk's deletes.
	Azure time.Duration
	// Wave is the worker wave the lower bound puts it in (1-based), 0 for the control plane.
	Wave int
}

// Ratio is the upgrade time over the lower bound (0 when the bound is unknown).
func (r *Result) Ratio() float64 {
	if r.LowerBound == 0 {
		return 0
	}
	return float64(r.Upgrade) / float64(r.LowerBound)
}

// costs are what Azure's operations of the run took, by verb and lower-case resource ID.
type costs struct {
	create, delete map[string]time.Duration
	blobCopy       time.Duration
}

func newCosts(snap *arm.State, model *arm.LatencyModel) costs {
	return costs{
		create:   provisionbench.OperationTimes("create", snap.Operations),
		delete:   provisionbench.OperationTimes("delete", snap.Operations),
		blobCopy: model.Duration("blob.copy", 0.5),
	}
}

// result measures the upgrade from the cluster before and after it and the observer's times.
func (b *bench) result(before, after *v1alpha1.Cluster, t0 time.Time) *Result {
	res := &Result{ControlPlane: b.o.ControlPlane, Workers: b.o.Workers, MaxSurge: b.o.MaxSurge,
		LatencyScale: b.o.LatencyScale, Kubernetes: !b.o.WithoutKubernetes}
	if res.Kubernetes {
		res.Pods = max(0, b.o.Pods)
	}
	res.From, res.To = b.obs.fromTo()
	res.Events = b.obs.eventCounts()
	for _, c := range after.Status.Conditions {
		res.KubernetesReady = res.KubernetesReady || (c.Type == controller.ConditionKubernetesReady && c.Status == "True")
	}
	res.Upgrade = b.obs.upgradedAt().Sub(t0)
	c := newCosts(b.em.Engine().Snapshot(), b.em.Engine().Latency())
	oldIDs, newIDs := inventoryIDs(before), inventoryIDs(after)
	for _, it := range after.Status.Inventory {
		if it.Kind == string(plan.KindVirtualMachine) {
			res.VMs = append(res.VMs, it.Key)
		}
	}
	res.Image = c.blobCopy + c.create[imageID(after, 1)]
	res.ImageDelete = c.delete[imageID(before, 0)]
	var waves []time.Duration
	for i, sl := range slots(after.Spec.MachinePools) {
		nicCreate, azureTime := c.slot(sl.slot, oldIDs, newIDs)
		if i == 0 {
			res.Overlap = min(res.Image, nicCreate)
		}
		st := b.slotTiming(sl.slot, t0)
		st.Azure = azureTime
		if sl.controlPlane {
			res.ControlPlaneBound += st.Azure
		} else {
			st.Wave = sl.index/res.MaxSurge + 1
			if len(waves) < st.Wave {
				waves = append(waves, 0)
			}
			waves[st.Wave-1] = max(waves[st.Wave-1], st.Azure)
		}
		res.Slots = append(res.Slots, st)
	}
	res.Waves = len(waves)
	for _, w := range waves {
		res.WorkersBound += w
	}
	res.LowerBound = res.Image + res.ControlPlaneBound + res.WorkersBound + res.ImageDelete - res.Overlap
	return res
}

// slotTiming is when the slot's new machine was started and ready and its old one gone, from
// t0 (0 for what was not seen).
func (b *bench) slotTiming(slot string, t0 time.Time) SlotTiming {
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return 0
		}
		return t.Sub(t0)
	}
	st := SlotTiming{Slot: slot}
	vm, nic, disk := plan.MachineKeys(slot, 0)
	newVM, newNIC, _ := plan.MachineKeys(slot, 1)
	vmFirst, vmReady, _ := b.obs.times(newVM)
	nicFirst, _, _ := b.obs.times(newNIC)
	st.Start, st.Ready = since(earliest(vmFirst, nicFirst)), since(vmReady)
	for _, k := range []string{vm, nic, disk} {
		_, _, gone := b.obs.times(k)
		st.Removed = max(st.Removed, since(gone))
	}
	return st
}

// slot is what Azure's operations on a slot's replacement took: the new NIC's and VM's
// creates, the old VM's delete, then the longer of the old NIC's and OS disk's deletes (both
// wait for the VM's: they are attached to it). It returns the NIC's create too.
func (c costs) slot(slot string, oldIDs, newIDs map[string]string) (nicCreate, total time.Duration) {
	vm, nic, disk := plan.MachineKeys(slot, 0)
	newVM, newNIC, _ := plan.MachineKeys(slot, 1)
	nicCreate = c.create[newIDs[newNIC]]
	return nicCreate, nicCreate + c.create[newIDs[newVM]] + c.delete[oldIDs[vm]] +
		max(c.delete[oldIDs[nic]], c.delete[oldIDs[disk]])
}

// slotRef is a slot of a pool in rollout order; index is its place in its pool.
type slotRef struct {
	slot         string
	index        int
	controlPlane bool
}

// slots are the pools' slots in rollout order: the control plane's, then each other pool's.
func slots(pools []v1alpha1.MachinePool) []slotRef {
	var out []slotRef
	for _, cp := range []bool{true, false} {
		for _, mp := range pools {
			if mp.ControlPlane != cp {
				continue
			}
			for i := range mp.Count {
				out = append(out, slotRef{slot: plan.Slot(mp.Name, i), index: i, controlPlane: cp})
			}
		}
	}
	return out
}

// inventoryIDs are the lower-case resource IDs of a cluster's inventory, by key.
func inventoryIDs(cl *v1alpha1.Cluster) map[string]string {
	out := make(map[string]string, len(cl.Status.Inventory))
	for _, it := range cl.Status.Inventory {
		out[it.Key] = strings.ToLower(it.ID)
	}
	return out
}

// imageID is the lower-case resource ID of the cluster's node image of a generation, "" when
// its inventory has none.
func imageID(cl *v1alpha1.Cluster, gen int) string {
	for _, it := range cl.Status.Inventory {
		if g, ok := plan.ImageOfKey(it.Key); ok && g == gen && it.Kind == string(plan.KindImage) {
			return strings.ToLower(it.ID)
		}
	}
	return ""
}

// earliest is the earlier of two times, a zero one ignored.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Print writes the result as a human-readable report.
func (r *Result) Print(w io.Writer) {
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(w, "cluster        IaaS, %d control-plane + %d worker machines (workers' maxSurge %d, maxUnavailable 0); latency: realistic x %g\n",
		r.ControlPlane, r.Workers, r.MaxSurge, r.LatencyScale)
	if r.Kubernetes {
		fmt.Fprintf(w, "kubernetes     on: real Kubernetes in the emulator; each new Node Ready is waited for and each old node drained (KubernetesReady after: %t)\n", r.KubernetesReady)
		if r.Pods > 0 {
			fmt.Fprintf(w, "workload       a Deployment of %d pods with a PodDisruptionBudget of minAvailable %d, evicted by the drains\n", r.Pods, r.Pods-1)
		}
	} else {
		fmt.Fprintf(w, "kubernetes     off: a new VM running stands for its Node Ready, and nothing is drained\n")
	}
	fmt.Fprintf(w, "upgrade        %s -> %s\n", r.From, r.To)
	fmt.Fprintf(w, "events         %s\n", formatCounts(r.Events))
	fmt.Fprintf(w, "provisioning   %s to Running (before the upgrade; not part of the figures below)\n", ms(r.Provision))
	fmt.Fprintf(w, "upgrade time   %s, from the spec change to status.upgrade gone with the cluster Running\n", ms(r.Upgrade))
	fmt.Fprintf(w, "lower bound    %s = new image %s + control plane %d slot(s) one at a time %s + workers %d wave(s) %s + old image deleted %s - first NIC during the image %s\n",
		ms(r.LowerBound), ms(r.Image), r.ControlPlane, ms(r.ControlPlaneBound), r.Waves, ms(r.WorkersBound), ms(r.ImageDelete), ms(r.Overlap))
	fmt.Fprintf(w, "ratio          %.2f x lower bound\n", r.Ratio())
	fmt.Fprintf(w, "slots (from the spec change: new machine started, new VM ready, old machine gone; took = gone - started; Azure = its operations):\n")
	fmt.Fprintf(w, "  %-18s %4s %9s %9s %9s %9s %9s\n", "slot", "wave", "started", "ready", "gone", "took", "Azure")
	for _, s := range r.Slots {
		wave := "cp"
		if s.Wave > 0 {
			wave = fmt.Sprint(s.Wave)
		}
		fmt.Fprintf(w, "  %-18s %4s %9s %9s %9s %9s %9s\n", s.Slot, wave, ms(s.Start), ms(s.Ready), ms(s.Removed), ms(s.Removed-s.Start), ms(s.Azure))
	}
}

// formatCounts writes counts by name, sorted: "MachineReplaced 6, Upgraded 1".
func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
