package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
)

// vmService makes KindVirtualMachine nodes real. Only what the plan sets is compared, so
// read-only fields (instance view, disk names Azure picks, provisioning state) never cause a
// PUT, and customData/adminPassword, which GET never returns, are not drift. Drift of the tags
// alone is repaired with a PATCH (BeginUpdate), never a full PUT.
func (c *Clients) vmService() service {
	cl := c.Compute.NewVirtualMachinesClient()
	return &armService[armcompute.VirtualMachine, armcompute.VirtualMachine]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armcompute.VirtualMachine, error) {
			// The instance view comes with the VM, so that observing a VM is one read.
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name,
				&armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)}))
			if r == nil {
				return nil, err
			}
			return &r.VirtualMachine, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armcompute.VirtualMachine, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armcompute.VirtualMachinesClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		tags: func(ctx context.Context, id *arm.ResourceID, tags map[string]*string) (lro, error) {
			return asLRO(cl.BeginUpdate(ctx, id.ResourceGroupName, id.Name, armcompute.VirtualMachineUpdate{Tags: tags}, nil))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armcompute.VirtualMachinesClientBeginDeleteOptions{ResumeToken: resume}))
		},
		describe: func(vm *armcompute.VirtualMachine, o *Observation) {
			if vm.Properties == nil || vm.Properties.InstanceView == nil {
				return
			}
			for _, s := range vm.Properties.InstanceView.Statuses {
				if s != nil && s.Code != nil && strings.EqualFold(*s.Code, "PowerState/running") {
					o.Running = true
				}
			}
		},
	}
}
