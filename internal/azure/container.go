package azure

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
)

// containerService makes KindBlobContainer nodes real through ARM
// (…/storageAccounts/{a}/blobServices/default/containers/{c}); writes are synchronous.
func (c *Clients) containerService() service {
	cl := c.Storage.NewBlobContainersClient()
	account := func(id *arm.ResourceID) (string, error) {
		if id.Parent == nil || id.Parent.Parent == nil {
			return "", fmt.Errorf("%s is not a blob container ID", id)
		}
		return id.Parent.Parent.Name, nil
	}
	return &armService[armstorage.BlobContainer, armstorage.BlobContainer]{
		c: c,
		// Containers have no tags: a container of the cluster's storage account is the
		// cluster's (…/storageAccounts/{a}/blobServices/default/containers/{c}).
		parent: func(id *arm.ResourceID, _ *armstorage.BlobContainer) string {
			if id.Parent == nil {
				return ""
			}
			return parentID(id.Parent)
		},
		get: func(ctx context.Context, id *arm.ResourceID) (*armstorage.BlobContainer, error) {
			a, err := account(id)
			if err != nil {
				return nil, err
			}
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, a, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.BlobContainer, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armstorage.BlobContainer, resume string) (lro, error) {
			if resume != "" {
				return nil, errNoResume
			}
			a, err := account(id)
			if err != nil {
				return nil, err
			}
			_, err = cl.Create(ctx, id.ResourceGroupName, a, id.Name, *body, nil)
			return doneLRO{}, err
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			if resume != "" {
				return nil, errNoResume
			}
			a, err := account(id)
			if err != nil {
				return nil, err
			}
			_, err = cl.Delete(ctx, id.ResourceGroupName, a, id.Name, nil)
			return doneLRO{}, err
		},
	}
}
