package kube

import (
	"log/slog"
	"reflect"
	"testing"

	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// TestWithIdentity: a spec without a name, version or service range (an IaaS cluster whose
// init VM was replaced) gets those seen last for its key, by this manager or one that ran
// before on the same directory; a newer version replaces the kept one; nodes without a
// kubelet version report the cluster's; another key keeps nothing of this one.
func TestWithIdentity(t *testing.T) {
	dir := t.TempDir()
	newManager := func() *Manager { return &Manager{opts: Options{Dir: dir}, log: slog.New(slog.DiscardHandler)} }
	const key = "iaas/demo.westeurope.cloudapp.azure.com:6443"
	nodes := func(versions ...string) []nodesim.Node {
		var out []nodesim.Node
		for i, v := range versions {
			out = append(out, nodesim.Node{Name: string(rune('a' + i)), KubeletVersion: v})
		}
		return out
	}
	check := func(t *testing.T, got Cluster, name, version, cidr string, kubelets ...string) {
		t.Helper()
		if got.Name != name || got.Version != version || got.ServiceCIDR != cidr || !reflect.DeepEqual(got.Nodes, nodes(kubelets...)) {
			t.Errorf("got %q %q %q, nodes %+v; want %q %q %q, kubelets %q", got.Name, got.Version, got.ServiceCIDR, got.Nodes, name, version, cidr, kubelets)
		}
	}

	m := newManager()
	check(t, m.withIdentity(Cluster{Key: key, Name: "demo", Version: "1.30.4", ServiceCIDR: "10.100.0.0/16", Nodes: nodes("v1.30.4", "")}),
		"demo", "1.30.4", "10.100.0.0/16", "v1.30.4", "v1.30.4")
	spec := Cluster{Key: key, Nodes: nodes("v1.31.2", "")}
	check(t, m.withIdentity(spec), "demo", "1.30.4", "10.100.0.0/16", "v1.31.2", "v1.30.4")
	if spec.Nodes[1].KubeletVersion != "" {
		t.Error("withIdentity changed the caller's nodes")
	}

	m = newManager() // the emulator restarted
	check(t, m.withIdentity(Cluster{Key: key, Nodes: nodes("")}), "demo", "1.30.4", "10.100.0.0/16", "v1.30.4")
	check(t, m.withIdentity(Cluster{Key: key, Version: "1.31.2", Nodes: nodes("")}), "demo", "1.31.2", "10.100.0.0/16", "v1.31.2")
	check(t, newManager().withIdentity(Cluster{Key: key, Nodes: nodes("")}), "demo", "1.31.2", "10.100.0.0/16", "v1.31.2")

	check(t, m.withIdentity(Cluster{Key: key + "0", Nodes: nodes("")}), "", "", "", "")
}
