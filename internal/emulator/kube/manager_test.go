package kube_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// waitFor polls cond until it holds or a minute passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newManager(t *testing.T, dir string) *kube.Manager {
	t.Helper()
	m, err := kube.New(kube.Options{BinDir: kube.DefaultBinDir(), Dir: dir, NodeGrace: time.Second, LeaseInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func clientOf(t testing.TB, m *kube.Manager, key string) kubernetes.Interface {
	t.Helper()
	var cfg *rest.Config
	waitFor(t, "the API server of "+key, func() bool {
		var ok bool
		cfg, ok = m.RESTConfig(key)
		return ok
	})
	return kubernetes.NewForConfigOrDie(cfg)
}

func readyNodes(t testing.TB, c kubernetes.Interface) int {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return -1
	}
	n := 0
	for _, node := range nodes.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

// TestClusterLifecycle runs a cluster's control plane at a loopback address with the cluster's
// own CA, keeps its objects over a restart of the manager (the same etcd data), and removes
// its processes and data when the cluster is no longer desired.
func TestClusterLifecycle(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey := kubetest.NewCA(t)
	addr := netip.MustParseAddr("127.77.250.1")
	c := kube.Cluster{Key: "/subscriptions/s/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/one",
		Name: "one", CACertPEM: caCert, CAKeyPEM: caKey, Address: addr, Port: kubetest.FreePort(t),
		DNSNames: []string{"one-abc.hcp.westeurope.azmk8s.io"},
		Nodes: []nodesim.Node{
			{Name: "n1", Running: true, CPU: 2, MemoryMiB: 8192, KubeletVersion: "v1.37.2", InternalIP: "10.0.0.4"},
			{Name: "n2", Running: true, CPU: 2, MemoryMiB: 8192, KubeletVersion: "v1.37.2", InternalIP: "10.0.0.5"},
		}}
	m := newManager(t, dir)
	if err := m.Apply(context.Background(), []kube.Cluster{c}); err != nil {
		t.Fatal(err)
	}
	client := clientOf(t, m, c.Key)
	waitFor(t, "2 Ready nodes", func() bool { return readyNodes(t, client) == 2 })
	checkServingCert(t, addr, c.Port, caCert, c.DNSNames[0])
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"a": "b"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	info := m.Clusters()
	if len(info) != 1 || !info[0].Ready || info[0].RSSBytes == 0 {
		t.Fatalf("clusters = %+v, want one ready with its memory", info)
	}
	// An API server that dies is started again, with its cluster's other processes.
	if err := syscall.Kill(info[0].PIDs[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the control plane to start again", func() bool {
		in := m.Clusters()
		return len(in) == 1 && in[0].Ready && len(in[0].PIDs) > 0 && in[0].PIDs[0] != info[0].PIDs[0]
	})
	client = clientOf(t, m, c.Key)
	waitFor(t, "2 Ready nodes again", func() bool { return readyNodes(t, client) == 2 })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A new manager on the same directory brings the cluster back from the same etcd.
	m = newManager(t, dir)
	defer m.Close()
	c.CACertPEM, c.CAKeyPEM = nil, nil // kept from the first start
	if err := m.Apply(context.Background(), []kube.Cluster{c}); err != nil {
		t.Fatal(err)
	}
	client = clientOf(t, m, c.Key)
	if got, err := client.CoreV1().ConfigMaps("default").Get(context.Background(), "kept", metav1.GetOptions{}); err != nil || got.Data["a"] != "b" {
		t.Fatalf("after a restart, configmap kept = %v, %v", got, err)
	}

	// No longer desired: stopped, its port closed, its directory and objects removed.
	if err := m.Apply(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the API server to stop", func() bool {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(c.Port)), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	waitFor(t, "the cluster's directory to go", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "clusters"))
		return len(entries) == 0
	})
	// The same key desired again starts from an empty etcd prefix.
	c.CACertPEM, c.CAKeyPEM = caCert, caKey
	if err := m.Apply(context.Background(), []kube.Cluster{c}); err != nil {
		t.Fatal(err)
	}
	client = clientOf(t, m, c.Key)
	if _, err := client.CoreV1().ConfigMaps("default").Get(context.Background(), "kept", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a deleted cluster's configmap is back: %v", err)
	}
}

// checkServingCert asserts that the API server's certificate chains to the cluster CA and
// names the cluster's DNS name and address.
func checkServingCert(t *testing.T, addr netip.Addr, port int, caPEM []byte, name string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, serverName := range []string{name, addr.String()} {
		conn, err := tls.Dial("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(port)), &tls.Config{RootCAs: pool, ServerName: serverName})
		if err != nil {
			t.Fatalf("TLS to the API server as %s: %v", serverName, err)
		}
		conn.Close()
	}
}

// TestNewRefusesMissingBinaries names what is missing and how to get it.
func TestNewRefusesMissingBinaries(t *testing.T) {
	_, err := kube.New(kube.Options{BinDir: t.TempDir(), Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "kube-apiserver") || !strings.Contains(err.Error(), "make k8s") {
		t.Fatalf("New without binaries: %v", err)
	}
}

// TestVersionMatchesTheBuild keeps Version in step with the module that builds the binaries.
func TestVersionMatchesTheBuild(t *testing.T) {
	b, err := os.ReadFile("../../../hack/k8s/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "k8s.io/kubernetes "+kube.Version) {
		t.Fatalf("hack/k8s/go.mod does not require k8s.io/kubernetes %s", kube.Version)
	}
}
