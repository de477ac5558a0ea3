package azure

import (
	"errors"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// TestOSDiskNeverCreatedDetachedDeleted: an OS disk node whose disk does not exist is an error,
// with nothing written or recorded (strata never creates it); one whose disk is detached from
// any VM is deleted by Delete.
func TestOSDiskNeverCreatedDetachedDeleted(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	node := func(name string) *plan.Node {
		return &plan.Node{Key: "osdisk/" + name, Kind: plan.KindOSDisk, Managed: true,
			ID:   plan.OSDiskID(rgID + "/providers/Microsoft.Compute/virtualMachines/" + name),
			Spec: armcompute.Disk{Tags: map[string]*string{"strata-cluster": to.Ptr("c1")}}}
	}

	inv := &memInventory{owner: "c1"}
	missing := node("gone")
	writes := c.Writes()
	if _, err := ap.Apply(ctx, missing, inv); !errors.Is(err, errMadeByAzure) {
		t.Errorf("Apply of a missing OS disk = %v, want %v", err, errMadeByAzure)
	}
	if c.Writes() != writes || inv.Manages(missing.ID) {
		t.Errorf("a missing OS disk was written (%v) or recorded", c.Requests())
	}

	detached := node("old")
	p, err := c.Compute.NewDisksClient().BeginCreateOrUpdate(ctx, "rg", "old_OSDisk", armcompute.Disk{Location: to.Ptr(env.Location),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}, DiskSizeGB: to.Ptr[int32](4)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := inv.Claim(ctx, detached); err != nil {
		t.Fatal(err)
	}
	reads := c.Requests()["GET Microsoft.Compute/disks"]
	if err := ap.Delete(ctx, detached, inv); err != nil {
		t.Fatalf("Delete of a detached OS disk = %v", err)
	}
	if n := c.Requests()["GET Microsoft.Compute/disks"] - reads; n != 1 {
		t.Errorf("Delete read the OS disk %d times, want once: %v", n, c.Requests())
	}
	if o, err := ap.Observe(ctx, detached); err != nil || o.Exists {
		t.Errorf("after Delete: %+v, %v", o, err)
	}
}
