package controller_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/store"
)

const (
	typeManagedCluster = "microsoft.containerservice/managedclusters"
	typeAgentPool      = "microsoft.containerservice/managedclusters/agentpools"
)

// armCalls counts the emulator's successful ARM requests of a method on a resource type.
func (h *harness) armCalls(t *testing.T, method, typ string) int64 {
	t.Helper()
	ok, _ := h.env.Requests(t, method, typ)
	return ok
}

// update applies change to the stored cluster (retrying on conflicts) and returns the new
// generation.
func (h *harness) update(t *testing.T, name string, change func(*v1alpha1.Cluster)) int64 {
	t.Helper()
	for {
		cl := h.get(t, name)
		change(cl)
		err := h.st.Update(context.Background(), cl)
		if err == nil {
			return h.get(t, name).Metadata.Generation
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
}

// settle waits until the cluster is Running at its generation and has been resynced several
// times since (its managed cluster read again), so that any write a pass would send was sent.
func (h *harness) settle(t *testing.T, name string) *v1alpha1.Cluster {
	t.Helper()
	h.waitRunning(t, name)
	reads := h.armCalls(t, http.MethodGet, typeManagedCluster)
	deadline := time.Now().Add(30 * time.Second)
	for h.armCalls(t, http.MethodGet, typeManagedCluster) < reads+3 {
		if time.Now().After(deadline) {
			t.Fatal("no resync read the managed cluster three times in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h.waitRunning(t, name)
}

// aksCluster is the example AKS cluster pointed at the emulator.
func (h *harness) aksCluster(t *testing.T) *v1alpha1.Cluster {
	t.Helper()
	cl := h.cluster(t, "cluster-aks.yaml")
	// The example's sizes exist in the emulator's catalogue in every zone of its region.
	return cl
}

// TestAKSLifecycle provisions the example AKS cluster, changes it on day 2 one setting at a
// time, counting the ARM writes each change causes, and deletes it.
func TestAKSLifecycle(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.aksCluster(t)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	name := cl.Key()
	next := decodeExample(t, "profile-aks.yaml")[0].(*v1alpha1.ClusterProfile)
	next.Spec.Version = "1.1.0"
	next.Spec.Layers[0].Version = "1.31.5"
	if err := h.st.Create(ctx, next); err != nil {
		t.Fatal(err)
	}
	cl = h.settle(t, name)

	mcp := cl.Status.ManagedControlPlane
	if mcp == nil || mcp.KubernetesVersion != "1.30.9" || mcp.PowerState != "Running" || mcp.SKUTier != "Standard" ||
		mcp.UpgradeChannel != "rapid" || mcp.FQDN == "" || mcp.ProvisioningState != "Succeeded" {
		t.Fatalf("status.managedControlPlane = %+v", mcp)
	}
	if cl.Status.ControlPlaneEndpoint != mcp.FQDN+":443" {
		t.Errorf("controlPlaneEndpoint %q, want %s:443", cl.Status.ControlPlaneEndpoint, mcp.FQDN)
	}
	rg := cl.Spec.Azure.ResourceGroup
	res := h.resources()
	for typ, n := range map[string]int{typeManagedCluster: 1, typeAgentPool: 2, typeVNet: 1, typeSubnet: 1, typeNSG: 1, typeNATGW: 0, typePIP: 0, typeVM: 0} {
		if got := len(inGroup(res[typ], rg)); got != n {
			t.Errorf("%d resources of type %s, want %d", got, typ, n)
		}
	}
	mcID := inGroup(res[typeManagedCluster], rg)[0].ID
	mc := inGroup(res[typeManagedCluster], rg)[0].Body
	if path(mc, "sku", "tier") != "Standard" || path(mc, "properties", "aadProfile", "managed") != true ||
		path(mc, "properties", "autoUpgradeProfile", "upgradeChannel") != "rapid" {
		t.Errorf("managed cluster: sku %v, aadProfile %v, autoUpgradeProfile %v", path(mc, "sku"),
			path(mc, "properties", "aadProfile"), path(mc, "properties", "autoUpgradeProfile"))
	}
	for _, it := range cl.Status.Inventory {
		if !it.Managed && it.Kind != "ResourceGroup" {
			t.Errorf("dynamic placement adopted %s", it.Key)
		}
	}

	// Day 2: each change is exactly the writes it needs, then nothing on later resyncs.
	kubernetesValues := func(v string) func(*v1alpha1.Cluster) {
		return func(c *v1alpha1.Cluster) { c.Spec.Profiles[0].Values = map[string]string{"kubernetes": v} }
	}
	pool := func(name string, f func(*v1alpha1.MachinePool)) func(*v1alpha1.Cluster) {
		return func(c *v1alpha1.Cluster) {
			for i := range c.Spec.MachinePools {
				if c.Spec.MachinePools[i].Name == name {
					f(&c.Spec.MachinePools[i])
				}
			}
		}
	}
	steps := []struct {
		name   string
		change func(*v1alpha1.Cluster)
		// Expected successful requests by method and type.
		want  map[[2]string]int64
		check func(t *testing.T, c *v1alpha1.Cluster)
	}{
		{"nothing changes", func(*v1alpha1.Cluster) {}, nil, nil},
		{"SKU tier Standard to Free", kubernetesValues("managedControlPlane:\n  sku: Free\n"),
			map[[2]string]int64{{"PUT", typeManagedCluster}: 1},
			func(t *testing.T, c *v1alpha1.Cluster) {
				if c.Status.ManagedControlPlane.SKUTier != "Free" {
					t.Errorf("effective tier %s", c.Status.ManagedControlPlane.SKUTier)
				}
			}},
		{"upgrade channel rapid to stable", kubernetesValues("managedControlPlane:\n  sku: Free\n  autoUpgradeProfile:\n    upgradeChannel: stable\n"),
			map[[2]string]int64{{"PUT", typeManagedCluster}: 1},
			func(t *testing.T, c *v1alpha1.Cluster) {
				if c.Status.ManagedControlPlane.UpgradeChannel != "stable" {
					t.Errorf("effective channel %s", c.Status.ManagedControlPlane.UpgradeChannel)
				}
			}},
		{"admin groups", kubernetesValues("managedControlPlane:\n  sku: Free\n  autoUpgradeProfile:\n    upgradeChannel: stable\n  aadProfile:\n    managed: true\n    adminGroupObjectIDs: [0e5b1f3a-9c2d-4b7e-8f6a-1d3c5e7a9b20]\n"),
			map[[2]string]int64{{"PUT", typeManagedCluster}: 1},
			func(t *testing.T, _ *v1alpha1.Cluster) {
				mc := inGroup(h.resources()[typeManagedCluster], rg)[0].Body
				if g := list(mc, "properties", "aadProfile", "adminGroupObjectIDs"); len(g) != 1 || g[0] != "0e5b1f3a-9c2d-4b7e-8f6a-1d3c5e7a9b20" {
					t.Errorf("admin groups %v", g)
				}
			}},
		{"OIDC issuer, workload identity, KEDA and Azure Policy turned on together", kubernetesValues(`managedControlPlane:
  sku: Free
  autoUpgradeProfile:
    upgradeChannel: stable
  aadProfile:
    managed: true
    adminGroupObjectIDs: [0e5b1f3a-9c2d-4b7e-8f6a-1d3c5e7a9b20]
  oidcIssuerProfile:
    enabled: true
  securityProfile:
    workloadIdentity:
      enabled: true
  workloadAutoScalerProfile:
    keda:
      enabled: true
  addonProfiles:
    - name: azurepolicy
      enabled: true
`),
			map[[2]string]int64{{"PUT", typeManagedCluster}: 1},
			func(t *testing.T, _ *v1alpha1.Cluster) {
				mc := inGroup(h.resources()[typeManagedCluster], rg)[0].Body
				for what, v := range map[string]any{
					"OIDC issuer":       path(mc, "properties", "oidcIssuerProfile", "enabled"),
					"workload identity": path(mc, "properties", "securityProfile", "workloadIdentity", "enabled"),
					"KEDA":              path(mc, "properties", "workloadAutoScalerProfile", "keda", "enabled"),
					"Azure Policy":      path(mc, "properties", "addonProfiles", "azurepolicy", "enabled"),
				} {
					if v != true {
						t.Errorf("%s: enabled %v", what, v)
					}
				}
				if u, _ := path(mc, "properties", "oidcIssuerProfile", "issuerURL").(string); u == "" {
					t.Error("no OIDC issuer URL")
				}
			}},
		{"system pool count 2 to 3", pool("system", func(p *v1alpha1.MachinePool) { p.Count, p.Min, p.Max = 3, new(3), new(3) }),
			map[[2]string]int64{{"PUT", typeAgentPool}: 1}, nil},
		{"autoscaler bounds of the user pool", pool("user", func(p *v1alpha1.MachinePool) { p.Max = new(20) }),
			map[[2]string]int64{{"PUT", typeAgentPool}: 1},
			func(t *testing.T, _ *v1alpha1.Cluster) {
				for _, r := range inGroup(h.resources()[typeAgentPool], rg) {
					if strings.HasSuffix(r.ID, "/user") && path(r.Body, "properties", "maxCount") != float64(20) {
						t.Errorf("user pool maxCount %v", path(r.Body, "properties", "maxCount"))
					}
				}
			}},
		{"a pool added", func(c *v1alpha1.Cluster) {
			c.Spec.MachinePools = append(c.Spec.MachinePools, v1alpha1.MachinePool{Name: "batch", Count: 1, InstanceType: "Standard_D4s_v5"})
		}, map[[2]string]int64{{"PUT", typeAgentPool}: 1}, nil},
		{"a pool removed", func(c *v1alpha1.Cluster) {
			c.Spec.MachinePools = slices.DeleteFunc(c.Spec.MachinePools, func(p v1alpha1.MachinePool) bool { return p.Name == "batch" })
		}, map[[2]string]int64{{"DELETE", typeAgentPool}: 1}, nil},
		{"a new profile version upgrades Kubernetes: the control plane, then each pool", func(c *v1alpha1.Cluster) {
			c.Spec.Profiles[0].Version = "1.1.0"
		}, map[[2]string]int64{{"PUT", typeManagedCluster}: 1, {"PUT", typeAgentPool}: 2},
			func(t *testing.T, c *v1alpha1.Cluster) {
				if v := c.Status.ManagedControlPlane.KubernetesVersion; v != "1.31.5" {
					t.Errorf("control plane runs %s", v)
				}
				for _, r := range inGroup(h.resources()[typeAgentPool], rg) {
					if v := path(r.Body, "properties", "currentOrchestratorVersion"); v != "1.31.5" {
						t.Errorf("pool %s runs %v", r.ID, v)
					}
				}
			}},
	}
	counted := [][2]string{{"PUT", typeManagedCluster}, {"PATCH", typeManagedCluster}, {"DELETE", typeManagedCluster},
		{"PUT", typeAgentPool}, {"DELETE", typeAgentPool}, {"PUT", typeVNet}, {"PUT", typeSubnet}, {"PUT", typeNSG}}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := map[[2]string]int64{}
			for _, k := range counted {
				before[k] = h.armCalls(t, k[0], k[1])
			}
			h.update(t, name, st.change)
			v1alpha1.Default(h.get(t, name))
			c := h.settle(t, name)
			for _, k := range counted {
				if got := h.armCalls(t, k[0], k[1]) - before[k]; got != st.want[k] {
					t.Errorf("%d %s %s, want %d", got, k[0], k[1], st.want[k])
				}
			}
			if st.check != nil {
				st.check(t, c)
			}
		})
	}
	if got := len(inGroup(h.resources()[typeAgentPool], rg)); got != 2 {
		t.Errorf("%d agent pools after the day-2 changes, want 2", got)
	}

	h.requestDelete(t, name)
	h.waitGone(t, name)
	res = h.resources()
	for _, typ := range []string{typeManagedCluster, typeAgentPool, typeVNet, typeSubnet, typeNSG} {
		if got := inGroup(res[typ], rg); len(got) != 0 {
			t.Errorf("left behind: %d %s", len(got), typ)
		}
	}
	for _, r := range res["microsoft.resources/resourcegroups"] {
		if by, _ := path(r.Body, "managedBy").(string); strings.EqualFold(by, mcID) {
			t.Errorf("AKS's node resource group %s is left", r.ID)
		}
	}
	if len(h.resources()["microsoft.resources/resourcegroups"]) == 0 {
		t.Error("the user's resource group was deleted")
	}
}

// TestAKSStaticPlacementKeepsUserNetwork provisions an AKS cluster in the user's VNet: its
// pools are in the user's worker subnet, nothing of the network is written, and deletion
// leaves the VNet, subnets and NSGs exactly as they were.
func TestAKSStaticPlacementKeepsUserNetwork(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.aksCluster(t)
	cl.Metadata.Name = "aks-static"
	cl.Spec.Azure.Placement = &v1alpha1.StaticPlacement{
		ResourceGroup: "corp-network-rg", VirtualNetwork: "corp-vnet", CIDR: "10.10.0.0/16",
		ControlPlaneSubnet: &v1alpha1.Subnet{Name: "aks-cp-subnet", CIDR: "10.10.0.0/24", SecurityGroup: "aks-cp-nsg"},
		WorkerSubnet:       &v1alpha1.Subnet{Name: "aks-node-subnet", CIDR: "10.10.16.0/20", SecurityGroup: "aks-node-nsg"},
	}
	cl.Spec.Azure.Storage = &v1alpha1.CustomStorage{Account: "unused", Container: "unused"} // userResources makes storage too
	ids := h.userResources(t, cl)
	cl.Spec.Azure.Storage = nil
	before := h.bodies(ids)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, cl.Key())
	rg := cl.Spec.Azure.ResourceGroup
	res := h.resources()
	for _, typ := range []string{typeVNet, typeSubnet, typeNSG} {
		if got := len(inGroup(res[typ], rg)); got != 0 {
			t.Errorf("static placement created %d %s", got, typ)
		}
	}
	for _, r := range inGroup(res[typeAgentPool], rg) {
		if sub, _ := path(r.Body, "properties", "vnetSubnetID").(string); !strings.HasSuffix(sub, "/virtualNetworks/corp-vnet/subnets/aks-node-subnet") {
			t.Errorf("pool %s in subnet %q", r.ID, sub)
		}
	}
	h.requestDelete(t, cl.Key())
	h.waitGone(t, cl.Key())
	after := h.bodies(ids)
	for _, id := range ids {
		if !reflect.DeepEqual(before[id], after[id]) {
			t.Errorf("user resource %s changed:\nbefore %v\nafter  %v", id, before[id], after[id])
		}
	}
	if got := inGroup(h.resources()[typeManagedCluster], rg); len(got) != 0 {
		t.Errorf("managed cluster left: %v", got)
	}
}

// TestAKSStatusConditions checks the conditions of a Running AKS cluster.
func TestAKSStatusConditions(t *testing.T) {
	h := start(t)
	cl := h.aksCluster(t)
	if err := h.st.Create(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, cl.Key())
	for _, typ := range []string{controller.ConditionReady, controller.ConditionNetworkReady, controller.ConditionControlPlaneReady, controller.ConditionNodePoolsReady} {
		found := false
		for _, c := range cl.Status.Conditions {
			if c.Type == typ {
				found = c.Status == "True"
			}
		}
		if !found {
			t.Errorf("condition %s not True: %+v", typ, cl.Status.Conditions)
		}
	}
}
