package nodesim_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// TestDeployment checks, with the real controller manager and scheduler, that a Deployment
// of 3 replicas spread over 3 simulated nodes becomes Available with its pods Running on
// distinct IPs of their nodes' pod CIDRs, that the node lifecycle controller keeps the nodes
// untainted, that scaling down to 1 deletes the other pods for good, and that the
// namespace can be deleted.
func TestDeployment(t *testing.T) {
	cfg := kubetest.StartWithControllers(t)
	sim, client, _ := startSim(t, cfg, nil)
	ctx := context.Background()
	machines := []nodesim.Node{machine("vm-1", "10.1.0.4"), machine("vm-2", "10.1.0.5"), machine("vm-3", "10.1.0.6")}
	sim.SetNodes(machines)
	nodes := waitReady(t, client, "vm-1", "vm-2", "vm-3")

	const ns = "web"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep, err := client.AppsV1().Deployments(ns).Create(ctx, deployment(3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 available replicas", func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 3, err
	})
	checkPods(t, client, ns, nodes)
	for name := range nodes {
		node, err := getNode(client, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, taint := range node.Spec.Taints {
			if strings.HasPrefix(taint.Key, "node.kubernetes.io/") {
				t.Errorf("node %s has the taint %v", name, taint)
			}
		}
	}

	scale, err := client.AppsV1().Deployments(ns).GetScale(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 1
	if _, err := client.AppsV1().Deployments(ns).UpdateScale(ctx, dep.Name, scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a single pod left, none terminating", func() (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].DeletionTimestamp == nil, err
	})
	waitFor(t, "1 available replica", func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1, err
	})

	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "namespace "+ns+" deleted", func() (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// deployment is the "web" Deployment, its replicas spread one per node.
func deployment(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36"}},
					Containers:     []corev1.Container{{Name: "nginx", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
					}},
				},
			},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: new(intstr.FromInt32(1))},
			},
		},
	}
}

// checkPods checks the pods of namespace ns: one per node, Running with distinct IPs from
// their node's pod CIDR, their node's IP as host IP, and their containers' statuses.
func checkPods(t *testing.T, client kubernetes.Interface, ns string, nodes map[string]*corev1.Node) {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seenNodes, seenIPs := map[string]bool{}, map[string]bool{}
	for _, p := range pods.Items {
		node := nodes[p.Spec.NodeName]
		if node == nil || seenNodes[p.Spec.NodeName] {
			t.Errorf("pod %s on node %q", p.Name, p.Spec.NodeName)
			continue
		}
		seenNodes[p.Spec.NodeName] = true
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !netip.MustParsePrefix(node.Spec.PodCIDR).Contains(ip) || seenIPs[p.Status.PodIP] {
			t.Errorf("pod %s: IP %q (node's pod CIDR %s)", p.Name, p.Status.PodIP, node.Spec.PodCIDR)
		}
		seenIPs[p.Status.PodIP] = true
		if p.Status.HostIP != node.Status.Addresses[0].Address || p.Status.StartTime == nil {
			t.Errorf("pod %s: hostIP %q, startTime %v", p.Name, p.Status.HostIP, p.Status.StartTime)
		}
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || !cs[0].Ready || cs[0].State.Running == nil ||
			!strings.HasPrefix(cs[0].ContainerID, "containerd://") || cs[0].Image != "nginx:1.27" {
			t.Errorf("pod %s: containerStatuses %+v", p.Name, cs)
		}
		if cs := p.Status.InitContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.Reason != "Completed" {
			t.Errorf("pod %s: initContainerStatuses %+v", p.Name, cs)
		}
	}
	if len(seenNodes) != 3 {
		t.Errorf("pods on %d nodes; want 3", len(seenNodes))
	}
}
