package fromarm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
)

// TestInitVMReplaced runs, with the real Kubernetes binaries, an IaaS cluster whose init VM a
// rolling replacement replaces by a control-plane join: the cluster keeps its API server
// (same processes, same objects), its name, version and service range, and its other nodes;
// the successor's node registers Ready as a control-plane node of its own version; the old
// node, deleted through the API, stays gone. After a restart of the emulator, without the
// init VM, the cluster comes back the same.
func TestInitVMReplaced(t *testing.T) {
	if err := kube.CheckBinaries(kube.DefaultBinDir()); err != nil {
		t.Fatal(err)
	}
	f := planIaaS(t, "1.31.2", nil)
	f.withoutVersionFiles(t) // machines made before strata wrote them
	key := "iaas/" + strings.ToLower(f.endpoint)
	// The planned endpoint's port is 6443: the API server listens at a free one instead, and
	// the init VM's service range is another than kubeadm's default, to tell them apart.
	addr, port := netip.MustParseAddr("127.77.250.7"), kubetest.FreePort(t)
	const serviceCIDR, serviceIP = "10.100.0.0/16", "10.100.0.1"
	desired := func(resources []*arm.Resource) []kube.Cluster {
		cs := Clusters(resources)
		for i := range cs {
			cs[i].Address, cs[i].Port = addr, port
			if cs[i].ServiceCIDR != "" {
				cs[i].ServiceCIDR = serviceCIDR
			}
		}
		return cs
	}
	dir := t.TempDir()
	m := startManager(t, dir, desired(f.resources))
	client := clientOf(t, m, key)
	waitNodes(t, client, map[string]string{
		"iaas-dynamic-control-plane-0": "v1.31.2", "iaas-dynamic-control-plane-1": "v1.31.2", "iaas-dynamic-control-plane-2": "v1.31.2",
		"iaas-dynamic-workers-0": "v1.31.2", "iaas-dynamic-workers-1": "v1.31.2", "iaas-dynamic-workers-2": "v1.31.2",
	})
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"a": "b"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := clusterInfo(t, m, key)
	if before.Name != "iaas-dynamic" || before.Version != "1.31.2" {
		t.Fatalf("cluster %+v; want iaas-dynamic 1.31.2", before)
	}
	checkServingCert(t, addr, port, f.secrets.CACertPEM, serviceIP)

	// The rolling replacement: the successor joins, the init VM is deleted.
	f.addVM(t, "control-plane-1", "control-plane-0-g1")
	f.writeFile(t, "control-plane-0-g1", kubeletVersionPath, "1.32.1\n")
	replaced := desired(f.without(typeVirtualMachine, "control-plane-0"))
	if c := replaced[0]; c.Name != "" || c.CACertPEM != nil || c.ServiceCIDR != "" || c.Version != "" {
		t.Fatalf("the cluster without its init VM still says %q %q %q", c.Name, c.ServiceCIDR, c.Version)
	}
	if err := m.Apply(ctx, replaced); err != nil {
		t.Fatal(err)
	}
	const g1 = "iaas-dynamic-control-plane-0-g1"
	nodes := waitNodes(t, client, map[string]string{g1: "v1.32.1", "iaas-dynamic-control-plane-1": "v1.31.2", "iaas-dynamic-workers-2": "v1.31.2"})
	if n := nodes[g1]; !slices.ContainsFunc(n.Spec.Taints, func(tt corev1.Taint) bool { return tt == controlPlaneTaint }) {
		t.Errorf("the successor's taints %v; want the control-plane taint", n.Spec.Taints)
	} else if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; !ok {
		t.Errorf("the successor's labels %v; want the control-plane role", n.Labels)
	}
	after := clusterInfo(t, m, key)
	if !slices.Equal(after.PIDs, before.PIDs) || after.Name != "iaas-dynamic" || after.Version != "1.31.2" {
		t.Errorf("after the init VM went: %+v; before: %+v; want the same processes, name and version", after, before)
	}
	checkKept(t, client)

	// strata deletes the old node once its VM is gone: it stays gone.
	old := "iaas-dynamic-control-plane-0"
	waitFor(t, old+" NotReady", func() bool {
		n, err := client.CoreV1().Nodes().Get(ctx, old, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && !nodeReady(n))
	})
	if err := client.CoreV1().Nodes().Delete(ctx, old, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// The emulator restarts: no VM says the cluster's name, CA or service range any longer.
	m = startManager(t, dir, replaced)
	client = clientOf(t, m, key)
	checkKept(t, client)
	if info := clusterInfo(t, m, key); info.Name != "iaas-dynamic" || info.Version != "1.31.2" {
		t.Errorf("after a restart: %+v; want iaas-dynamic 1.31.2", info)
	}
	checkServingCert(t, addr, port, f.secrets.CACertPEM, serviceIP)
	want := map[string]string{g1: "v1.32.1"}
	for _, n := range []string{"control-plane-1", "control-plane-2", "workers-0", "workers-1", "workers-2"} {
		want["iaas-dynamic-"+n] = "v1.31.2"
	}
	waitNodes(t, client, want)
	if _, err := client.CoreV1().Nodes().Get(ctx, old, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the replaced node after a restart: %v; want it not found", err)
	}
}

// startManager starts a manager on dir with the binaries of `make k8s`, applies desired and
// stops the manager when the test ends.
func startManager(t *testing.T, dir string, desired []kube.Cluster) *kube.Manager {
	t.Helper()
	m, err := kube.New(kube.Options{BinDir: kube.DefaultBinDir(), Dir: dir, NodeGrace: time.Second, LeaseInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Apply(context.Background(), desired); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds, failing the test after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clientOf is an admin's client of cluster key, once its API server is ready.
func clientOf(t *testing.T, m *kube.Manager, key string) kubernetes.Interface {
	t.Helper()
	var client kubernetes.Interface
	waitFor(t, "the API server of "+key, func() bool {
		cfg, ok := m.RESTConfig(key)
		if ok {
			client = kubernetes.NewForConfigOrDie(cfg)
		}
		return ok
	})
	return client
}

// clusterInfo is what the manager says of cluster key.
func clusterInfo(t *testing.T, m *kube.Manager, key string) kube.Info {
	t.Helper()
	for _, in := range m.Clusters() {
		if in.Key == key {
			return in
		}
	}
	t.Fatalf("the manager runs no cluster %s", key)
	return kube.Info{}
}

func nodeReady(n *corev1.Node) bool {
	return slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
}

// waitNodes waits until the nodes named are Ready, each reporting its kubelet version, and
// returns them.
func waitNodes(t *testing.T, client kubernetes.Interface, kubelets map[string]string) map[string]*corev1.Node {
	t.Helper()
	out := map[string]*corev1.Node{}
	for name, version := range kubelets {
		waitFor(t, "node "+name+" Ready at "+version, func() bool {
			n, err := client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			out[name] = n
			return nodeReady(n) && n.Status.NodeInfo.KubeletVersion == version
		})
	}
	return out
}

// checkKept checks that the object created before the replacement is still there.
func checkKept(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	got, err := client.CoreV1().ConfigMaps("default").Get(context.Background(), "kept", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "b" {
		t.Errorf("the configmap created before: %v, %v", got, err)
	}
}

// checkServingCert checks that the API server's certificate chains to the cluster CA and
// names the kubernetes service's address (the first of the service range).
func checkServingCert(t *testing.T, addr netip.Addr, port int, caPEM []byte, serviceIP string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(port)), &tls.Config{RootCAs: pool, ServerName: serviceIP})
	if err != nil {
		t.Fatalf("TLS to the API server as %s: %v", serviceIP, err)
	}
	conn.Close()
}
