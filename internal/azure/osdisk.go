package azure

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
)

// errMadeByAzure says a resource Azure makes with another one (a VM's OS disk) does not exist:
// strata does not create it.
var errMadeByAzure = errors.New("it does not exist, and strata does not create it: Azure makes it with its virtual machine")

// osDiskService makes KindOSDisk nodes real: a VM's OS disk, which Azure makes from the VM's
// storage profile without the VM's tags. The plan's disk holds the tags only, so the disk's
// tags are all that is compared, and they are set with a PATCH (a Disks update), never a PUT.
// A disk attached to a VM of the cluster is the cluster's; one still attached to its VM is
// left to Azure, which deletes it with the VM (the plan's deleteOption Delete), and a detached
// one is deleted.
func (c *Clients) osDiskService() service {
	cl := c.Compute.NewDisksClient()
	return &armService[armcompute.Disk, armcompute.Disk]{
		c: c, implicit: true,
		get: func(ctx context.Context, id *arm.ResourceID) (*armcompute.Disk, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.Disk, nil
		},
		put: func(context.Context, *arm.ResourceID, *armcompute.Disk, string) (lro, error) {
			return nil, errMadeByAzure
		},
		tags: func(ctx context.Context, id *arm.ResourceID, tags map[string]*string) (lro, error) {
			return asLRO(cl.BeginUpdate(ctx, id.ResourceGroupName, id.Name, armcompute.DiskUpdate{Tags: tags}, nil))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armcompute.DisksClientBeginDeleteOptions{ResumeToken: resume}))
		},
		parent: func(_ *arm.ResourceID, live *armcompute.Disk) string { return deref(live.ManagedBy) },
	}
}
