package nodesim_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

const (
	testGrace         = 2 * time.Second
	testLeaseInterval = 200 * time.Millisecond
	waitTimeout       = 60 * time.Second
)

// startSim runs a Simulator against cfg's API server until the test ends.
func startSim(t *testing.T, cfg *rest.Config, runner nodesim.Runner) (*nodesim.Simulator, kubernetes.Interface, func()) {
	t.Helper()
	client := kubernetes.NewForConfigOrDie(cfg)
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	sim := nodesim.New(client, nodesim.Options{Logger: log, Grace: testGrace, LeaseInterval: testLeaseInterval, Runner: runner})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return sim, client, stop
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", waitTimeout, what, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// machine is a running machine named name at ip.
func machine(name, ip string) nodesim.Node {
	return nodesim.Node{
		Name: name,
		Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"kubernetes.azure.com/agentpool": "pool1", "topology.kubernetes.io/zone": "westeurope-1",
		},
		ProviderID:     "azure:///subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + name,
		InternalIP:     ip,
		CPU:            4,
		MemoryMiB:      8192,
		KubeletVersion: "v1.37.2",
		Running:        true,
	}
}

func getNode(client kubernetes.Interface, name string) (*corev1.Node, error) {
	return client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
}

// readyStatus is node's Ready condition, or a zero one.
func readyStatus(node *corev1.Node) corev1.NodeCondition {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

// waitReady waits until the Nodes named are Ready, and returns them.
func waitReady(t *testing.T, client kubernetes.Interface, names ...string) map[string]*corev1.Node {
	t.Helper()
	out := map[string]*corev1.Node{}
	for _, name := range names {
		waitFor(t, "node "+name+" Ready", func() (bool, error) {
			node, err := getNode(client, name)
			if err != nil {
				return false, err
			}
			out[name] = node
			return readyStatus(node).Status == corev1.ConditionTrue, nil
		})
	}
	return out
}

func hasTaint(node *corev1.Node, key string) bool {
	return slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

// recorder collects the events of a watch.
type recorder struct {
	mu     sync.Mutex
	events []watch.Event
}

// record returns a function that collects the events of a watch until the test ends:
// record(t)(client.X().Watch(...)).
func record(t *testing.T) func(watch.Interface, error) *recorder {
	return func(w watch.Interface, err error) *recorder {
		t.Helper()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		r := &recorder{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range w.ResultChan() {
				r.mu.Lock()
				r.events = append(r.events, ev)
				r.mu.Unlock()
			}
		}()
		t.Cleanup(func() { w.Stop(); <-done })
		return r
	}
}

func (r *recorder) snapshot() []watch.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// nameIs is a list option selecting the object named name.
func nameIs(name string) metav1.ListOptions {
	return metav1.ListOptions{FieldSelector: "metadata.name=" + name}
}

// TestNodes checks that machines' Nodes are created Ready with their labels, taints,
// provider ID, pod CIDR, addresses, capacity and node info, that their leases are renewed,
// that labels others set survive, and that status is written only on heartbeats.
func TestNodes(t *testing.T) {
	cfg := kubetest.Start(t)
	sim, client, _ := startSim(t, cfg, nil)
	a, b := machine("vm-a", "10.1.0.4"), machine("vm-b", "10.1.0.5")
	b.Taints = []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}}
	sim.SetNodes([]nodesim.Node{a, b})
	nodes := waitReady(t, client, "vm-a", "vm-b")

	cidrs := map[string]bool{}
	for _, m := range []nodesim.Node{a, b} {
		checkNode(t, nodes[m.Name], m)
		cidrs[nodes[m.Name].Spec.PodCIDR] = true
	}
	if len(cidrs) != 2 {
		t.Errorf("the nodes share a pod CIDR: %v", cidrs)
	}
	checkLease(t, client, nodes["vm-a"])

	// A label someone else sets stays when ours change; a label we no longer want goes.
	_, err := client.CoreV1().Nodes().Patch(context.Background(), "vm-a", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"example.com/theirs":"x"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Labels = map[string]string{"kubernetes.io/hostname": "vm-a", "example.com/ours": "y"}
	sim.SetNodes([]nodesim.Node{a, b})
	waitFor(t, "vm-a's new labels", func() (bool, error) {
		node, err := getNode(client, "vm-a")
		if err != nil {
			return false, err
		}
		l := node.Labels
		return l["example.com/ours"] == "y" && l["example.com/theirs"] == "x" && l["kubernetes.azure.com/agentpool"] == "", nil
	})

	checkQuiet(t, client, "vm-b")
}

// checkNode checks node against machine m.
func checkNode(t *testing.T, node *corev1.Node, m nodesim.Node) {
	t.Helper()
	for k, v := range m.Labels {
		if node.Labels[k] != v {
			t.Errorf("%s: label %s = %q; want %q", m.Name, k, node.Labels[k], v)
		}
	}
	for _, taint := range m.Taints {
		if !slices.ContainsFunc(node.Spec.Taints, func(o corev1.Taint) bool { return o.MatchTaint(&taint) && o.Value == taint.Value }) {
			t.Errorf("%s: taints %v lack %v", m.Name, node.Spec.Taints, taint)
		}
	}
	if node.Spec.ProviderID != m.ProviderID {
		t.Errorf("%s: providerID = %q", m.Name, node.Spec.ProviderID)
	}
	cidr, err := netip.ParsePrefix(node.Spec.PodCIDR)
	if err != nil || cidr.Bits() != 24 || !netip.MustParsePrefix("10.244.0.0/16").Contains(cidr.Addr()) {
		t.Errorf("%s: podCIDR = %q", m.Name, node.Spec.PodCIDR)
	}
	want := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: m.InternalIP}, {Type: corev1.NodeHostName, Address: m.Name}}
	if !slices.Equal(node.Status.Addresses, want) {
		t.Errorf("%s: addresses = %v", m.Name, node.Status.Addresses)
	}
	cap := node.Status.Capacity
	if cap.Cpu().Value() != m.CPU || cap.Memory().Value() != m.MemoryMiB<<20 || cap.Pods().Value() != 110 ||
		cap.StorageEphemeral().String() != "100Gi" || node.Status.Allocatable.Pods().Value() != 110 {
		t.Errorf("%s: capacity = %v, allocatable = %v", m.Name, cap, node.Status.Allocatable)
	}
	info := node.Status.NodeInfo
	if info.KubeletVersion != m.KubeletVersion || info.OperatingSystem != "linux" || info.Architecture != "amd64" ||
		info.OSImage != "Ubuntu 24.04 LTS (emulated)" || info.ContainerRuntimeVersion != "containerd://emulated" {
		t.Errorf("%s: nodeInfo = %+v", m.Name, info)
	}
	for _, c := range node.Status.Conditions {
		wantStatus := corev1.ConditionFalse
		if c.Type == corev1.NodeReady {
			wantStatus = corev1.ConditionTrue
		}
		if c.Status != wantStatus {
			t.Errorf("%s: condition %s = %s", m.Name, c.Type, c.Status)
		}
	}
	if c := readyStatus(node); c.Reason != "KubeletReady" {
		t.Errorf("%s: Ready = %+v", m.Name, c)
	}
}

// checkLease checks node's lease and that it is renewed.
func checkLease(t *testing.T, client kubernetes.Interface, node *corev1.Node) {
	t.Helper()
	var first *coordinationv1.Lease
	waitFor(t, "the lease of "+node.Name+" renewed", func() (bool, error) {
		l, err := client.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), node.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if first == nil {
			first = l
		}
		return l.Spec.RenewTime.After(first.Spec.RenewTime.Time), nil
	})
	if h := first.Spec.HolderIdentity; h == nil || *h != node.Name {
		t.Errorf("lease holder = %v", h)
	}
	if d := first.Spec.LeaseDurationSeconds; d == nil || *d != 40 {
		t.Errorf("lease duration = %v", d)
	}
	refs := first.OwnerReferences
	if len(refs) != 1 || refs[0].Kind != "Node" || refs[0].APIVersion != "v1" || refs[0].Name != node.Name || refs[0].UID != node.UID {
		t.Errorf("lease owner references = %+v", refs)
	}
}

// checkQuiet checks that node name's status is written only about every 4 lease renewals:
// it counts the Node's updates over 12 renewals of its lease.
func checkQuiet(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	nodes := record(t)(client.CoreV1().Nodes().Watch(ctx, nameIs(name)))
	leases := record(t)(client.CoordinationV1().Leases("kube-node-lease").Watch(ctx, nameIs(name)))
	const renewals = 12
	waitFor(t, fmt.Sprintf("%d lease renewals", renewals), func() (bool, error) {
		return countType(leases.snapshot(), watch.Modified) >= renewals, nil
	})
	updates := countType(nodes.snapshot(), watch.Modified)
	t.Logf("node %s: %d updates over %d lease renewals", name, updates, renewals)
	if updates > renewals/2+2 {
		t.Errorf("node %s was updated %d times over %d lease renewals; want heartbeats about every 4", name, updates, renewals)
	}
}

func countType(events []watch.Event, typ watch.EventType) int {
	n := 0
	for _, ev := range events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestGoneMachines checks that the Nodes of machines that are gone turn NotReady (Ready
// Unknown) at once, that their leases are no longer renewed, that they are deleted after
// the grace period unless Shutdown keeps them (with the shutdown taint), that pods on them
// are left alone, and that a machine coming back is Ready again.
func TestGoneMachines(t *testing.T) {
	cfg := kubetest.Start(t)
	sim, client, _ := startSim(t, cfg, nil)
	ctx := context.Background()
	stopped, removed, absent, keeper := machine("vm-stopped", "10.1.0.4"), machine("vm-removed", "10.1.0.5"), machine("vm-absent", "10.1.0.6"), machine("vm-keeper", "10.1.0.7")
	sim.SetNodes([]nodesim.Node{stopped, removed, absent, keeper})
	waitReady(t, client, stopped.Name, removed.Name, absent.Name, keeper.Name)
	createServiceAccount(t, client, "default")

	nodeEvents := record(t)(client.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{}))
	stopped.Running, stopped.Shutdown = false, true
	removed.Running = false
	sim.SetNodes([]nodesim.Node{stopped, removed, keeper})

	for _, name := range []string{removed.Name, absent.Name} {
		waitFor(t, name+"'s deletion event", func() (bool, error) {
			return slices.ContainsFunc(nodeEvents.snapshot(), func(ev watch.Event) bool {
				node, ok := ev.Object.(*corev1.Node)
				return ev.Type == watch.Deleted && ok && node.Name == name
			}), nil
		})
		checkUnknownBeforeDeleted(t, nodeEvents.snapshot(), name)
	}
	// Both were deleted a grace period after vm-stopped went: vm-stopped stays, shut down.
	node, err := getNode(client, stopped.Name)
	if err != nil {
		t.Fatalf("the shut down node: %v", err)
	}
	if c := readyStatus(node); c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." {
		t.Errorf("shut down node's Ready = %+v", c)
	}
	if !hasTaint(node, nodesim.ShutdownTaintKey) {
		t.Errorf("shut down node's taints = %v", node.Spec.Taints)
	}
	checkLeaseStopped(t, client, stopped.Name, keeper.Name)

	// A pod bound to the stopped node stays Pending; one on a running node runs.
	parked := createPod(t, client, "default", "parked", stopped.Name, "nginx:1.27")
	waitRunning(t, client, createPod(t, client, "default", "running", keeper.Name, "nginx:1.27"))
	if p, err := client.CoreV1().Pods("default").Get(ctx, parked.Name, metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodPending || p.Status.PodIP != "" {
		t.Errorf("pod on the stopped node: %v, %+v", err, p.Status)
	}

	// Back: vm-stopped is Ready again without the taint and runs its pod; vm-removed is back.
	stopped.Running, stopped.Shutdown, removed.Running = true, false, true
	sim.SetNodes([]nodesim.Node{stopped, removed, keeper})
	waitFor(t, "vm-stopped Ready without the shutdown taint", func() (bool, error) {
		node, err := getNode(client, stopped.Name)
		return err == nil && readyStatus(node).Status == corev1.ConditionTrue && !hasTaint(node, nodesim.ShutdownTaintKey), err
	})
	waitReady(t, client, removed.Name)
	waitRunning(t, client, parked)
}

// checkUnknownBeforeDeleted checks that node name's Ready condition was Unknown before the
// Node was deleted.
func checkUnknownBeforeDeleted(t *testing.T, events []watch.Event, name string) {
	t.Helper()
	unknown := false
	for _, ev := range events {
		node, ok := ev.Object.(*corev1.Node)
		if !ok || node.Name != name {
			continue
		}
		if ev.Type == watch.Deleted {
			if !unknown {
				t.Errorf("node %s was deleted without turning Ready=Unknown first", name)
			}
			return
		}
		if c := readyStatus(node); c.Status == corev1.ConditionUnknown && c.Reason == "NodeStatusUnknown" {
			unknown = true
		}
	}
	t.Errorf("saw no deletion of node %s", name)
}

// checkLeaseStopped checks that stopped's lease is no longer renewed while running's is,
// twice.
func checkLeaseStopped(t *testing.T, client kubernetes.Interface, stopped, running string) {
	t.Helper()
	leases := client.CoordinationV1().Leases("kube-node-lease")
	before, err := leases.Get(context.Background(), stopped, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	renewals := record(t)(leases.Watch(context.Background(), nameIs(running)))
	waitFor(t, "two renewals of "+running+"'s lease", func() (bool, error) {
		return countType(renewals.snapshot(), watch.Modified) >= 2, nil
	})
	after, err := leases.Get(context.Background(), stopped, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !after.Spec.RenewTime.Equal(before.Spec.RenewTime) {
		t.Errorf("the stopped node's lease was renewed: %v, then %v", before.Spec.RenewTime, after.Spec.RenewTime)
	}
}

// createServiceAccount creates the default service account of namespace ns, which the
// API server's admission wants before it admits pods (the controller manager is not there to
// create it).
func createServiceAccount(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	_, err := client.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// createPod creates a pod bound to node that runs image.
func createPod(t *testing.T, client kubernetes.Interface, ns, name, node, image string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: new(false),
			Containers:                   []corev1.Container{{Name: "main", Image: image}},
		},
	}
	for _, m := range mutate {
		m(pod)
	}
	created, err := client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s: %v", name, err)
	}
	return created
}

// waitRunning waits until pod is Running and Ready, and returns it.
func waitRunning(t *testing.T, client kubernetes.Interface, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	waitFor(t, "pod "+pod.Name+" Running and Ready", func() (bool, error) {
		var err error
		got, err = client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning && podReady(got), err
	})
	return got
}

func podReady(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// waitGone waits until pod no longer exists.
func waitGone(t *testing.T, client kubernetes.Interface, pod *corev1.Pod) {
	t.Helper()
	waitFor(t, "pod "+pod.Name+" gone", func() (bool, error) {
		_, err := client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, errors.Join(err, errors.New("still there"))
	})
}
