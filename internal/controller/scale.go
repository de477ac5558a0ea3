package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Worker autoscaling of IaaS pools whose min is below their max, with the cluster
// autoscaler's rules: a pool grows when pods cannot be scheduled for lack of resources (first
// fit of their requests, largest first, on the free room of the nodes that run, then on the
// pool's nodes being made, then on new nodes shaped like the pool's), up to its max; it
// shrinks by its last machine once that machine's node has been unneeded for the pool's
// scaleDownAfter (its pods' requests under half its allocatable, every one of them movable and
// fitting on the other nodes), down to its min, the node drained first. The count chosen is
// in status.scale: it is not drift. This file holds the decisions, pure functions of what a
// pass read; autoscale.go does the I/O.

// scaleDownUtilization is the cluster autoscaler's scale-down-utilization-threshold: a node
// whose pods request less than this share of its CPU and of its memory is a candidate.
const scaleDownUtilization = 0.5

// Annotations the cluster autoscaler reads, honoured the same way.
const (
	scaleDownDisabledAnnotation = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
	safeToEvictAnnotation       = "cluster-autoscaler.kubernetes.io/safe-to-evict"
)

// syncScale keeps the autoscaler's entries in step with the spec: one per IaaS worker pool
// that autoscales, made at the spec's count, set to the spec's count again when the spec
// changes it, and kept within the pool's bounds; the entries of other pools go.
func syncScale(pools []v1alpha1.MachinePool, scale []v1alpha1.PoolScale) []v1alpha1.PoolScale {
	var out []v1alpha1.PoolScale
	for i := range pools {
		mp := &pools[i]
		if mp.ControlPlane || !mp.Autoscales() {
			continue
		}
		e := v1alpha1.PoolScale{Pool: mp.Name, Count: mp.Count, SpecCount: mp.Count}
		if j := slices.IndexFunc(scale, func(s v1alpha1.PoolScale) bool { return s.Pool == mp.Name }); j >= 0 && scale[j].SpecCount == mp.Count {
			e = scale[j]
		}
		lo, hi := mp.Bounds()
		e.Count = min(max(e.Count, lo), hi)
		out = append(out, e)
	}
	return out
}

// poolsInEffect are the spec's pools with the counts the autoscaler chose (scale, as
// syncScale keeps it).
func poolsInEffect(pools []v1alpha1.MachinePool, scale []v1alpha1.PoolScale) []v1alpha1.MachinePool {
	out := slices.Clone(pools)
	for i := range out {
		if j := slices.IndexFunc(scale, func(s v1alpha1.PoolScale) bool { return s.Pool == out[i].Name }); j >= 0 {
			out[i].Count = scale[j].Count
		}
	}
	return out
}

// room is an amount of the resources the scheduler counts: milli-CPUs, bytes of memory, pods.
type room struct{ cpu, mem, pods int64 }

func (r room) plus(o room) room  { return room{r.cpu + o.cpu, r.mem + o.mem, r.pods + o.pods} }
func (r room) minus(o room) room { return room{r.cpu - o.cpu, r.mem - o.mem, r.pods - o.pods} }
func (r room) holds(o room) bool { return o.cpu <= r.cpu && o.mem <= r.mem && o.pods <= r.pods }

// allocatable is a node's allocatable room.
func allocatable(n *corev1.Node) room {
	a := n.Status.Allocatable
	return room{a.Cpu().MilliValue(), a.Memory().Value(), a.Pods().Value()}
}

// requests is what a pod asks the scheduler for: its containers' requests, or its init
// containers' largest where larger, plus its overhead, and one pod.
func requests(pod *corev1.Pod) room {
	var r room
	for _, c := range pod.Spec.Containers {
		r.cpu += c.Resources.Requests.Cpu().MilliValue()
		r.mem += c.Resources.Requests.Memory().Value()
	}
	for _, c := range pod.Spec.InitContainers {
		r.cpu = max(r.cpu, c.Resources.Requests.Cpu().MilliValue())
		r.mem = max(r.mem, c.Resources.Requests.Memory().Value())
	}
	r.cpu += pod.Spec.Overhead.Cpu().MilliValue()
	r.mem += pod.Spec.Overhead.Memory().Value()
	r.pods = 1
	return r
}

// bin is a node in the scheduling simulation: its labels and taints, and the room left.
type bin struct {
	name   string
	labels map[string]string
	taints []corev1.Taint
	free   room
	// unknown: a new node of a pool whose node size is not known yet (it has no node), which
	// takes any pod its labels and taints let in.
	unknown bool
}

// admits reports whether the bin's labels and taints let the pod in: its node selector
// matches and it tolerates every NoSchedule and NoExecute taint. Node affinity is not
// simulated.
func (b *bin) admits(pod *corev1.Pod) bool {
	for k, v := range pod.Spec.NodeSelector {
		if b.labels[k] != v {
			return false
		}
	}
	for i := range b.taints {
		t := &b.taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !slices.ContainsFunc(pod.Spec.Tolerations, func(tol corev1.Toleration) bool { return tol.ToleratesTaint(logr.Discard(), t, false) }) {
			return false
		}
	}
	return true
}

// takes reports whether the bin admits the pod and has room for it.
func (b *bin) takes(pod *corev1.Pod) bool {
	return b.admits(pod) && (b.unknown || b.free.holds(requests(pod)))
}

// place puts the pod on the first bin that admits and holds it, and reports whether one did.
func place(pod *corev1.Pod, bins []*bin) bool {
	r := requests(pod)
	for _, b := range bins {
		if b.takes(pod) {
			b.free = b.free.minus(r)
			return true
		}
	}
	return false
}

// scaleInput is what a pass read that the autoscaler decides on.
type scaleInput struct {
	// pools are the pools in effect (poolsInEffect), slots their slots (slotsOf).
	pools []v1alpha1.MachinePool
	slots []*slotState
	// scale are the autoscaler's entries (syncScale).
	scale []v1alpha1.PoolScale
	// nodes are the Nodes by name, pods every pod of the cluster.
	nodes map[string]nodeInfo
	pods  []corev1.Pod
	now   time.Time
}

// scaleDecision is what decideScale decided: the entries to write, the events to record and
// the nodes whose drain starts (they are in their entry's Draining).
type scaleDecision struct {
	scale  []v1alpha1.PoolScale
	events []string
}

// decideScale decides the autoscaler's step of a pass: the pools that grow, or, when none
// does, the pools whose last node has been unneeded long enough to be drained. A pool that is
// draining a node is left as it is (autoscale.go ends the drain).
func decideScale(in scaleInput) scaleDecision {
	d := scaleDecision{scale: slices.Clone(in.scale)}
	waiting := unschedulable(in.pods)
	running := runningBins(in.nodes, in.pods, "")
	slices.SortStableFunc(waiting, func(a, b *corev1.Pod) int { return compareRoom(requests(b), requests(a)) })
	// The pods that fit in the room left are not a reason to grow (the scheduler places them
	// next), but they are one not to shrink.
	pending := slices.DeleteFunc(slices.Clone(waiting), func(pod *corev1.Pod) bool { return place(pod, running) })
	grew := false
	for i := range d.scale {
		e := &d.scale[i]
		mp := poolNamed(in.pools, e.Pool)
		if mp == nil || e.Draining != "" {
			continue
		}
		var added int
		added, pending = growPool(mp, in.slots, in.nodes, pending)
		if added > 0 {
			grew = true
			_, hi := mp.Bounds()
			d.events = append(d.events, fmt.Sprintf("pool %s: %d → %d machines: pods could not be scheduled for lack of room on the nodes (max %d)", mp.Name, e.Count, e.Count+added, hi))
			e.Count += added
			e.UnneededSince, e.Reason = nil, "scaled up for unschedulable pods"
		}
	}
	if grew {
		return d
	}
	for i := range d.scale {
		e := &d.scale[i]
		mp := poolNamed(in.pools, e.Pool)
		if mp == nil || e.Draining != "" {
			continue
		}
		if msg, ok := shrinkPool(mp, e, in, waiting); ok {
			d.events = append(d.events, msg)
		}
	}
	return d
}

// growPool packs the pending pods the pool's nodes would admit onto its machines being made,
// then onto new machines shaped like its nodes, up to its max. It returns how many machines
// to add and the pods left pending.
func growPool(mp *v1alpha1.MachinePool, slots []*slotState, nodes map[string]nodeInfo, pending []*corev1.Pod) (int, []*corev1.Pod) {
	_, hi := mp.Bounds()
	shape := poolShape(mp, slots, nodes)
	var bins []*bin
	for _, s := range slots {
		if s.pool != mp.Name {
			continue
		}
		if n, ok := nodes[s.names[s.current]]; !ok || !n.ready {
			b := *shape // a machine being made: an empty node of the pool
			bins = append(bins, &b)
		}
	}
	added := 0
	var left []*corev1.Pod
	for _, pod := range pending {
		if place(pod, bins) {
			continue
		}
		b := *shape
		if mp.Count+added < hi && place(pod, []*bin{&b}) {
			bins = append(bins, &b)
			added++
			continue
		}
		left = append(left, pod)
	}
	return added, left
}

// poolShape is an empty node of the pool: like one of its Ready nodes (labels, taints,
// allocatable), else, when it has none, with the pool's labels and taints and an unknown size.
func poolShape(mp *v1alpha1.MachinePool, slots []*slotState, nodes map[string]nodeInfo) *bin {
	for _, s := range slots {
		if n, ok := nodes[s.names[s.current]]; ok && s.pool == mp.Name && n.ready && n.node != nil {
			return &bin{labels: n.node.Labels, taints: schedulingTaints(n.node.Spec.Taints), free: allocatable(n.node)}
		}
	}
	b := &bin{labels: map[string]string{corev1.LabelOSStable: "linux"}, unknown: true}
	for k, v := range mp.Labels {
		b.labels[k] = v
	}
	for _, t := range mp.Taints {
		b.taints = append(b.taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	return b
}

// schedulingTaints are a node's taints less those its state puts there (not ready,
// unschedulable), which a new node of its pool would not have.
func schedulingTaints(taints []corev1.Taint) []corev1.Taint {
	return slices.DeleteFunc(slices.Clone(taints), func(t corev1.Taint) bool {
		return strings.HasPrefix(t.Key, "node.kubernetes.io/")
	})
}

// shrinkPool looks at the pool's last node: unneeded, its entry's UnneededSince is kept (or
// set now); unneeded for the pool's scaleDownAfter, its drain starts (Draining) and a message
// says so; else UnneededSince is cleared. Unschedulable pods that a node of the pool would
// admit and hold keep it as it is.
func shrinkPool(mp *v1alpha1.MachinePool, e *v1alpha1.PoolScale, in scaleInput, pending []*corev1.Pod) (string, bool) {
	lo, _ := mp.Bounds()
	name := lastNode(mp.Name, in.slots)
	why := ""
	switch n, ok := in.nodes[name]; {
	case e.Count <= lo:
		why = "at min"
	case !ok || !n.ready || n.node == nil:
		why = "its last node is not Ready"
	case slices.ContainsFunc(pending, (&bin{labels: n.node.Labels, taints: schedulingTaints(n.node.Spec.Taints), free: allocatable(n.node)}).takes):
		why = "pods that a node of the pool could take are pending"
	default:
		why = unneededWhyNot(n.node, in)
	}
	if why != "" {
		e.UnneededSince = nil
		return "", false
	}
	if e.UnneededSince == nil {
		now := in.now
		e.UnneededSince = &now
	}
	if in.now.Sub(*e.UnneededSince) < mp.ScaleDown() {
		return "", false
	}
	e.Draining, e.Reason = name, "scaling down: node "+name+" unneeded"
	return fmt.Sprintf("pool %s: node %s unneeded for %s (its pods fit on the other nodes): draining it, then %d → %d machines (min %d)",
		mp.Name, name, mp.ScaleDown(), e.Count, e.Count-1, lo), true
}

// unneededWhyNot says why a node is needed, "" when it is not: scale-down disabled on it,
// its pods request half its room or more, one of them cannot move (no controller, or marked
// not safe to evict), or they do not fit on the other nodes.
func unneededWhyNot(node *corev1.Node, in scaleInput) string {
	if node.Annotations[scaleDownDisabledAnnotation] == "true" {
		return "scale-down disabled"
	}
	var used room
	var movable []*corev1.Pod
	for i := range in.pods {
		pod := &in.pods[i]
		if pod.Spec.NodeName != node.Name || finished(pod) || !evictable(pod) {
			continue
		}
		if controllerKind(pod) == "" || pod.Annotations[safeToEvictAnnotation] == "false" {
			return "pod " + pod.Namespace + "/" + pod.Name + " cannot move"
		}
		used = used.plus(requests(pod))
		movable = append(movable, pod)
	}
	alloc := allocatable(node)
	if float64(used.cpu) >= scaleDownUtilization*float64(alloc.cpu) || float64(used.mem) >= scaleDownUtilization*float64(alloc.mem) {
		return "utilization at or above half"
	}
	others := runningBins(in.nodes, in.pods, node.Name)
	for _, pod := range movable {
		if !place(pod, others) {
			return "pod " + pod.Namespace + "/" + pod.Name + " fits on no other node"
		}
	}
	return ""
}

// controllerKind is the kind of the controller that owns the pod, "" for none.
func controllerKind(pod *corev1.Pod) string {
	for _, o := range pod.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.Kind
		}
	}
	return ""
}

// lastNode is the node name of the pool's last slot, "" when it has none or its machine
// is not made.
func lastNode(pool string, slots []*slotState) string {
	var last *slotState
	for _, s := range slots {
		if s.pool == pool {
			last = s
		}
	}
	if last == nil || last.current < 0 {
		return ""
	}
	return last.names[last.current]
}

// runningBins are the Ready, schedulable nodes but skip, with the room their running pods
// leave.
func runningBins(nodes map[string]nodeInfo, pods []corev1.Pod, skip string) []*bin {
	byName := map[string]*bin{}
	var out []*bin
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[name]
		if name == skip || !n.ready || n.node == nil || n.node.Spec.Unschedulable {
			continue
		}
		b := &bin{name: name, labels: n.node.Labels, taints: n.node.Spec.Taints, free: allocatable(n.node)}
		byName[name] = b
		out = append(out, b)
	}
	for i := range pods {
		if b := byName[pods[i].Spec.NodeName]; b != nil && !finished(&pods[i]) {
			b.free = b.free.minus(requests(&pods[i]))
		}
	}
	return out
}

// unschedulable are the pods the scheduler could not place: no node, PodScheduled False with
// reason Unschedulable.
func unschedulable(pods []corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range pods {
		pod := &pods[i]
		if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil || finished(pod) {
			continue
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				out = append(out, pod)
			}
		}
	}
	return out
}

// finished reports whether a pod has ended (it holds no room).
func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// compareRoom orders rooms by CPU, then memory.
func compareRoom(a, b room) int {
	if a.cpu != b.cpu {
		return int(a.cpu - b.cpu)
	}
	switch {
	case a.mem < b.mem:
		return -1
	case a.mem > b.mem:
		return 1
	}
	return 0
}

// poolNamed is the pool of that name, nil for none.
func poolNamed(pools []v1alpha1.MachinePool, name string) *v1alpha1.MachinePool {
	for i := range pools {
		if pools[i].Name == name {
			return &pools[i]
		}
	}
	return nil
}
