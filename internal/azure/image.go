package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
)

// imageService makes KindImage nodes real: a managed image from the copied VHD blob.
func (c *Clients) imageService() service {
	cl := c.Compute.NewImagesClient()
	return &armService[armcompute.Image, armcompute.Image]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armcompute.Image, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.Image, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armcompute.Image, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armcompute.ImagesClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armcompute.ImagesClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}
