package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// The upgrade's two profile versions: iaas-base 1.0.0 of the examples (Kubernetes 1.30.4 on
// ubuntu-22.04.vhd) and 1.1.0, Kubernetes 1.31.1 on a new image, ubuntu-24.04.vhd.
const (
	upgradeFromVersion = "1.30.4"
	upgradeToVersion   = "1.31.1"
)

// TestRollingUpgrade upgrades a 3+3 IaaS cluster from Kubernetes 1.30 to 1.31 and a new OS
// image, with a Deployment of 6 replicas and a PodDisruptionBudget of minAvailable 5 in it,
// and checks, watching throughout, that never fewer than 5 replicas were available nor fewer
// than 2 control-plane nodes Ready, and at the end that every node was replaced and runs the
// new version, the cluster is Running, and the old image and VHD are gone with no orphan.
func TestRollingUpgrade(t *testing.T) {
	runRollingUpgrade(t, 0)
}

// TestRollingUpgradeSurvivesSIGKILL is the same upgrade with the server killed by SIGKILL at
// 10 points spread over it (at every other change of the upgrade's step or count) and started again:
// the same end state, no orphan, no duplicate.
func TestRollingUpgradeSurvivesSIGKILL(t *testing.T) {
	runRollingUpgrade(t, 10)
}

func runRollingUpgrade(t *testing.T, kills int) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" }, emulatortest.Kubernetes(t))
	env.ResourceGroup(t, "upgrade-rg")
	dir := writeManifests(t, env, map[string]string{"upg": iaasClusterYAML(t, "upg", env.SubscriptionID, "upgrade-rg", 3, 3)})
	writeUpgradeProfile(t, dir)
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--check-kubernetes=true", "--lease-ttl", "2s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitRunning(t, srv.URL, []string{"upg"}, 5*time.Minute, srv.logs)
	kc := kubeClient(t, srv.URL, "upg")
	deployWithBudget(t, kc)
	w := watchAvailability(t, kc)

	editCluster(t, srv.URL, "upg", func(c *v1alpha1.Cluster) { c.Spec.Profiles[0].Version = "1.1.0" })
	final := waitUpgraded(t, srv, kills)
	w.stop()

	if w.minAvailable < 5 {
		t.Errorf("the Deployment had %d available replicas at one point, below the budget's 5", w.minAvailable)
	}
	if w.minControlPlane < 2 {
		t.Errorf("%d control-plane nodes were Ready at one point, want at least 2", w.minControlPlane)
	}
	if w.events == 0 {
		t.Error("the watch saw no event")
	}
	checkUpgradedNodes(t, kc)
	checkUpgradedResources(t, env, srv, final)
}

// writeUpgradeProfile writes iaas-base 1.1.0 beside the example's 1.0.0: Kubernetes 1.31.1 on
// ubuntu 24.04.
func writeUpgradeProfile(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examples, "profile-iaas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for old, repl := range map[string]string{
		"  version: 1.0.0\n":             "  version: 1.1.0\n",
		"version: \"22.04\"":             "version: \"24.04\"",
		"vhd: ubuntu-22.04.vhd":          "vhd: ubuntu-24.04.vhd",
		"version: " + upgradeFromVersion: "version: " + upgradeToVersion,
		"sku: 22_04-lts-gen2":            "sku: 24_04-lts-gen2",
		"0001-com-ubuntu-server-jammy":   "ubuntu-24_04-lts",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("the example profile has no %q", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "2-profile-iaas-1.1.0.yaml"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// deployWithBudget makes the Deployment "app" of 6 replicas and its PodDisruptionBudget of
// minAvailable 5, and waits until the 6 are available.
func deployWithBudget(t *testing.T, kc kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "app"}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "app"},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(6)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments("app").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "app"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: new(intstr.FromInt32(5)),
			Selector:     &metav1.LabelSelector{MatchLabels: labels},
		},
	}
	if _, err := kc.PolicyV1().PodDisruptionBudgets("app").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "6 available replicas", func() error {
		d, err := kc.AppsV1().Deployments("app").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 6 {
			return fmt.Errorf("%d available", d.Status.AvailableReplicas)
		}
		return nil
	})
}

// availability is what a watch of the Deployment and the nodes saw: the fewest available
// replicas and Ready control-plane nodes at any event.
type availability struct {
	mu                            sync.Mutex
	minAvailable, minControlPlane int
	events                        int
	cancel                        context.CancelFunc
	done                          sync.WaitGroup
}

// watchAvailability watches the Deployment "app" and the nodes until stop.
func watchAvailability(t *testing.T, kc kubernetes.Interface) *availability {
	ctx, cancel := context.WithCancel(context.Background())
	a := &availability{minAvailable: 6, minControlPlane: 3, cancel: cancel}
	a.done.Go(func() {
		watchLoop(ctx, func(opts metav1.ListOptions) error {
			w, err := kc.AppsV1().Deployments("app").Watch(ctx, opts)
			if err != nil {
				return err
			}
			defer w.Stop()
			for ev := range w.ResultChan() {
				if d, ok := ev.Object.(*appsv1.Deployment); ok {
					a.saw(func() { a.minAvailable = min(a.minAvailable, int(d.Status.AvailableReplicas)) })
				}
			}
			return nil
		})
	})
	a.done.Go(func() {
		watchLoop(ctx, func(metav1.ListOptions) error { return a.watchControlPlane(ctx, kc) })
	})
	return a
}

// watchControlPlane lists the control-plane nodes, then watches them from that list, counting
// the Ready ones at each event.
func (a *availability) watchControlPlane(ctx context.Context, kc kubernetes.Interface) error {
	sel := metav1.ListOptions{LabelSelector: "node-role.kubernetes.io/control-plane"}
	list, err := kc.CoreV1().Nodes().List(ctx, sel)
	if err != nil {
		return err
	}
	isReady := map[string]bool{}
	for i := range list.Items {
		isReady[list.Items[i].Name] = ready(list.Items[i])
	}
	count := func() int {
		n := 0
		for _, r := range isReady {
			if r {
				n++
			}
		}
		return n
	}
	a.saw(func() { a.minControlPlane = min(a.minControlPlane, count()) })
	sel.ResourceVersion = list.ResourceVersion
	w, err := kc.CoreV1().Nodes().Watch(ctx, sel)
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if n, ok := ev.Object.(*corev1.Node); ok {
			isReady[n.Name] = ev.Type != watch.Deleted && ready(*n)
			a.saw(func() { a.minControlPlane = min(a.minControlPlane, count()) })
		}
	}
	return nil
}

func (a *availability) saw(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events++
	f()
}

func (a *availability) stop() {
	a.cancel()
	a.done.Wait()
}

// watchLoop runs a watch again each time it ends, until ctx ends. A watch of the nodes starts
// with the current ones (ADDED events), so a restarted watch sees the whole set again.
func watchLoop(ctx context.Context, watch func(metav1.ListOptions) error) {
	for ctx.Err() == nil {
		if err := watch(metav1.ListOptions{}); err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// waitUpgraded waits until the cluster's upgrade is over and it is Running at the new
// template, killing the server with SIGKILL (and starting it again) at every other change of
// the upgrade's step or count, up to kills times, so that the kills spread over the upgrade.
func waitUpgraded(t *testing.T, srv *restartableServer, kills int) v1alpha1.Cluster {
	t.Helper()
	deadline := time.Now().Add(15 * time.Minute)
	seen := map[string]bool{}
	started := false
	for time.Now().Before(deadline) {
		c, ok := clusterPhases(srv.URL)["upg"]
		up := c.Status.Upgrade
		switch {
		case !ok:
		case up != nil && !seen[fmt.Sprintf("%d %s", up.Done, up.Current)]:
			started = true
			seen[fmt.Sprintf("%d %s", up.Done, up.Current)] = true
			t.Logf("%s upgrade: %d/%d, %s", time.Now().Format(time.TimeOnly), up.Done, up.Total, up.Current)
			if kills > 0 && len(seen)%2 == 1 {
				kills--
				t.Logf("SIGKILL (%d more to come)", kills)
				srv.kill()
				srv.start()
			}
		case started && up == nil && c.Status.Phase == "Running" && strings.Contains(c.Status.MachineTemplate, "kubernetes "+upgradeToVersion):
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the upgrade did not end within 15 minutes (started: %v)\nlogs:\n%s", started, srv.logs)
	return v1alpha1.Cluster{}
}

// checkUpgradedNodes checks that the cluster has its 6 nodes, every one a machine of the
// upgrade (generation 1), Ready, at the new Kubernetes version, none cordoned.
func checkUpgradedNodes(t *testing.T, kc kubernetes.Interface) {
	t.Helper()
	nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 6 {
		t.Errorf("%d nodes after the upgrade, want 6", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if !strings.HasSuffix(n.Name, "-g1") || !ready(n) || n.Status.NodeInfo.KubeletVersion != "v"+upgradeToVersion || n.Spec.Unschedulable {
			t.Errorf("node %s: kubelet %s, Ready %v, unschedulable %v; want a new machine (-g1), Ready, v%s",
				n.Name, n.Status.NodeInfo.KubeletVersion, ready(n), n.Spec.Unschedulable, upgradeToVersion)
		}
	}
}

// checkUpgradedResources checks the cluster's resources in Azure once the old image is gone:
// what a 6-machine cluster has, exactly once each (no orphan, no duplicate), its VMs and image
// of the upgrade's generation, and the inventory likewise.
func checkUpgradedResources(t *testing.T, env *emulatortest.Env, srv *restartableServer, c v1alpha1.Cluster) {
	t.Helper()
	want := expectedResources(6)
	eventually(t, 2*time.Minute, "the old image and VHD deleted", func() error {
		got := countByType(rgResources(env)["upgrade-rg"])
		for typ, n := range want {
			if got[typ] != n {
				return fmt.Errorf("%d %s, want %d (all: %v)", got[typ], typ, n, got)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("resources %v, want %v", got, want)
		}
		return nil
	})
	for _, r := range rgResources(env)["upgrade-rg"] {
		name := r.ID[strings.LastIndex(r.ID, "/")+1:]
		switch r.Type {
		case "Microsoft.Compute/virtualMachines":
			if !strings.HasSuffix(name, "-g1") {
				t.Errorf("VM %s is not of the upgrade", name)
			}
		case "Microsoft.Compute/images":
			if name != "upg-os-image-g1" {
				t.Errorf("image %s, want upg-os-image-g1", name)
			}
		}
	}
	c = clusterPhases(srv.URL)["upg"]
	for _, it := range c.Status.Inventory {
		if it.Key == "vhd-copy" || it.Key == "image" || (strings.HasPrefix(it.Key, "vm/") && !strings.HasSuffix(it.Key, "-g1")) {
			t.Errorf("inventory still holds %s (%s)", it.Key, it.ID)
		}
	}
}
