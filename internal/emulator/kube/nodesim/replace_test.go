package nodesim_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// TestReplacedMachine plays a rolling replacement's end: the old machine's Node, deleted
// through the API while the simulator still has the machine running (its VM's deletion has
// not reached SetNodes yet), is not registered again, nor once the machine is gone; the
// successor, a control-plane join, registers Ready with the control-plane label and taint; a
// machine that runs anew after its Node was deleted registers again, as a restarted kubelet.
func TestReplacedMachine(t *testing.T) {
	cfg := kubetest.Start(t)
	sim, client, _ := startSim(t, cfg, nil)
	ctx := context.Background()
	keeper, old := machine("vm-keeper", "10.1.0.4"), machine("vm-old", "10.1.0.5")
	sim.SetNodes([]nodesim.Node{keeper, old})
	waitReady(t, client, keeper.Name, old.Name)

	events := record(t)(client.CoreV1().Nodes().Watch(ctx, nameIs(old.Name)))
	if err := client.CoreV1().Nodes().Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion event", func() (bool, error) {
		return countType(events.snapshot(), watch.Deleted) == 1, nil
	})
	// The simulator syncs on the deletion, and at each of the keeper's lease renewals.
	checkLeaseStopped(t, client, old.Name, keeper.Name)
	if n := addedAfterDeletion(events.snapshot()); n != 0 {
		t.Fatalf("the deleted node was registered again (%d times) while its machine runs", n)
	}

	// The VM is deleted; its successor joins the control plane.
	successor := machine("vm-old-g1", "10.1.0.6")
	successor.Labels["node-role.kubernetes.io/control-plane"] = ""
	successor.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	sim.SetNodes([]nodesim.Node{keeper, successor})
	node := waitReady(t, client, successor.Name)[successor.Name]
	if _, ok := node.Labels["node-role.kubernetes.io/control-plane"]; !ok || !slices.ContainsFunc(node.Spec.Taints, func(tt corev1.Taint) bool {
		return tt.Key == "node-role.kubernetes.io/control-plane" && tt.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Errorf("the successor's node: labels %v, taints %v; want the control-plane label and taint", node.Labels, node.Spec.Taints)
	}
	checkLeaseStopped(t, client, old.Name, successor.Name)
	if _, err := getNode(client, old.Name); !apierrors.IsNotFound(err) {
		t.Errorf("the removed machine's node: %v, want it not found", err)
	}
	if n := addedAfterDeletion(events.snapshot()); n != 0 {
		t.Fatalf("the deleted node was registered again (%d times)", n)
	}

	// A machine of the same name runs again (a new VM): its kubelet registers.
	sim.SetNodes([]nodesim.Node{keeper, successor, old})
	waitReady(t, client, old.Name)
}

// addedAfterDeletion counts the Added events that follow the first Deleted one (a watch
// begins with an Added event of what exists).
func addedAfterDeletion(events []watch.Event) int {
	i := slices.IndexFunc(events, func(ev watch.Event) bool { return ev.Type == watch.Deleted })
	if i < 0 {
		return 0
	}
	return countType(events[i:], watch.Added)
}
