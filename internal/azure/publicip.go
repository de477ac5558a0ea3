package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// publicIPService makes KindPublicIPAddress nodes real. The address Azure assigns is
// server-filled: no drift, but observed (Observation.Address).
func (c *Clients) publicIPService() service {
	cl := c.Network.NewPublicIPAddressesClient()
	return &armService[armnetwork.PublicIPAddress, armnetwork.PublicIPAddress]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.PublicIPAddress, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.PublicIPAddress, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.PublicIPAddress, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.PublicIPAddressesClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.PublicIPAddressesClientBeginDeleteOptions{ResumeToken: resume}))
		},
		describe: func(live *armnetwork.PublicIPAddress, o *Observation) {
			if p := live.Properties; p != nil && p.IPAddress != nil {
				o.Address = *p.IPAddress
			}
		},
	}
}
