package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestWorkerAutoscaling: an IaaS worker pool of 1 (min 1, max 4) of 4-CPU machines gets 20
// pods of 600m: 6 fit on its node, the 14 the scheduler cannot place need 3 more machines,
// which strata makes (never more than max); once the pods go, the pool goes back to min,
// one drained node at a time after scaleDownAfter.
func TestWorkerAutoscaling(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" }, emulatortest.Kubernetes(t))
	env.ResourceGroup(t, "repair-rg") // vmExists reads this group
	cluster := strings.Replace(iaasClusterYAML(t, "as", env.SubscriptionID, "repair-rg", 1, 1),
		"      count: 1\n      instanceType: Standard_D4s_v3\n",
		"      count: 1\n      min: 1\n      max: 4\n      scaleDownAfter: 15s\n      instanceType: Standard_D4s_v3\n", 1)
	if !strings.Contains(cluster, "max: 4") {
		t.Fatal("the cluster's worker pool was not made to autoscale")
	}
	dir := writeManifests(t, env, map[string]string{"as": cluster})
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--check-kubernetes=true", "--resync", "3s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitRunning(t, srv.URL, []string{"as"}, 5*time.Minute, srv.logs)
	kc := kubeClient(t, srv.URL, "as")
	vms, err := armcompute.NewVirtualMachinesClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	most := watchPoolSize(t, srv.URL, "as")

	t.Run("20 pending pods scale the pool up to max", func(t *testing.T) {
		deployLoad(t, kc, 20)
		waitNodes(t, kc, 4*time.Minute, "as-workers-0", "as-workers-1", "as-workers-2", "as-workers-3")
		eventually(t, 2*time.Minute, "20 available replicas", func() error { return available(kc, 20) })
		if vmExists(t, vms, "as-workers-4") || most() > 4 {
			t.Errorf("the pool went beyond its max of 4 (most seen %d)", most())
		}
		if !hasEvent(strata(t, srv.URL, "", "describe", "cluster", "as").Stdout, "Normal", "Autoscaled") {
			t.Error("no Autoscaled event")
		}
		c := clusterPhases(srv.URL)["as"]
		if c.Spec.MachinePools[1].Count != 1 || len(c.Status.Scale) != 1 || c.Status.Scale[0].Count != 4 {
			t.Errorf("spec count %d, status.scale %+v: want the spec's 1 kept and the autoscaler's 4 in status", c.Spec.MachinePools[1].Count, c.Status.Scale)
		}
	})
	t.Run("without the pods the pool goes back to min", func(t *testing.T) {
		if err := kc.AppsV1().Deployments("default").Delete(context.Background(), "load", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNodes(t, kc, 5*time.Minute, "as-workers-0")
		for _, name := range []string{"as-workers-1", "as-workers-2", "as-workers-3"} {
			if vmExists(t, vms, name) {
				t.Errorf("%s still exists", name)
			}
		}
		if d := strata(t, srv.URL, "", "describe", "cluster", "as").Stdout; !strings.Contains(d, "node as-workers-3 drained: 4 → 3 machines") {
			t.Errorf("no event of the last node's drain:\n%s", d)
		}
		c := clusterPhases(srv.URL)["as"]
		if len(c.Status.Scale) != 1 || c.Status.Scale[0].Count != 1 || c.Status.Phase != "Running" {
			t.Errorf("phase %s, status.scale %+v: want Running at the min of 1", c.Status.Phase, c.Status.Scale)
		}
	})
	t.Run("a count lowered in the spec drains the machine it removes", func(t *testing.T) {
		setWorkers := func(count int) {
			editCluster(t, srv.URL, "as", func(c *v1alpha1.Cluster) {
				mp := &c.Spec.MachinePools[1]
				mp.Count, mp.Min, mp.Max, mp.ScaleDownAfter = count, nil, nil, ""
			})
		}
		setWorkers(2)
		waitNodes(t, kc, 4*time.Minute, "as-workers-0", "as-workers-1")
		deployLoad(t, kc, 4)
		eventually(t, 2*time.Minute, "4 available replicas", func() error { return available(kc, 4) })
		setWorkers(1)
		waitNodes(t, kc, 4*time.Minute, "as-workers-0")
		if d := strata(t, srv.URL, "", "describe", "cluster", "as").Stdout; !strings.Contains(d, "workers-1: beyond the pool's count, its machine as-workers-1 was drained and deleted") {
			t.Errorf("no event of the drain of the machine beyond the count:\n%s", d)
		}
		eventually(t, 2*time.Minute, "4 available replicas on the one worker left", func() error { return available(kc, 4) })
		if vmExists(t, vms, "as-workers-1") {
			t.Error("as-workers-1 still exists")
		}
	})
}

// available checks that the Deployment "load" has n available replicas.
func available(kc kubernetes.Interface, n int32) error {
	d, err := kc.AppsV1().Deployments("default").Get(context.Background(), "load", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if d.Status.AvailableReplicas != n {
		return fmt.Errorf("%d available", d.Status.AvailableReplicas)
	}
	return nil
}

// watchPoolSize polls the cluster's autoscaled count until the test ends and returns the
// highest seen so far.
func watchPoolSize(t *testing.T, url, cluster string) func() int {
	var mu sync.Mutex
	most := 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if c, ok := clusterPhases(url)[cluster]; ok && len(c.Status.Scale) > 0 {
				mu.Lock()
				most = max(most, c.Status.Scale[0].Count)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

// deployLoad makes the Deployment "load" of n pods requesting 600m CPU each.
func deployLoad(t *testing.T, kc kubernetes.Interface, n int32) {
	t.Helper()
	labels := map[string]string{"app": "load"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "load", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "load", Image: "registry.k8s.io/pause:3.10",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m")}}}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments("default").Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
