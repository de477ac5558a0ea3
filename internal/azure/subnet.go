package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// subnetService makes KindSubnet nodes real (a child of its virtual network; its NSG, NAT gateway and route table references are compared).
func (c *Clients) subnetService() service {
	cl := c.Network.NewSubnetsClient()
	return &armService[armnetwork.Subnet, armnetwork.Subnet]{
		c: c,
		// Subnets have no tags: a subnet of the cluster's VNet is the cluster's.
		parent: func(id *arm.ResourceID, _ *armnetwork.Subnet) string { return parentID(id) },
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.Subnet, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.Subnet, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.Subnet, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, *body,
				&armnetwork.SubnetsClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Parent.Name, id.Name,
				&armnetwork.SubnetsClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}
