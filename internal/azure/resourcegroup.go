package azure

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

var errNeverWritten = errors.New("resource groups are adopted: strata never writes them")

// resourceGroupService verifies KindResourceGroup nodes: resource groups are always adopted,
// so Apply only checks that the group exists and holds Expect (e.g. "location").
func (c *Clients) resourceGroupService() service {
	cl := c.Resources.NewResourceGroupsClient()
	return &armService[armresources.ResourceGroup, armresources.ResourceGroup]{
		c: c, adoptedOnly: true,
		get: func(ctx context.Context, id *arm.ResourceID) (*armresources.ResourceGroup, error) {
			r, err := getOrNil(cl.Get(ctx, resourceGroupName(id), nil))
			if r == nil {
				return nil, err
			}
			return &r.ResourceGroup, nil
		},
		put: func(context.Context, *arm.ResourceID, *armresources.ResourceGroup, string) (lro, error) {
			return nil, errNeverWritten
		},
		del: func(context.Context, *arm.ResourceID, string) (lro, error) {
			return nil, errNeverWritten
		},
	}
}

// resourceGroupName is the name of a resource group's own ID or of a resource's group.
func resourceGroupName(id *arm.ResourceID) string {
	if id.ResourceGroupName != "" {
		return id.ResourceGroupName
	}
	return id.Name
}
