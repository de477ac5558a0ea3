// Package kubetest starts real Kubernetes control planes for tests, from the binaries that
// `make k8s` builds (kube.DefaultBinDir).
package kubetest

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/plan"
)

// Start runs etcd and a kube-apiserver alone (no controller manager, scheduler or node
// simulator) until the test ends, and returns an admin's client configuration.
func Start(t testing.TB) *rest.Config {
	return start(t, true)
}

// StartWithControllers runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// (no node simulator) until the test ends, and returns an admin's client configuration.
func StartWithControllers(t testing.TB) *rest.Config {
	return start(t, false)
}

func start(t testing.TB, apiOnly bool) *rest.Config {
	t.Helper()
	bin := kube.DefaultBinDir()
	if err := kube.CheckBinaries(bin); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	m, err := kube.New(kube.Options{BinDir: bin, Dir: t.TempDir(), WithoutControllers: apiOnly, WithoutSimulator: true})
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	caCert, caKey := NewCA(t)
	c := kube.Cluster{Key: "kubetest/" + t.Name(), Name: "kubetest", CACertPEM: caCert, CAKeyPEM: caKey,
		Address: netip.MustParseAddr("127.0.0.1"), Port: FreePort(t)}
	if err := m.Apply(context.Background(), []kube.Cluster{c}); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if cfg, ok := m.RESTConfig(c.Key); ok {
			return cfg
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("kubetest: the API server did not become ready in 2 minutes")
	return nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NewCA returns a new cluster CA's certificate and key in PEM: the one strata's planner makes
// for an IaaS cluster.
func NewCA(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	s, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s.CACertPEM, s.CAKeyPEM
}
