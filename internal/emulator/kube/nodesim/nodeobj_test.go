package nodesim

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testNode(name string) Node {
	return Node{
		Name:           name,
		Labels:         map[string]string{"kubernetes.io/hostname": name, "kubernetes.azure.com/agentpool": "pool1"},
		Taints:         []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}},
		ProviderID:     "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + name,
		InternalIP:     "10.1.0.4",
		CPU:            4,
		MemoryMiB:      16384,
		KubeletVersion: "v1.37.2",
		Running:        true,
	}
}

func TestNewNodeObject(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	n := testNode("vm-1")
	got := newNodeObject(n, netip.MustParsePrefix("10.244.7.0/24"), now)

	if got.Name != "vm-1" || got.Labels["kubernetes.azure.com/agentpool"] != "pool1" || got.Annotations[SimulatedAnnotation] != "true" {
		t.Errorf("meta = %+v", got.ObjectMeta)
	}
	if got.Spec.ProviderID != n.ProviderID || got.Spec.PodCIDR != "10.244.7.0/24" || len(got.Spec.PodCIDRs) != 1 {
		t.Errorf("spec = %+v", got.Spec)
	}
	if len(got.Spec.Taints) != 1 || got.Spec.Taints[0] != n.Taints[0] {
		t.Errorf("taints = %v", got.Spec.Taints)
	}
	n.Labels["mutated"] = "after"
	if _, ok := got.Labels["mutated"]; ok {
		t.Error("the Node shares its labels map with the machine")
	}
	st := got.Status
	wantConds := map[corev1.NodeConditionType]corev1.ConditionStatus{
		corev1.NodeReady: corev1.ConditionTrue, corev1.NodeMemoryPressure: corev1.ConditionFalse,
		corev1.NodeDiskPressure: corev1.ConditionFalse, corev1.NodePIDPressure: corev1.ConditionFalse,
		corev1.NodeNetworkUnavailable: corev1.ConditionFalse,
	}
	if len(st.Conditions) != len(wantConds) {
		t.Errorf("conditions = %v", st.Conditions)
	}
	for _, c := range st.Conditions {
		if wantConds[c.Type] != c.Status || !c.LastHeartbeatTime.Equal(&now) || !c.LastTransitionTime.Equal(&now) {
			t.Errorf("condition %s = %+v", c.Type, c)
		}
		if c.Type == corev1.NodeReady && c.Reason != "KubeletReady" {
			t.Errorf("Ready reason = %q", c.Reason)
		}
	}
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.0.4"}, {Type: corev1.NodeHostName, Address: "vm-1"}}
	if !equality.Semantic.DeepEqual(st.Addresses, wantAddrs) {
		t.Errorf("addresses = %v", st.Addresses)
	}
	for _, list := range []corev1.ResourceList{st.Capacity, st.Allocatable} {
		for res, want := range map[corev1.ResourceName]string{"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"} {
			if q := list[res]; q.Cmp(resource.MustParse(want)) != 0 {
				t.Errorf("%s = %s; want %s", res, q.String(), want)
			}
		}
	}
	info := st.NodeInfo
	if info.KubeletVersion != "v1.37.2" || info.OperatingSystem != "linux" || info.Architecture != "amd64" ||
		info.OSImage != "Ubuntu 24.04 LTS (emulated)" || info.ContainerRuntimeVersion != "containerd://emulated" {
		t.Errorf("nodeInfo = %+v", info)
	}
}

func TestNodeStatusTransitions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	n := testNode("vm-1")
	ready := nodeStatus(corev1.NodeStatus{}, n, true, t0, true)

	for _, tc := range []struct {
		name                   string
		running, heartbeat     bool
		wantReady              corev1.ConditionStatus
		wantHeartbeat, wantTTr metav1.Time
	}{
		{"unchanged, no heartbeat", true, false, corev1.ConditionTrue, t0, t0},
		{"heartbeat", true, true, corev1.ConditionTrue, t1, t0},
		{"stopped", false, false, corev1.ConditionUnknown, t0, t1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nodeStatus(ready, n, tc.running, t1, tc.heartbeat)
			c := condition(t, got, corev1.NodeReady)
			if c.Status != tc.wantReady || !c.LastHeartbeatTime.Equal(&tc.wantHeartbeat) || !c.LastTransitionTime.Equal(&tc.wantTTr) {
				t.Errorf("Ready = %+v; want %s, heartbeat %v, transition %v", c, tc.wantReady, tc.wantHeartbeat, tc.wantTTr)
			}
			if !tc.running && (c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status.") {
				t.Errorf("Ready = %+v", c)
			}
			if !tc.running && condition(t, got, corev1.NodeNetworkUnavailable).Status != corev1.ConditionFalse {
				t.Error("a stopped node's NetworkUnavailable changed")
			}
			if !tc.running && !tc.heartbeat && !equality.Semantic.DeepEqual(nodeStatus(ready, n, true, t1, false), ready) {
				t.Error("computing a running node's unchanged status again changed it")
			}
		})
	}
	// Back to running from Unknown: Ready again, with a new heartbeat and transition.
	stopped := nodeStatus(ready, n, false, t1, false)
	t2 := metav1.NewTime(t1.Add(time.Minute))
	c := condition(t, nodeStatus(stopped, n, true, t2, false), corev1.NodeReady)
	if c.Status != corev1.ConditionTrue || c.Reason != "KubeletReady" || !c.LastHeartbeatTime.Equal(&t2) || !c.LastTransitionTime.Equal(&t2) {
		t.Errorf("Ready after restart = %+v", c)
	}
}

func condition(t *testing.T, st corev1.NodeStatus, typ corev1.NodeConditionType) corev1.NodeCondition {
	t.Helper()
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s condition in %v", typ, st.Conditions)
	return corev1.NodeCondition{}
}

func TestMergeLabels(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cur, want, wout map[string]string
		owned           []string
	}{
		{"create", nil, map[string]string{"a": "1"}, map[string]string{"a": "1"}, nil},
		{"others' labels stay", map[string]string{"a": "1", "x": "y"}, map[string]string{"a": "2"}, map[string]string{"a": "2", "x": "y"}, []string{"a"}},
		{"ours dropped", map[string]string{"a": "1", "b": "2", "x": "y"}, map[string]string{"a": "1"}, map[string]string{"a": "1", "x": "y"}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeLabels(tc.cur, tc.want, tc.owned); !equality.Semantic.DeepEqual(got, tc.wout) {
				t.Errorf("mergeLabels = %v; want %v", got, tc.wout)
			}
		})
	}
}

func TestMergeTaints(t *testing.T) {
	added := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ours := corev1.Taint{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}
	oursV2 := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	old := corev1.Taint{Key: "old", Effect: corev1.TaintEffectNoSchedule}
	unreachable := corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	for _, tc := range []struct {
		name                  string
		cur, want, owned, out []corev1.Taint
	}{
		{"create", nil, []corev1.Taint{ours}, nil, []corev1.Taint{ours}},
		{"others' stay", []corev1.Taint{unreachable}, []corev1.Taint{ours}, nil, []corev1.Taint{unreachable, ours}},
		{"value changes in place", []corev1.Taint{ours, unreachable}, []corev1.Taint{oursV2}, []corev1.Taint{ours}, []corev1.Taint{oursV2, unreachable}},
		{"ours dropped", []corev1.Taint{old, unreachable, ours}, []corev1.Taint{ours}, []corev1.Taint{ours, old}, []corev1.Taint{unreachable, ours}},
		{"shutdown added", []corev1.Taint{ours}, []corev1.Taint{ours, shutdownTaint}, []corev1.Taint{ours}, []corev1.Taint{ours, shutdownTaint}},
		{"shutdown removed", []corev1.Taint{ours, shutdownTaint}, []corev1.Taint{ours}, nil, []corev1.Taint{ours}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeTaints(tc.cur, tc.want, tc.owned); !equality.Semantic.DeepEqual(got, tc.out) {
				t.Errorf("mergeTaints = %v; want %v", got, tc.out)
			}
		})
	}
}
