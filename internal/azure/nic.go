package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// nicService makes KindNetworkInterface nodes real (the private addresses Azure assigns and the VM back-reference are ignored).
func (c *Clients) nicService() service {
	cl := c.Network.NewInterfacesClient()
	return &armService[armnetwork.Interface, armnetwork.Interface]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.Interface, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.Interface, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.Interface, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.InterfacesClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.InterfacesClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}
