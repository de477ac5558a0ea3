package kube_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// BenchmarkClusterControlPlane starts one cluster's control plane (kube-apiserver,
// kube-controller-manager, kube-scheduler and a node simulator with 3 nodes) on a running
// etcd, and reports how long it took until its API server answered /readyz and until its 3
// nodes were Ready, and the resident memory of its processes and of etcd once settled.
func BenchmarkClusterControlPlane(b *testing.B) {
	caCert, caKey := kubetest.NewCA(b)
	for i := 0; b.Loop(); i++ {
		m, err := kube.New(kube.Options{BinDir: kube.DefaultBinDir(), Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		// etcd first, so that the figure is one cluster's start on a running emulator.
		warm := kube.Cluster{Key: "warm", Name: "warm", CACertPEM: caCert, CAKeyPEM: caKey,
			Address: netip.MustParseAddr("127.77.251.1"), Port: kubetest.FreePort(b)}
		if err := m.Apply(context.Background(), []kube.Cluster{warm}); err != nil {
			b.Fatal(err)
		}
		c := kube.Cluster{Key: fmt.Sprintf("bench-%d", i), Name: "bench", CACertPEM: caCert, CAKeyPEM: caKey,
			Address: netip.MustParseAddr("127.77.251.2"), Port: kubetest.FreePort(b)}
		for n := range 3 {
			c.Nodes = append(c.Nodes, nodesim.Node{Name: fmt.Sprintf("node-%d", n), Running: true, CPU: 2, MemoryMiB: 8192,
				KubeletVersion: kube.Version, InternalIP: fmt.Sprintf("10.0.0.%d", 4+n)})
		}
		start := time.Now()
		if err := m.Apply(context.Background(), []kube.Cluster{c}); err != nil {
			b.Fatal(err)
		}
		// Applying without warm stops it: only the measured cluster runs from here on.
		client := clientOf(b, m, c.Key)
		api := time.Since(start)
		waitFor(b, "3 Ready nodes", func() bool { return readyNodes(b, client) == 3 })
		nodes := time.Since(start)
		time.Sleep(10 * time.Second) // let the memory settle after start-up
		var rss int64
		for _, in := range m.Clusters() {
			if in.Key == c.Key {
				rss = in.RSSBytes
			}
		}
		b.ReportMetric(api.Seconds(), "s-apiserver-ready")
		b.ReportMetric(nodes.Seconds(), "s-nodes-ready")
		b.ReportMetric(float64(rss)/(1<<20), "MiB-rss-cluster")
		b.ReportMetric(float64(m.EtcdRSSBytes())/(1<<20), "MiB-rss-etcd")
		_ = m.Close()
	}
}
