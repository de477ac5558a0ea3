package resourcegraph_test

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// waitFor polls cond until it holds, for at most 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// envTag returns the tag v of the VNet named vnet as Resource Graph shows it, and whether the
// VNet is there.
func (g *graphEnv) envTag(t *testing.T) (string, bool) {
	rows := g.rows(t, "Resources | where name == 'vnet' | project name, tags.v")
	if len(rows) == 0 {
		return "", false
	}
	v, _ := rows[0]["tags_v"].(string)
	return v, true
}

// TestLag checks that a creation, a tag change and a deletion show only once the lag has
// passed. The "not yet" checks are made only when the query came back within the lag (a slow
// machine skips them); the "at last" ones always.
func TestLag(t *testing.T) {
	const lag = 500 * time.Millisecond
	g := start(t, resourcegraph.Options{Lag: lag, Quota: 100000})
	ctx := context.Background()
	g.ResourceGroup(t, "rg")

	steps := []struct {
		name   string
		write  func()
		before func(v string, ok bool) bool // the answer within the lag
		after  func(v string, ok bool) bool // the answer once the lag passed
	}{
		{"create", func() { g.vnet(t, "rg", "vnet", map[string]string{"v": "1"}) },
			func(_ string, ok bool) bool { return !ok },
			func(v string, ok bool) bool { return ok && v == "1" }},
		{"tag", func() {
			if _, err := g.vnets.UpdateTags(ctx, "rg", "vnet", armnetwork.TagsObject{Tags: map[string]*string{"v": to.Ptr("2")}}, nil); err != nil {
				t.Fatal(err)
			}
		},
			func(v string, ok bool) bool { return ok && v == "1" },
			func(v string, ok bool) bool { return ok && v == "2" }},
		{"delete", func() {
			p, err := g.vnets.BeginDelete(ctx, "rg", "vnet", nil)
			if err == nil {
				_, err = p.PollUntilDone(ctx, pollOpts)
			}
			if err != nil {
				t.Fatal(err)
			}
		},
			func(v string, ok bool) bool { return ok && v == "2" },
			func(_ string, ok bool) bool { return !ok }},
	}
	for _, s := range steps {
		start := time.Now()
		s.write()
		v, ok := g.envTag(t)
		if time.Since(start) < lag {
			if !s.before(v, ok) {
				t.Errorf("%s: within the lag the answer is %q %v", s.name, v, ok)
			}
		} else {
			t.Logf("%s: the query came back after the lag; the within-lag check is skipped", s.name)
		}
		waitFor(t, s.name+" to show", func() bool { v, ok := g.envTag(t); return s.after(v, ok) })
		if el := time.Since(start); el < lag {
			t.Errorf("%s showed after %v, before the lag of %v", s.name, el, lag)
		}
	}
}

// TestVMPowerState checks properties.extended.instanceView.powerState of a VM row, running
// and after a power off.
func TestVMPowerState(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	ctx := context.Background()
	g.ResourceGroup(t, "rg")
	subnet := g.vnet(t, "rg", "vnet", nil)
	g.nic(t, "rg", "nic", subnet)
	vms, err := armcompute.NewVirtualMachinesClient(g.SubscriptionID, g.Cred, g.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	nicID := "/subscriptions/" + g.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic"
	p, err := vms.BeginCreateOrUpdate(ctx, "rg", "vm", armcompute.VirtualMachine{
		Location: to.Ptr(loc),
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypesStandardD2SV3)},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{Publisher: to.Ptr("Canonical"), Offer: to.Ptr("ubuntu-24_04-lts"), SKU: to.Ptr("server"), Version: to.Ptr("latest")},
				OSDisk:         &armcompute.OSDisk{CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage)},
			},
			OSProfile:      &armcompute.OSProfile{ComputerName: to.Ptr("vm"), AdminUsername: to.Ptr("azureuser"), AdminPassword: to.Ptr("S3cret-Passw0rd!")},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{ID: to.Ptr(nicID)}}},
		},
	}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("creating the VM: %v", err)
	}
	wantPower(t, g, "PowerState/running", "VM running")
	pp, err := vms.BeginPowerOff(ctx, "rg", "vm", nil)
	if err == nil {
		_, err = pp.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("powering off: %v", err)
	}
	wantPower(t, g, "PowerState/stopped", "VM stopped")
}

// wantPower checks the power state Resource Graph shows for the VM named vm.
func wantPower(t *testing.T, g *graphEnv, code, display string) {
	t.Helper()
	rows := g.rows(t, "Resources | where type == 'microsoft.compute/virtualmachines' and name == 'vm'")
	if len(rows) != 1 {
		t.Fatalf("%d VM rows", len(rows))
	}
	props, _ := rows[0]["properties"].(map[string]any)
	ext, _ := props["extended"].(map[string]any)
	iv, _ := ext["instanceView"].(map[string]any)
	ps, _ := iv["powerState"].(map[string]any)
	if ps["code"] != code || ps["displayStatus"] != display {
		t.Errorf("powerState %v, want %s / %s", ps, code, display)
	}
}
