package nodesim

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ShutdownTaintKey is the taint the Node of a stopped machine with Shutdown carries, as
	// Azure's cloud controller manager sets it for a stopped VM.
	ShutdownTaintKey = "node.cloudprovider.kubernetes.io/shutdown"
	// SimulatedAnnotation marks the Nodes a Simulator created or adopted. A Simulator treats
	// such a Node that is absent from SetNodes as a machine that is gone (after a restart of
	// the emulator, say) and deletes it after the grace period.
	SimulatedAnnotation = "emulator.strata.dev/simulated-node"

	// maxPods is the pods capacity of every node, the kubelet's default.
	maxPods = 110
	// ephemeralStorage is the ephemeral-storage capacity of every node.
	ephemeralStorage = "100Gi"

	reasonUnknown  = "NodeStatusUnknown"
	messageUnknown = "Kubelet stopped posting node status."
)

// shutdownTaint is the taint of a stopped machine's Node.
var shutdownTaint = corev1.Taint{Key: ShutdownTaintKey, Effect: corev1.TaintEffectNoSchedule}

// newNodeObject returns the Node to create for n, with its status as a running machine's.
func newNodeObject(n Node, podCIDR netip.Prefix, now metav1.Time) *corev1.Node {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.Name,
			Labels:      mergeLabels(nil, n.Labels, nil),
			Annotations: map[string]string{SimulatedAnnotation: "true"},
		},
		Spec: corev1.NodeSpec{
			ProviderID: n.ProviderID,
			PodCIDR:    podCIDR.String(),
			PodCIDRs:   []string{podCIDR.String()},
			Taints:     mergeTaints(nil, n.Taints, nil),
		},
	}
	node.Status = nodeStatus(node.Status, n, true, now, true)
	return node
}

// nodeStatus returns cur as it should be for machine n. A running machine's Node is Ready
// with its addresses, capacity and node info; the conditions' lastHeartbeatTime becomes now
// where a condition changes, or everywhere with heartbeat. A machine that is not running has
// its Ready and pressure conditions Unknown, as the node lifecycle controller sets them, and
// keeps the rest.
func nodeStatus(cur corev1.NodeStatus, n Node, running bool, now metav1.Time, heartbeat bool) corev1.NodeStatus {
	st := *cur.DeepCopy()
	if !running {
		for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady} {
			st.Conditions = setNodeCondition(st.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: reasonUnknown, Message: messageUnknown,
			}, now, false)
		}
		return st
	}
	for _, c := range runningConditions() {
		st.Conditions = setNodeCondition(st.Conditions, c, now, heartbeat)
	}
	st.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: n.InternalIP},
		{Type: corev1.NodeHostName, Address: n.Name},
	}
	st.Capacity = nodeResources(n)
	st.Allocatable = nodeResources(n)
	st.DaemonEndpoints.KubeletEndpoint.Port = 10250
	st.NodeInfo.KubeletVersion = n.KubeletVersion
	//lint:ignore SA1019 deprecated and no longer set by kubelets, but tools still read it
	st.NodeInfo.KubeProxyVersion = n.KubeletVersion
	st.NodeInfo.OperatingSystem = "linux"
	st.NodeInfo.Architecture = "amd64"
	st.NodeInfo.OSImage = "Ubuntu 24.04 LTS (emulated)"
	st.NodeInfo.KernelVersion = "6.8.0-emulated"
	st.NodeInfo.ContainerRuntimeVersion = "containerd://emulated"
	return st
}

// runningConditions are a healthy kubelet's node conditions.
func runningConditions() []corev1.NodeCondition {
	return []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
		{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "RouteCreated", Message: "RouteController created a route"},
	}
}

// setNodeCondition sets c in conds, in place of the condition of its type. The transition
// time stays unless the status changes; the heartbeat time becomes now when the condition is
// new or changes, or with heartbeat (and is otherwise kept).
func setNodeCondition(conds []corev1.NodeCondition, c corev1.NodeCondition, now metav1.Time, heartbeat bool) []corev1.NodeCondition {
	i := slices.IndexFunc(conds, func(o corev1.NodeCondition) bool { return o.Type == c.Type })
	if i < 0 {
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		return append(conds, c)
	}
	old := conds[i]
	c.LastHeartbeatTime, c.LastTransitionTime = old.LastHeartbeatTime, old.LastTransitionTime
	if old.Status != c.Status {
		c.LastTransitionTime = now
	}
	changed := old.Status != c.Status || old.Reason != c.Reason || old.Message != c.Message
	if heartbeat || (changed && c.Status != corev1.ConditionUnknown) {
		c.LastHeartbeatTime = now
	}
	conds[i] = c
	return conds
}

// nodeResources is n's capacity (and allocatable).
func nodeResources(n Node) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(n.CPU, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(n.MemoryMiB<<20, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(maxPods, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse(ephemeralStorage),
	}
}

// mergeLabels returns cur with want set over it, less the keys of owned (the labels the
// simulator set before) that want no longer has. Labels others set stay.
func mergeLabels(cur, want map[string]string, owned []string) map[string]string {
	out := make(map[string]string, len(cur)+len(want))
	for k, v := range cur {
		if _, drop := want[k]; !drop && slices.Contains(owned, k) {
			continue
		}
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

// mergeTaints returns cur with the taints of want set over it (a taint is its key and
// effect), less the taints of owned (the ones the simulator set before) that want no longer
// has, and less the shutdown taint unless want has it. Taints others set stay, in order.
func mergeTaints(cur, want, owned []corev1.Taint) []corev1.Taint {
	out := []corev1.Taint{}
	for _, t := range cur {
		w := slices.IndexFunc(want, func(o corev1.Taint) bool { return sameTaint(o, t) })
		switch {
		case w >= 0 && want[w].Value == t.Value:
			out = append(out, t) // keeps its timeAdded
		case w >= 0:
			out = append(out, want[w])
		case sameTaint(t, shutdownTaint) || slices.ContainsFunc(owned, func(o corev1.Taint) bool { return sameTaint(o, t) }):
		default:
			out = append(out, t)
		}
	}
	for _, t := range want {
		if !slices.ContainsFunc(out, func(o corev1.Taint) bool { return sameTaint(o, t) }) {
			out = append(out, t)
		}
	}
	return out
}

// sameTaint tells whether a and b are the same taint: same key and effect.
func sameTaint(a, b corev1.Taint) bool {
	return a.Key == b.Key && a.Effect == b.Effect
}
