package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

// scalePools are a control plane of 1 and a worker pool of count with min 1 and max 4, whose
// nodes are unneeded after 10m.
func scalePools(count int) []v1alpha1.MachinePool {
	return []v1alpha1.MachinePool{
		{Name: "control-plane", ControlPlane: true, Count: 1},
		{Name: "workers", Count: count, Min: new(1), Max: new(4)},
	}
}

// testNode is a Ready node of 2 CPUs and 8 GiB, 110 pods.
func testNode(name string, ready bool) nodeInfo {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: "linux", corev1.LabelHostname: name}}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	if name == "c-control-plane-0" {
		n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	}
	return nodeInfo{name: name, ready: ready, node: n}
}

// testPod is a pod of a ReplicaSet requesting cpu milli-CPUs on node ("" pending, Unschedulable).
func testPod(name string, cpu int64, node string) corev1.Pod {
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: new(true)}}}}
	pod.Spec.NodeName = node
	pod.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
	if node == "" {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	} else {
		pod.Status.Phase = corev1.PodRunning
	}
	return pod
}

func pods(n int, cpu int64, node string) []corev1.Pod {
	var out []corev1.Pod
	for i := range n {
		out = append(out, testPod(fmt.Sprintf("p-%s-%d", node, i), cpu, node))
	}
	return out
}

// scaleCase builds the input of a cluster whose workers have count machines, the first
// ready of them Ready.
func scaleCase(count, ready int, entry v1alpha1.PoolScale, podList []corev1.Pod, now time.Time) scaleInput {
	pools := scalePools(count)
	items := fleet(pools)
	st := v1alpha1.ClusterStatus{Inventory: items, MachineTemplate: "old"}
	nodes := map[string]nodeInfo{"c-control-plane-0": testNode("c-control-plane-0", true)}
	for i := range ready {
		name := "c-" + plan.Slot("workers", i)
		nodes[name] = testNode(name, true)
	}
	if entry.Pool == "" {
		entry = v1alpha1.PoolScale{Pool: "workers", Count: count, SpecCount: 1}
	}
	return scaleInput{pools: pools, slots: slotsOf(pools, &st), scale: []v1alpha1.PoolScale{entry}, nodes: nodes, pods: podList, now: now}
}

func TestDecideScale(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	since := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	join := func(lists ...[]corev1.Pod) []corev1.Pod {
		var out []corev1.Pod
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	tests := []struct {
		name  string
		in    scaleInput
		count int
		// draining is the node whose drain starts, "" none; unneeded: UnneededSince set.
		draining string
		unneeded bool
		event    string
	}{
		{"20 pending pods of 300m need 3 more nodes of 2 CPUs (6 each, 2 fit on the first)",
			scaleCase(1, 1, v1alpha1.PoolScale{}, join(pods(4, 300, "c-workers-0"), pods(20, 300, "")), now),
			4, "", false, "pool workers: 1 → 4 machines"},
		{"more pods than max allows: up to max only",
			scaleCase(1, 1, v1alpha1.PoolScale{}, pods(40, 300, ""), now),
			4, "", false, "1 → 4"},
		{"pending pods that fit in the room left are not a reason to grow",
			scaleCase(1, 1, v1alpha1.PoolScale{}, pods(3, 300, ""), now),
			1, "", false, ""},
		{"a pod larger than a node does not grow the pool",
			scaleCase(1, 1, v1alpha1.PoolScale{}, pods(1, 3000, ""), now),
			1, "", false, ""},
		{"a machine being made takes the pending pods it can hold",
			scaleCase(2, 1, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1}, join(pods(6, 300, "c-workers-0"), pods(6, 300, "")), now),
			2, "", false, ""},
		{"a pod that tolerates nothing does not go to the control plane, and a pod selecting another OS nowhere",
			scaleCase(1, 1, v1alpha1.PoolScale{}, withSelector(pods(1, 300, ""), corev1.LabelOSStable, "windows"), now),
			1, "", false, ""},
		{"an empty last node becomes unneeded",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1}, pods(2, 300, "c-workers-0"), now),
			2, "", true, ""},
		{"unneeded for scaleDownAfter: its drain starts",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(10 * time.Minute)}, join(pods(2, 300, "c-workers-0"), pods(2, 300, "c-workers-1")), now),
			2, "c-workers-1", true, "node c-workers-1 unneeded for 10m0s"},
		{"not yet scaleDownAfter: it waits",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(9 * time.Minute)}, nil, now),
			2, "", true, ""},
		{"half its CPU requested: needed, the timer stops",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(9 * time.Minute)}, pods(1, 1000, "c-workers-1"), now),
			2, "", false, ""},
		{"its pods fit nowhere else: needed",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(time.Hour)}, join(pods(6, 300, "c-workers-0"), pods(2, 300, "c-workers-1")), now),
			2, "", false, ""},
		{"a pod without a controller cannot move: needed",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(time.Hour)}, bare(pods(1, 100, "c-workers-1")), now),
			2, "", false, ""},
		{"a pending pod the pool could take keeps its last node",
			scaleCase(4, 4, v1alpha1.PoolScale{Pool: "workers", Count: 4, SpecCount: 1, UnneededSince: since(time.Hour)}, join(pods(6, 300, "c-workers-0"), pods(6, 300, "c-workers-1"), pods(6, 300, "c-workers-2"), pods(1, 300, "")), now),
			4, "", false, ""},
		{"a pending pod larger than any node does not keep it",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(time.Hour)}, pods(1, 3000, ""), now),
			2, "c-workers-1", true, "node c-workers-1 unneeded"},
		{"at min: never below",
			scaleCase(1, 1, v1alpha1.PoolScale{Pool: "workers", Count: 1, SpecCount: 1, UnneededSince: since(time.Hour)}, nil, now),
			1, "", false, ""},
		{"a drain under way is left to endDrains",
			scaleCase(2, 2, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, Draining: "c-workers-1"}, pods(20, 300, ""), now),
			2, "c-workers-1", false, ""},
		{"its last node not Ready yet: not unneeded",
			scaleCase(2, 1, v1alpha1.PoolScale{Pool: "workers", Count: 2, SpecCount: 1, UnneededSince: since(time.Hour)}, nil, now),
			2, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideScale(tt.in)
			e := d.scale[0]
			if e.Count != tt.count || e.Draining != tt.draining || (e.UnneededSince != nil) != tt.unneeded {
				t.Errorf("count %d draining %q unneeded %v, want %d %q %v", e.Count, e.Draining, e.UnneededSince != nil, tt.count, tt.draining, tt.unneeded)
			}
			got := strings.Join(d.events, "\n")
			if (tt.event == "") != (got == "") || !strings.Contains(got, tt.event) {
				t.Errorf("events %q, want one with %q", got, tt.event)
			}
			if e.Count != tt.in.scale[0].Count && tt.in.scale[0].Draining == "" && e.UnneededSince != nil {
				t.Error("a pool that grew keeps an unneeded time")
			}
		})
	}
}

func withSelector(list []corev1.Pod, k, v string) []corev1.Pod {
	for i := range list {
		list[i].Spec.NodeSelector = map[string]string{k: v}
	}
	return list
}

func bare(list []corev1.Pod) []corev1.Pod {
	for i := range list {
		list[i].OwnerReferences = nil
	}
	return list
}

func TestSyncScale(t *testing.T) {
	pools := func(count, lo, hi int) []v1alpha1.MachinePool {
		return []v1alpha1.MachinePool{{Name: "cp", ControlPlane: true, Count: 1}, {Name: "w", Count: count, Min: new(lo), Max: new(hi)}, {Name: "fixed", Count: 2}}
	}
	tests := []struct {
		name  string
		pools []v1alpha1.MachinePool
		scale []v1alpha1.PoolScale
		want  []v1alpha1.PoolScale
	}{
		{"a new autoscaled pool starts at its count", pools(2, 1, 5), nil, []v1alpha1.PoolScale{{Pool: "w", Count: 2, SpecCount: 2}}},
		{"the autoscaler's count stays", pools(2, 1, 5), []v1alpha1.PoolScale{{Pool: "w", Count: 4, SpecCount: 2}}, []v1alpha1.PoolScale{{Pool: "w", Count: 4, SpecCount: 2}}},
		{"a new count in the spec sets it again", pools(3, 1, 5), []v1alpha1.PoolScale{{Pool: "w", Count: 5, SpecCount: 2, Draining: "x"}}, []v1alpha1.PoolScale{{Pool: "w", Count: 3, SpecCount: 3}}},
		{"a lower max clamps it", pools(2, 1, 3), []v1alpha1.PoolScale{{Pool: "w", Count: 5, SpecCount: 2}}, []v1alpha1.PoolScale{{Pool: "w", Count: 3, SpecCount: 2}}},
		{"a higher min clamps it", pools(2, 2, 5), []v1alpha1.PoolScale{{Pool: "w", Count: 1, SpecCount: 2}}, []v1alpha1.PoolScale{{Pool: "w", Count: 2, SpecCount: 2}}},
		{"a pool that no longer autoscales leaves", pools(2, 2, 2), []v1alpha1.PoolScale{{Pool: "w", Count: 4, SpecCount: 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specCount := tt.pools[1].Count
			got := syncScale(tt.pools, tt.scale)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			eff := poolsInEffect(tt.pools, got)
			if len(got) > 0 && eff[1].Count != got[0].Count {
				t.Errorf("pool in effect has count %d, want %d", eff[1].Count, got[0].Count)
			}
			if tt.pools[1].Count != specCount {
				t.Errorf("poolsInEffect changed the spec's count to %d", tt.pools[1].Count)
			}
		})
	}
}

func TestScaleRequeue(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	pools := []v1alpha1.MachinePool{{Name: "w", Count: 1, Min: new(1), Max: new(3), ScaleDownAfter: "5m"}}
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		name  string
		scale []v1alpha1.PoolScale
		want  time.Duration
	}{
		{"no autoscaled pool", nil, 0},
		{"watching for pending pods", []v1alpha1.PoolScale{{Pool: "w", Count: 1}}, 30 * time.Second},
		{"draining", []v1alpha1.PoolScale{{Pool: "w", Count: 2, Draining: "n"}}, 2 * time.Second},
		{"unneeded, due in 10s", []v1alpha1.PoolScale{{Pool: "w", Count: 2, UnneededSince: at(4*time.Minute + 50*time.Second)}}, 10 * time.Second},
		{"unneeded and overdue", []v1alpha1.PoolScale{{Pool: "w", Count: 2, UnneededSince: at(time.Hour)}}, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := scaleRequeue(tt.scale, pools, 2*time.Second, 30*time.Second, now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
