package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// nsgService makes KindNetworkSecurityGroup nodes real (rules inline; Azure's default rules are server-filled and ignored).
func (c *Clients) nsgService() service {
	cl := c.Network.NewSecurityGroupsClient()
	return &armService[armnetwork.SecurityGroup, armnetwork.SecurityGroup]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.SecurityGroup, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.SecurityGroup, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.SecurityGroup, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.SecurityGroupsClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}
