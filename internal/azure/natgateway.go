package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// natGatewayService makes KindNatGateway nodes real (its public IP references are compared).
func (c *Clients) natGatewayService() service {
	cl := c.Network.NewNatGatewaysClient()
	return &armService[armnetwork.NatGateway, armnetwork.NatGateway]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.NatGateway, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.NatGateway, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.NatGateway, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.NatGatewaysClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.NatGatewaysClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}
