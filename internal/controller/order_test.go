package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

func TestCreationDepsKindOrder(t *testing.T) {
	items := []v1alpha1.InventoryItem{
		{Key: "vnet", Kind: string(plan.KindVirtualNetwork)},
		{Key: "vm/a-0", Kind: string(plan.KindVirtualMachine)},
		{Key: "nic/a-0", Kind: string(plan.KindNetworkInterface)},
		{Key: "storage-account", Kind: string(plan.KindStorageAccount)},
		{Key: "natgw", Kind: string(plan.KindNatGateway)},
		{Key: "subnet/a", Kind: string(plan.KindSubnet)},
		{Key: "osdisk/a-0", Kind: string(plan.KindOSDisk)},
	}
	deps := creationDeps(items, nil)
	// A resource is deleted after everything that depends on it: the VM first, the storage
	// account last, a subnet before its NAT gateway.
	for _, tc := range []struct{ key, after string }{
		{"vm/a-0", "nic/a-0"}, {"vm/a-0", "osdisk/a-0"}, {"nic/a-0", "subnet/a"}, {"subnet/a", "natgw"}, {"natgw", "vnet"}, {"vnet", "storage-account"},
	} {
		if !slices.Contains(deps[tc.key], tc.after) {
			t.Errorf("%s is not created after %s: deps %v", tc.key, tc.after, deps[tc.key])
		}
		if slices.Contains(deps[tc.after], tc.key) {
			t.Errorf("%s depends on %s", tc.after, tc.key)
		}
	}
}

func TestCreationDepsFromGraph(t *testing.T) {
	g := &plan.Graph{Nodes: []*plan.Node{
		{Key: "resource-group", Kind: plan.KindResourceGroup},
		{Key: "subnet/a", Kind: plan.KindSubnet, DependsOn: []string{"resource-group"}},
		{Key: "nic/a-0", Kind: plan.KindNetworkInterface, DependsOn: []string{"subnet/a"}},
		{Key: "vm/a-0", Kind: plan.KindVirtualMachine, DependsOn: []string{"nic/a-0"}},
	}}
	items := []v1alpha1.InventoryItem{
		{Key: "vm/a-0", Kind: string(plan.KindVirtualMachine), Managed: true},
		{Key: "subnet/a", Kind: string(plan.KindSubnet), Managed: true},
	}
	// The NIC is not in the inventory: the VM still comes after the subnet, through it.
	deps := creationDeps(items, g)
	if !slices.Equal(deps["vm/a-0"], []string{"subnet/a"}) || len(deps["subnet/a"]) != 0 {
		t.Errorf("deps %v", deps)
	}
}

func TestBackoff(t *testing.T) {
	c := New(Config{Store: nilStore{}})
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}

// nilStore satisfies Store for tests that never reach it.
type nilStore struct{ Store }
