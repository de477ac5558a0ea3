package fromarm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

const (
	testSub = "0b5d6f2e-7c1a-4d3b-9e8f-1a2b3c4d5e6f"
	aksID   = "/subscriptions/" + testSub + "/resourceGroups/Apps-RG/providers/Microsoft.ContainerService/managedClusters/Demo"
	// aksDigits are the digits of Demo's scale set names. They are pinned: node names are
	// kept in etcd, so they must not change from one emulator version to the next.
	aksDigits = "05598373"
)

// aksResources are a managed cluster as the containerservice provider stores it, with two
// agent pools: system (3 × Standard_D4s_v3 in zones 1-3) and apps (4 × Standard_D2s_v3 in
// zones 1-3, with labels and taints).
func aksResources() []*arm.Resource {
	cluster := &arm.Resource{ID: aksID, Type: typeManagedCluster, Body: map[string]any{
		"id": aksID, "name": "Demo", "type": typeManagedCluster, "location": "westeurope",
		"properties": map[string]any{
			"provisioningState": "Succeeded", "kubernetesVersion": "1.33", "currentKubernetesVersion": "1.33.2",
			"dnsPrefix": "demo", "fqdn": "demo-1a2b3c4d.hcp.westeurope.azmk8s.io",
			"nodeResourceGroup": "MC_Apps-RG_Demo_westeurope",
			"networkProfile":    map[string]any{"serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
			"powerState":        map[string]any{"code": "Running"},
		},
		hiddenKey: map[string]any{
			"secrets": map[string]any{"ca": "CA CERT", "caKey": "CA KEY", "adminCert": "ADMIN CERT", "adminKey": "ADMIN KEY",
				"adminToken": "0123456789abcdef0123456789abcdef", "userToken": "fedcba9876543210fedcba9876543210"},
			"apiServerAddress": "127.78.3.9",
		},
	}}
	system := agentPool("system", map[string]any{"count": int64(3), "vmSize": "Standard_D4s_v3", "mode": "System",
		"availabilityZones": []any{"1", "2", "3"}})
	apps := agentPool("apps", map[string]any{"count": float64(4), "vmSize": "Standard_D2s_v3", "mode": "User",
		"availabilityZones": []any{"1", "2", "3"}, "nodeLabels": map[string]any{"workload": "apps"},
		"nodeTaints": []any{"dedicated=apps:NoSchedule", "gpu:NoExecute"}})
	return []*arm.Resource{system, cluster, apps}
}

// agentPool is an agent pool of Demo as stored, with the given properties over the defaults.
func agentPool(name string, props map[string]any) *arm.Resource {
	id := aksID + "/agentPools/" + name
	p := map[string]any{"provisioningState": "Succeeded", "orchestratorVersion": "1.33", "currentOrchestratorVersion": "1.33.2",
		"osType": "Linux", "type": "VirtualMachineScaleSets", "powerState": map[string]any{"code": "Running"}}
	for k, v := range props {
		p[k] = v
	}
	return &arm.Resource{ID: id, Type: typeAgentPool, Body: map[string]any{"id": id, "name": name, "type": typeAgentPool, "properties": p}}
}

// props returns the properties of the resource of resources whose ID ends with suffix.
func props(t *testing.T, resources []*arm.Resource, suffix string) map[string]any {
	t.Helper()
	for _, r := range resources {
		if strings.HasSuffix(r.ID, suffix) {
			return r.Properties()
		}
	}
	t.Fatalf("no resource %s", suffix)
	return nil
}

func nodeNames(c kube.Cluster) []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Name)
	}
	return out
}

func TestAKSCluster(t *testing.T) {
	got := Clusters(aksResources())
	if len(got) != 1 {
		t.Fatalf("got %d clusters, want 1", len(got))
	}
	c := got[0]
	c.Nodes = nil
	want := kube.Cluster{
		Key: strings.ToLower(aksID), Kind: kube.KindAKS, Name: "Demo", Version: "1.33.2",
		CACertPEM: []byte("CA CERT"), CAKeyPEM: []byte("CA KEY"),
		Address: netip.MustParseAddr("127.78.3.9"), Port: 6443,
		DNSNames: []string{"demo-1a2b3c4d.hcp.westeurope.azmk8s.io"},
		Tokens: []kube.Token{
			{Token: "0123456789abcdef0123456789abcdef", User: "clusterAdmin", Groups: []string{"system:masters"}},
			{Token: "fedcba9876543210fedcba9876543210", User: "clusterUser", Groups: []string{"system:masters"}},
		},
		ServiceCIDR: "10.0.0.0/16",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("cluster:\n got %+v\nwant %+v", c, want)
	}

	// The first node in full.
	first := nodesim.Node{
		Name: "aks-apps-" + aksDigits + "-vmss000000",
		Labels: map[string]string{
			"kubernetes.io/hostname": "aks-apps-" + aksDigits + "-vmss000000",
			"kubernetes.io/os":       "linux", "kubernetes.io/arch": "amd64",
			"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
			"kubernetes.io/role":               "agent",
			"node.kubernetes.io/instance-type": "Standard_D2s_v3", "beta.kubernetes.io/instance-type": "Standard_D2s_v3",
			"topology.kubernetes.io/region": "westeurope", "failure-domain.beta.kubernetes.io/region": "westeurope",
			"topology.kubernetes.io/zone": "westeurope-1", "failure-domain.beta.kubernetes.io/zone": "westeurope-1",
			"kubernetes.azure.com/agentpool": "apps", "agentpool": "apps",
			"kubernetes.azure.com/mode": "user", "kubernetes.azure.com/cluster": "MC_Apps-RG_Demo_westeurope",
			"kubernetes.azure.com/role": "agent",
			"workload":                  "apps",
		},
		Taints: []corev1.Taint{
			{Key: "dedicated", Value: "apps", Effect: corev1.TaintEffectNoSchedule},
			{Key: "gpu", Effect: corev1.TaintEffectNoExecute},
		},
		ProviderID:     "azure:///subscriptions/" + testSub + "/resourceGroups/mc_apps-rg_demo_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-apps-" + aksDigits + "-vmss/virtualMachines/0",
		InternalIP:     "10.224.0.4",
		CPU:            2,
		MemoryMiB:      8192,
		KubeletVersion: "v1.33.2",
		Running:        true,
	}
	if !reflect.DeepEqual(got[0].Nodes[0], first) {
		t.Errorf("first node:\n got %+v\nwant %+v", got[0].Nodes[0], first)
	}
}

// aksNode is what TestAKSNodes checks of each node.
type aksNode struct {
	name, zone, ip, mode, providerIndex string
	taints                              int
	cpu, mem                            int64
	running                             bool
}

func summarizeAKS(c kube.Cluster) []aksNode {
	var out []aksNode
	for _, n := range c.Nodes {
		out = append(out, aksNode{
			name: strings.TrimPrefix(n.Name, "aks-"), zone: n.Labels["topology.kubernetes.io/zone"], ip: n.InternalIP,
			mode: n.Labels["kubernetes.azure.com/mode"], providerIndex: n.ProviderID[strings.LastIndex(n.ProviderID, "-vmss/")+1:],
			taints: len(n.Taints), cpu: n.CPU, mem: n.MemoryMiB, running: n.Running,
		})
	}
	return out
}

func TestAKSNodes(t *testing.T) {
	const d = aksDigits
	node := func(pool string, ordinal, i int, zone string, running bool) aksNode {
		n := aksNode{name: fmt.Sprintf("%s-%s-vmss%06d", pool, d, i), zone: "westeurope-" + zone,
			ip: fmt.Sprintf("10.224.%d.%d", ordinal, i+4), mode: "user", providerIndex: fmt.Sprintf("vmss/virtualMachines/%d", i),
			taints: 2, cpu: 2, mem: 8192, running: running}
		if pool == "system" {
			n.mode, n.taints, n.cpu, n.mem = "system", 0, 4, 16384
		}
		return n
	}
	apps := func(i int, zone string, running bool) aksNode { return node("apps", 0, i, zone, running) }
	system := func(i int, zone string, running bool) aksNode { return node("system", 1, i, zone, running) }
	noZone := func(n aksNode) aksNode { n.zone = "0"; return n }
	tests := []struct {
		name   string
		modify func(t *testing.T, rs []*arm.Resource) []*arm.Resource
		want   []aksNode
	}{
		{"two pools in zones 1-3", nil, []aksNode{
			apps(0, "1", true), apps(1, "2", true), apps(2, "3", true), apps(3, "1", true),
			system(0, "1", true), system(1, "2", true), system(2, "3", true),
		}},
		{"apps scaled to 6", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			props(t, rs, "/apps")["count"] = float64(6)
			return rs
		}, []aksNode{
			apps(0, "1", true), apps(1, "2", true), apps(2, "3", true), apps(3, "1", true), apps(4, "2", true), apps(5, "3", true),
			system(0, "1", true), system(1, "2", true), system(2, "3", true),
		}},
		{"apps scaled to 0", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			props(t, rs, "/apps")["count"] = int64(0)
			return rs
		}, []aksNode{
			system(0, "1", true), system(1, "2", true), system(2, "3", true),
		}},
		{"apps stopped", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			props(t, rs, "/apps")["powerState"] = map[string]any{"code": "Stopped"}
			return rs
		}, []aksNode{
			apps(0, "1", false), apps(1, "2", false), apps(2, "3", false), apps(3, "1", false),
			system(0, "1", true), system(1, "2", true), system(2, "3", true),
		}},
		{"cluster stopped", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			props(t, rs, "/Demo")["powerState"] = map[string]any{"code": "Stopped"}
			return rs
		}, []aksNode{
			apps(0, "1", false), apps(1, "2", false), apps(2, "3", false), apps(3, "1", false),
			system(0, "1", false), system(1, "2", false), system(2, "3", false),
		}},
		{"apps being deleted", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			props(t, rs, "/apps")["provisioningState"] = "Deleting"
			return rs
		}, []aksNode{
			apps(0, "1", false), apps(1, "2", false), apps(2, "3", false), apps(3, "1", false),
			system(0, "1", true), system(1, "2", true), system(2, "3", true),
		}},
		{"apps deleted", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			return slices.DeleteFunc(rs, func(r *arm.Resource) bool { return strings.HasSuffix(r.ID, "/apps") })
		}, []aksNode{
			// system is now the first pool: its addresses follow.
			node("system", 0, 0, "1", true), node("system", 0, 1, "2", true), node("system", 0, 2, "3", true),
		}},
		{"system without zones", func(t *testing.T, rs []*arm.Resource) []*arm.Resource {
			delete(props(t, rs, "/system"), "availabilityZones")
			return rs
		}, []aksNode{
			apps(0, "1", true), apps(1, "2", true), apps(2, "3", true), apps(3, "1", true),
			noZone(system(0, "", true)), noZone(system(1, "", true)), noZone(system(2, "", true)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := aksResources()
			if tt.modify != nil {
				rs = tt.modify(t, rs)
			}
			got := Clusters(rs)
			if len(got) != 1 {
				t.Fatalf("got %d clusters, want 1", len(got))
			}
			if g := summarizeAKS(got[0]); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("nodes:\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

func TestAKSClusterState(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *arm.Resource)
		check  func(t *testing.T, c kube.Cluster)
	}{
		{"not served yet", func(c *arm.Resource) { delete(c.Body[hiddenKey].(map[string]any), "apiServerAddress") },
			func(t *testing.T, c kube.Cluster) {
				if c.Address.IsValid() || c.Port != 6443 {
					t.Errorf("address %v:%d, want the zero address", c.Address, c.Port)
				}
			}},
		{"private cluster", func(c *arm.Resource) {
			c.Properties()["privateFQDN"] = "demo-1a2b3c4d.6f0e.privatelink.westeurope.azmk8s.io"
		}, func(t *testing.T, c kube.Cluster) {
			want := []string{"demo-1a2b3c4d.hcp.westeurope.azmk8s.io", "demo-1a2b3c4d.6f0e.privatelink.westeurope.azmk8s.io"}
			if !slices.Equal(c.DNSNames, want) {
				t.Errorf("DNS names %q, want %q", c.DNSNames, want)
			}
		}},
		{"no hidden state", func(c *arm.Resource) { delete(c.Body, hiddenKey) },
			func(t *testing.T, c kube.Cluster) {
				if c.CACertPEM != nil || c.CAKeyPEM != nil || c.Tokens != nil || c.Address.IsValid() {
					t.Errorf("got CA %q, tokens %v, address %v; want none", c.CACertPEM, c.Tokens, c.Address)
				}
			}},
		{"version not resolved", func(c *arm.Resource) { delete(c.Properties(), "currentKubernetesVersion") },
			func(t *testing.T, c kube.Cluster) {
				if c.Version != "1.33" || c.Nodes[0].KubeletVersion != "v1.33.2" {
					t.Errorf("version %q, kubelet %q; want 1.33 and the pool's v1.33.2", c.Version, c.Nodes[0].KubeletVersion)
				}
			}},
		{"location display name", func(c *arm.Resource) { c.Body["location"] = "West Europe" },
			func(t *testing.T, c kube.Cluster) {
				if z := c.Nodes[0].Labels["topology.kubernetes.io/zone"]; z != "westeurope-1" {
					t.Errorf("zone label %q, want westeurope-1", z)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := aksResources()
			tt.modify(rs[1])
			got := Clusters(rs)
			if len(got) != 1 {
				t.Fatalf("got %d clusters, want 1", len(got))
			}
			tt.check(t, got[0])
		})
	}
}

func TestInstanceSuffix(t *testing.T) {
	for i, want := range map[int]string{0: "000000", 9: "000009", 10: "00000a", 35: "00000z", 36: "000010", 1000: "0000rs"} {
		if got := instanceSuffix(i); got != want {
			t.Errorf("instanceSuffix(%d) = %q, want %q", i, got, want)
		}
	}
	if got := aksNodeIP(2, 300); got != "10.225.2.48" {
		t.Errorf("aksNodeIP(2, 300) = %q, want 10.225.2.48", got)
	}
}

func TestParseAKSTaint(t *testing.T) {
	tests := []struct {
		in   string
		want corev1.Taint
		ok   bool
	}{
		{"dedicated=apps:NoSchedule", corev1.Taint{Key: "dedicated", Value: "apps", Effect: "NoSchedule"}, true},
		{"example.com/gpu:NoExecute", corev1.Taint{Key: "example.com/gpu", Effect: "NoExecute"}, true},
		{"k=:PreferNoSchedule", corev1.Taint{Key: "k", Effect: "PreferNoSchedule"}, true},
		{"novalue", corev1.Taint{}, false},
		{"=v:NoSchedule", corev1.Taint{}, false},
		{"k=v:", corev1.Taint{}, false},
	}
	for _, tt := range tests {
		got, ok := parseAKSTaint(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseAKSTaint(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestIaaSCluster plans a cluster with strata's planner, in both kubeadm API versions, and
// checks the cluster and every node in full.
func TestIaaSCluster(t *testing.T) {
	for _, version := range []string{"1.30.4", "1.31.2"} { // kubeadm v1beta3, v1beta4
		t.Run(version, func(t *testing.T) {
			f := planIaaS(t, version, func(c *v1alpha1.Cluster) {
				w := &c.Spec.MachinePools[1]
				w.Labels["tier"] = "backend"
				w.Taints = []v1alpha1.Taint{{Key: "dedicated", Value: "batch", Effect: "NoSchedule"}, {Key: "spot", Effect: "PreferNoSchedule"}}
			})
			got := Clusters(f.resources)
			if len(got) != 1 {
				t.Fatalf("got %d clusters, want 1", len(got))
			}
			c := got[0]
			nodes := c.Nodes
			c.Nodes = nil
			host := strings.TrimSuffix(f.endpoint, ":6443")
			want := kube.Cluster{
				Key: "iaas/" + strings.ToLower(f.endpoint), Kind: kube.KindIaaS, Name: "iaas-dynamic", Version: version,
				CACertPEM: f.secrets.CACertPEM, CAKeyPEM: f.secrets.CAKeyPEM,
				Address: netip.MustParseAddr(f.publicIP), Port: 6443, DNSNames: []string{host},
				ServiceCIDR: "10.96.0.0/12",
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("cluster:\n got %+v\nwant %+v", c, want)
			}
			var wantNodes []nodesim.Node
			for _, pool := range []string{"control-plane", "workers"} {
				for i := range 3 {
					wantNodes = append(wantNodes, f.wantNode(pool, i, version))
				}
			}
			if !reflect.DeepEqual(nodes, wantNodes) {
				t.Errorf("nodes:\n got %+v\nwant %+v", nodes, wantNodes)
			}
		})
	}
}

// TestIaaSClusterManifests: the agent's manifest strata's planner puts in the init VM's
// cloud-init is the cluster's Manifests; without it, the cluster has none.
func TestIaaSClusterManifests(t *testing.T) {
	manifest, err := agentmanifest.Render(agentmanifest.Options{Image: agentmanifest.DefaultImage + ":test",
		Server: "127.0.0.1:7443", CAPEM: []byte("CA"), Token: "uid.secret"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		manifest []byte
		want     [][]byte
	}{
		{"with the agent", manifest, [][]byte{manifest}},
		{"without", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clusters(planIaaSAgent(t, "1.31.2", nil, tt.manifest).resources)
			if len(got) != 1 {
				t.Fatalf("got %d clusters, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0].Manifests, tt.want) {
				t.Errorf("manifests: got %d, want %d (or they differ)", len(got[0].Manifests), len(tt.want))
			}
		})
	}
}

// wantNode is the node of the i-th VM of a pool of the example cluster planned by planIaaS.
func (f *iaasFixture) wantNode(pool string, i int, version string) nodesim.Node {
	name := "iaas-dynamic-" + pool + "-" + string(rune('0'+i))
	zone := "westeurope-" + string(rune('1'+i))
	size, cpu, mem := "Standard_D2s_v3", int64(2), int64(8192)
	if pool == "workers" {
		size, cpu, mem = "Standard_D4s_v3", 4, 16384
	}
	n := nodesim.Node{
		Name: name,
		Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
			"node.kubernetes.io/instance-type": size, "beta.kubernetes.io/instance-type": size,
			"topology.kubernetes.io/region": "westeurope", "failure-domain.beta.kubernetes.io/region": "westeurope",
			"topology.kubernetes.io/zone": zone, "failure-domain.beta.kubernetes.io/zone": zone,
		},
		ProviderID:     "azure:///subscriptions/eb170fb1-b147-4a5e-b0d6-ba70f6c1c938/resourceGroups/finance-dev-rg/providers/Microsoft.Compute/virtualMachines/" + name,
		InternalIP:     f.ips[name],
		CPU:            cpu,
		MemoryMiB:      mem,
		KubeletVersion: "v" + version,
		Running:        true,
	}
	if pool == "control-plane" {
		n.Labels["node-role.kubernetes.io/control-plane"] = ""
		n.Labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
		n.Taints = []corev1.Taint{controlPlaneTaint}
	} else {
		n.Labels["workload"], n.Labels["tier"] = "general", "backend"
		n.Taints = []corev1.Taint{{Key: "dedicated", Value: "batch", Effect: "NoSchedule"}, {Key: "spot", Effect: "PreferNoSchedule"}}
	}
	return n
}

// iaasNode is what TestIaaSChanges checks of each node.
type iaasNode struct {
	name          string
	running, shut bool
	kubelet       string
}

func summarizeIaaS(c kube.Cluster) []iaasNode {
	var out []iaasNode
	for _, n := range c.Nodes {
		out = append(out, iaasNode{strings.TrimPrefix(n.Name, "iaas-dynamic-"), n.Running, n.Shutdown, n.KubeletVersion})
	}
	return out
}

func customData(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// foreignVM is a VM of the same resource group whose customData strata did not write.
func foreignVM(name string, hidden map[string]any) *arm.Resource {
	id := "/subscriptions/eb170fb1-b147-4a5e-b0d6-ba70f6c1c938/resourceGroups/finance-dev-rg/providers/Microsoft.Compute/virtualMachines/" + name
	return &arm.Resource{ID: id, Type: typeVirtualMachine, Body: map[string]any{
		"id": id, "name": name, "type": typeVirtualMachine, "location": "westeurope", hiddenKey: hidden,
		"properties": map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_B2s"},
			"osProfile": map[string]any{"computerName": name}, "provisioningState": "Succeeded"},
	}}
}

// TestPlannedVersionFiles checks that the version file strata's plan writes on every machine
// is each node's kubelet version, and the cluster's.
func TestPlannedVersionFiles(t *testing.T) {
	f := planIaaS(t, "1.31.2", nil)
	cs := Clusters(f.resources)
	if len(cs) != 1 || cs[0].Version != "1.31.2" || len(cs[0].Nodes) != 6 {
		t.Fatalf("clusters %+v", cs)
	}
	f.writeFile(t, "workers-1", kubeletVersionPath, "1.32.0\n") // as a machine of a rolling upgrade
	for _, n := range Clusters(f.resources)[0].Nodes {
		want := "v1.31.2"
		if strings.HasSuffix(n.Name, "workers-1") {
			want = "v1.32.0"
		}
		if n.KubeletVersion != want {
			t.Errorf("node %s: kubelet %q, want %q", n.Name, n.KubeletVersion, want)
		}
	}
}

func TestIaaSChanges(t *testing.T) {
	all := func(version string) []iaasNode {
		var out []iaasNode
		for _, n := range []string{"control-plane-0", "control-plane-1", "control-plane-2", "workers-0", "workers-1", "workers-2"} {
			out = append(out, iaasNode{n, true, false, version})
		}
		return out
	}
	tests := []struct {
		name   string
		modify func(t *testing.T, f *iaasFixture) []*arm.Resource
		want   func(nodes []iaasNode) []iaasNode
		check  func(t *testing.T, c kube.Cluster, f *iaasFixture)
	}{
		{"worker stopped, control plane deallocated", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			f.vm(t, "workers-1").Body[hiddenKey].(map[string]any)["powerState"] = "stopped"
			f.vm(t, "control-plane-2").Body[hiddenKey].(map[string]any)["powerState"] = "deallocated"
			return f.resources
		}, func(n []iaasNode) []iaasNode {
			n[2].running, n[2].shut = false, true
			n[4].running, n[4].shut = false, true
			return n
		}, nil},
		{"worker being deleted", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			f.vm(t, "workers-2").Properties()["provisioningState"] = "Deleting"
			return f.resources
		}, func(n []iaasNode) []iaasNode {
			n[5].running = false
			return n
		}, nil},
		{"init VM deleted", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			return f.without(typeVirtualMachine, "control-plane-0")
		}, func(n []iaasNode) []iaasNode {
			n = n[1:]
			for i := range n {
				n[i].kubelet = ""
			}
			return n
		}, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if c.Key != "iaas/"+strings.ToLower(f.endpoint) || c.Name != "" || c.Version != "" || c.CACertPEM != nil || c.CAKeyPEM != nil || c.ServiceCIDR != "" {
				t.Errorf("cluster %+v: want the same key, and no name, version, CA or service range", c)
			}
			if !c.Address.IsValid() {
				t.Error("the address is gone with the init VM")
			}
		}},
		{"machines of other versions", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			f.writeFile(t, "control-plane-0", kubeletVersionPath, "1.31.2\n")
			f.writeFile(t, "control-plane-1", kubeletVersionPath, "v1.32.0\n")
			f.writeFile(t, "workers-0", kubeletVersionPath, "1.32.0")
			return f.resources
		}, func(n []iaasNode) []iaasNode {
			n[1].kubelet, n[3].kubelet = "v1.32.0", "v1.32.0"
			return n
		}, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if c.Version != "1.31.2" || c.Name != "iaas-dynamic" {
				t.Errorf("cluster %q version %q; want the init machine's iaas-dynamic 1.31.2", c.Name, c.Version)
			}
		}},
		{"init VM replaced by a control-plane join", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			f.addVM(t, "control-plane-1", "control-plane-0-g1")
			f.writeFile(t, "control-plane-0-g1", kubeletVersionPath, "1.32.1")
			f.writeFile(t, "control-plane-1", kubeletVersionPath, "1.31.10")
			f.writeFile(t, "control-plane-2", kubeletVersionPath, "v1.31.9\n")
			f.writeFile(t, "workers-0", kubeletVersionPath, "1.30.1") // a worker's is not the control plane's
			return f.without(typeVirtualMachine, "control-plane-0")
		}, func(n []iaasNode) []iaasNode {
			n[0] = iaasNode{"control-plane-0-g1", true, false, "v1.32.1"}
			n[1].kubelet, n[2].kubelet, n[3].kubelet = "v1.31.10", "v1.31.9", "v1.30.1"
			n[4].kubelet, n[5].kubelet = "v1.31.9", "v1.31.9" // the cluster's
			return n
		}, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if c.Key != "iaas/"+strings.ToLower(f.endpoint) || c.Version != "1.31.9" {
				t.Errorf("cluster %s version %q; want the same key and the lowest control-plane version 1.31.9", c.Key, c.Version)
			}
			if c.Name != "" || c.CACertPEM != nil || c.ServiceCIDR != "" || c.Manifests != nil {
				t.Errorf("cluster %+v: want no name, CA or service range without the init VM", c)
			}
			g1 := c.Nodes[0]
			if _, ok := g1.Labels["node-role.kubernetes.io/control-plane"]; !ok || !slices.Contains(g1.Taints, controlPlaneTaint) {
				t.Errorf("the successor's node %+v is not a control-plane node", g1)
			}
		}},
		{"init VM replaced, older control-plane machines", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			f.addVM(t, "control-plane-1", "control-plane-0-g1")
			f.writeFile(t, "control-plane-0-g1", kubeletVersionPath, "1.32.1")
			f.writeFile(t, "control-plane-2", kubeletVersionPath, "1.32.1")
			return f.without(typeVirtualMachine, "control-plane-0")
		}, func(n []iaasNode) []iaasNode {
			n[0] = iaasNode{"control-plane-0-g1", true, false, "v1.32.1"}
			n[2].kubelet = "v1.32.1"
			for _, i := range []int{1, 3, 4, 5} {
				n[i].kubelet = "" // the cluster's, which the manager kept
			}
			return n
		}, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if c.Version != "" {
				t.Errorf("version %q; want none: control-plane-1 is of the version the cluster had", c.Version)
			}
		}},
		{"every VM deleted", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			return f.without(typeVirtualMachine, "")
		}, nil, nil},
		{"foreign VMs", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			return append(f.resources,
				foreignVM("script", map[string]any{"customData": customData("#!/bin/sh\nkubeadm init\n"), "powerState": "running"}),
				foreignVM("web", map[string]any{"customData": customData("#cloud-config\npackages: [nginx]\n"), "powerState": "running"}),
				foreignVM("notbase64", map[string]any{"customData": "#cloud-config", "powerState": "running"}),
				foreignVM("plain", map[string]any{"powerState": "running"}),
				foreignVM("bare", nil))
		}, func(n []iaasNode) []iaasNode { return n }, nil},
		{"no public IP", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			return f.without(typePublicIP, "")
		}, func(n []iaasNode) []iaasNode { return n }, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if c.Address.IsValid() || c.Port != 6443 || len(c.DNSNames) != 1 {
				t.Errorf("address %v:%d, names %q; want the zero address, port 6443 and the endpoint's host", c.Address, c.Port, c.DNSNames)
			}
		}},
		{"casing of types and IDs", func(t *testing.T, f *iaasFixture) []*arm.Resource {
			for _, r := range f.resources {
				r.Type = strings.ToLower(r.Type)
				r.ID = strings.ToUpper(r.ID)
			}
			return f.resources
		}, func(n []iaasNode) []iaasNode { return n }, func(t *testing.T, c kube.Cluster, f *iaasFixture) {
			if ip := c.Nodes[0].InternalIP; ip != f.ips["iaas-dynamic-control-plane-0"] {
				t.Errorf("internal IP %q, want %q", ip, f.ips["iaas-dynamic-control-plane-0"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := planIaaS(t, "1.31.2", nil)
			f.withoutVersionFiles(t) // machines made before strata wrote them; cases add them
			got := Clusters(tt.modify(t, &f))
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %d clusters, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d clusters, want 1", len(got))
			}
			if g, w := summarizeIaaS(got[0]), tt.want(all("v1.31.2")); !reflect.DeepEqual(g, w) {
				t.Errorf("nodes:\n got %+v\nwant %+v", g, w)
			}
			if tt.check != nil {
				tt.check(t, got[0], &f)
			}
		})
	}
}

// TestClustersSorted: two IaaS clusters and a managed cluster, each with its own nodes, in Key
// order whatever the order of the resources.
func TestClustersSorted(t *testing.T) {
	a := planIaaS(t, "1.30.4", func(c *v1alpha1.Cluster) { c.Metadata.Name = "zeta" })
	b := planIaaS(t, "1.31.2", func(c *v1alpha1.Cluster) { c.Metadata.Name = "alpha" })
	rs := append(append(append([]*arm.Resource{}, a.resources...), aksResources()...), b.resources...)
	slices.Reverse(rs)
	got := Clusters(rs)
	var keys []string
	for _, c := range got {
		keys = append(keys, c.Key)
	}
	want := []string{strings.ToLower(aksID), "iaas/" + strings.ToLower(b.endpoint), "iaas/" + strings.ToLower(a.endpoint)}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if n := nodeNames(got[1]); len(n) != 6 || n[0] != "alpha-control-plane-0" {
		t.Errorf("alpha's nodes %q", n)
	}
	if got[2].Name != "zeta" || got[2].Version != "1.30.4" {
		t.Errorf("zeta is %q %q", got[2].Name, got[2].Version)
	}
}

// TestClustersLeavesResources: Clusters reads the stored resources and never changes them.
func TestClustersLeavesResources(t *testing.T) {
	f := planIaaS(t, "1.31.2", nil)
	rs := append(aksResources(), f.resources...)
	rs = append(rs, foreignVM("bare", nil), &arm.Resource{ID: "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/nobody"})
	before, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	Clusters(rs)
	after, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("Clusters changed the resources")
	}
}
