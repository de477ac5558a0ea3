package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
)

// storageAccountService makes KindStorageAccount nodes real. Creation is Azure's 202 +
// Location operation, followed by the SDK's poller (resumable); a name taken elsewhere
// surfaces as Azure's error (409 StorageAccountAlreadyTaken). Tag drift is repaired with a
// PATCH; other drift with the create PUT, which updates an existing account. Deletion is
// synchronous.
func (c *Clients) storageAccountService() service {
	cl := c.Storage.NewAccountsClient()
	return &armService[armstorage.AccountCreateParameters, armstorage.Account]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armstorage.Account, error) {
			r, err := getOrNil(cl.GetProperties(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			c.rememberEndpoint(id.Name, &r.Account)
			return &r.Account, nil
		},
		fromRow: func(id *arm.ResourceID, live *armstorage.Account) { c.rememberEndpoint(id.Name, live) },
		put: func(ctx context.Context, id *arm.ResourceID, body *armstorage.AccountCreateParameters, resume string) (lro, error) {
			return asLRO(cl.BeginCreate(ctx, id.ResourceGroupName, id.Name, *body,
				&armstorage.AccountsClientBeginCreateOptions{ResumeToken: resume}))
		},
		tags: func(ctx context.Context, id *arm.ResourceID, tags map[string]*string) (lro, error) {
			_, err := cl.Update(ctx, id.ResourceGroupName, id.Name, armstorage.AccountUpdateParameters{Tags: tags}, nil)
			return doneLRO{}, err
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			if resume != "" {
				return nil, errNoResume
			}
			_, err := cl.Delete(ctx, id.ResourceGroupName, id.Name, nil)
			return doneLRO{}, err
		},
	}
}
