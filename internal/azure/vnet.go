package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// vnetService makes KindVirtualNetwork nodes real. The plan's VNet has no inline subnets
// (they are Subnet nodes), so an update carries the live subnets over: a VNet PUT without
// them would delete them.
func (c *Clients) vnetService() service {
	cl := c.Network.NewVirtualNetworksClient()
	return &armService[armnetwork.VirtualNetwork, armnetwork.VirtualNetwork]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.VirtualNetwork, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.VirtualNetwork, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.VirtualNetwork, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.VirtualNetworksClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.VirtualNetworksClientBeginDeleteOptions{ResumeToken: resume}))
		},
		body: func(desired, live *armnetwork.VirtualNetwork) *armnetwork.VirtualNetwork {
			if live == nil || live.Properties == nil || len(live.Properties.Subnets) == 0 {
				return desired
			}
			b := *desired
			p := armnetwork.VirtualNetworkPropertiesFormat{}
			if b.Properties != nil {
				p = *b.Properties
			}
			if len(p.Subnets) == 0 {
				p.Subnets = live.Properties.Subnets
			}
			b.Properties = &p
			return &b
		},
	}
}
