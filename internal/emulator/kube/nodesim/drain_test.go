package nodesim_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// drainGate is the readiness gate of the drained Deployment's pods: the test holds it to keep
// a replacement pod from being Ready, and otherwise opens it as soon as a pod runs.
const drainGate = "example.com/drain-test"

// TestDrain drains one simulated node of three as strata's rolling replacement does, with the
// real controller manager and scheduler: a Deployment of 6 replicas with a PodDisruptionBudget
// of minAvailable 5. It checks that the cordoned node gets no new pod, that an eviction
// finishes the pod's graceful deletion (nodesim plays the kubelet), that the replacement runs
// on another node and becomes Ready, that an eviction that would break the budget answers 429
// until the replacement is Ready, that the available replicas never go below 5, and that every
// pod ends Running and Ready on the other nodes.
func TestDrain(t *testing.T) {
	cfg := kubetest.StartWithControllers(t)
	sim, client, _ := startSim(t, cfg, nil)
	ctx := t.Context()
	sim.SetNodes([]nodesim.Node{machine("vm-1", "10.1.0.4"), machine("vm-2", "10.1.0.5"), machine("vm-3", "10.1.0.6")})
	waitReady(t, client, "vm-1", "vm-2", "vm-3")

	const ns = "drain"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gates := &gateKeeper{}
	go gates.run(ctx, client, ns)
	dep, err := client.AppsV1().Deployments(ns).Create(ctx, gatedDeployment(6), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: new(intstr.FromInt32(5)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
	if _, err := client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "6 available replicas", func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		if err == nil {
			dep = d
		}
		return err == nil && d.Status.AvailableReplicas == 6, err
	})
	waitFor(t, "the budget to allow one disruption", func() (bool, error) {
		p, err := client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && p.Status.ObservedGeneration == p.Generation && p.Status.CurrentHealthy == 6 && p.Status.DisruptionsAllowed == 1, err
	})

	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podEvents := record(t)(client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: pods.ResourceVersion}))
	depEvents := record(t)(client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + dep.Name, ResourceVersion: dep.ResourceVersion}))

	// The node with the most pods (2 or more of 6 on 3 nodes) is drained: cordoned, then its
	// pods evicted one by one.
	drained := busiestNode(pods.Items)
	if _, err := client.CoreV1().Nodes().Patch(ctx, drained, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	victims := onNode(pods.Items, drained)
	if len(victims) < 2 {
		t.Fatalf("%d pods on the busiest node %s", len(victims), drained)
	}

	// The first eviction is allowed; its replacement runs elsewhere but is held not Ready.
	gates.setHold(true)
	if err := evict(ctx, client, victims[0]); err != nil {
		t.Fatalf("evicting %s: %v", victims[0].Name, err)
	}
	waitGone(t, client, &victims[0])
	var replacement corev1.Pod
	waitFor(t, "a replacement pod running", func() (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range list.Items {
			if !slices.ContainsFunc(pods.Items, func(o corev1.Pod) bool { return o.UID == p.UID }) && p.Status.Phase == corev1.PodRunning {
				replacement = p
				return true, nil
			}
		}
		return false, nil
	})
	if replacement.Spec.NodeName == drained || podReady(&replacement) {
		t.Fatalf("the replacement runs on %s (drained: %s), ready %v; want another node, not ready while its gate is held",
			replacement.Spec.NodeName, drained, podReady(&replacement))
	}

	// With 5 pods Ready, evicting another would break the budget.
	if err := evict(ctx, client, victims[1]); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting %s with 5 pods ready: %v, want 429 Too Many Requests", victims[1].Name, err)
	}
	if p, err := client.CoreV1().Pods(ns).Get(ctx, victims[1].Name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("the pod whose eviction was refused: %v, deletion %v", err, p.DeletionTimestamp)
	}

	// Once the replacement is Ready, the other evictions go through in turn.
	gates.setHold(false)
	waitRunning(t, client, &replacement)
	for _, v := range victims[1:] {
		waitFor(t, "the eviction of "+v.Name, func() (bool, error) {
			err := evict(ctx, client, v)
			if apierrors.IsTooManyRequests(err) {
				return false, nil
			}
			return err == nil, err
		})
		waitGone(t, client, &v)
	}

	waitFor(t, "6 pods Running and Ready on the other nodes", func() (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 6 {
			return false, err
		}
		for _, p := range list.Items {
			if p.Spec.NodeName == "" || p.Spec.NodeName == drained || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(&p) {
				return false, nil
			}
		}
		return true, nil
	})
	waitFor(t, "6 available replicas again", func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 6, err
	})
	if node, err := getNode(client, drained); err != nil || !node.Spec.Unschedulable {
		t.Errorf("the drained node: %v, unschedulable %v; want it still cordoned", err, node.Spec.Unschedulable)
	}
	checkAvailability(t, pods.Items, podEvents.snapshot(), depEvents.snapshot())
}

// gatedDeployment is the "web" Deployment, its pods Ready only with the drainGate condition.
func gatedDeployment(replicas int32) *appsv1.Deployment {
	d := deployment(replicas)
	spec := &d.Spec.Template.Spec
	spec.TopologySpreadConstraints = nil
	spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: drainGate}}
	return d
}

// gateKeeper sets the drainGate condition of the running pods of a namespace unless held:
// the part of a controller that marks pods ready for traffic.
type gateKeeper struct {
	mu   sync.Mutex // held for each pass, so that no pass runs after setHold(true) returns
	hold bool
}

func (g *gateKeeper) setHold(hold bool) {
	g.mu.Lock()
	g.hold = hold
	g.mu.Unlock()
}

// run opens the gates of the pods of namespace ns until ctx ends.
func (g *gateKeeper) run(ctx context.Context, client kubernetes.Interface, ns string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		g.mu.Lock()
		if !g.hold {
			openGates(ctx, client, ns)
		}
		g.mu.Unlock()
	}
}

// openGates sets the drainGate condition of the running pods of namespace ns.
func openGates(ctx context.Context, client kubernetes.Interface, ns string) {
	patch := fmt.Appendf(nil, `{"status":{"conditions":[{"type":%q,"status":"True"}]}}`, drainGate)
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		open := slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == drainGate && c.Status == corev1.ConditionTrue
		})
		if !open && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			_, _ = client.CoreV1().Pods(ns).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		}
	}
}

// evict asks for pod's eviction (policy/v1), as a drain does.
func evict(ctx context.Context, client kubernetes.Interface, pod corev1.Pod) error {
	return client.CoreV1().Pods(pod.Namespace).EvictV1(ctx, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
}

// busiestNode is the node most of pods are bound to.
func busiestNode(pods []corev1.Pod) string {
	count := map[string]int{}
	best := ""
	for _, p := range pods {
		count[p.Spec.NodeName]++
		if n := count[p.Spec.NodeName]; n > count[best] || (n == count[best] && p.Spec.NodeName < best) {
			best = p.Spec.NodeName
		}
	}
	return best
}

// onNode are the pods bound to node.
func onNode(pods []corev1.Pod, node string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out
}

// checkAvailability replays the watches from the pods at their start: at no point were fewer
// than 5 pods Ready and not terminating, nor fewer than 5 replicas available.
func checkAvailability(t *testing.T, initial []corev1.Pod, podEvents, depEvents []watch.Event) {
	t.Helper()
	ready := map[types.UID]bool{}
	for _, p := range initial {
		ready[p.UID] = podReady(&p)
	}
	count := func() int {
		n := 0
		for _, r := range ready {
			if r {
				n++
			}
		}
		return n
	}
	low := count()
	for _, ev := range podEvents {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			t.Fatalf("pod watch: %v event of %T", ev.Type, ev.Object)
		}
		if ev.Type == watch.Deleted {
			delete(ready, p.UID)
		} else {
			ready[p.UID] = podReady(p) && p.DeletionTimestamp == nil
		}
		low = min(low, count())
	}
	if low < 5 {
		t.Errorf("%d pods were Ready at one point of the drain; the budget wants 5", low)
	}
	if len(podEvents) == 0 || len(depEvents) == 0 {
		t.Fatalf("the watches saw %d pod and %d deployment events", len(podEvents), len(depEvents))
	}
	for _, ev := range depEvents {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok {
			t.Fatalf("deployment watch: %v event of %T", ev.Type, ev.Object)
		}
		if d.Status.AvailableReplicas < 5 {
			t.Errorf("the deployment had %d available replicas (generation %d); the budget wants 5", d.Status.AvailableReplicas, d.Generation)
		}
	}
}
