package azure

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
)

// ErrLocalAccountsDisabled is returned for an admin kubeconfig of an AKS cluster whose local
// accounts are disabled: only Entra ID users can sign in to it.
var ErrLocalAccountsDisabled = errors.New("the cluster's local accounts are disabled: only Entra ID users can sign in, so there is no admin kubeconfig")

// Kubeconfig returns the kubeconfig of the AKS cluster name in resourceGroup, as Azure lists
// it: the user kubeconfig (listClusterUserCredential), or the admin one
// (listClusterAdminCredential) when admin is set. The bytes are a secret: callers must not
// log or store them in plain text.
func (c *Clients) Kubeconfig(ctx context.Context, resourceGroup, name string, admin bool) ([]byte, error) {
	cl := c.ContainerService.NewManagedClustersClient()
	var res armcontainerservice.CredentialResults
	if admin {
		r, err := cl.ListClusterAdminCredentials(ctx, resourceGroup, name, nil)
		if err != nil {
			if code, _, _ := ErrorCode(err); code == "BadRequest" || code == "OperationNotAllowed" {
				return nil, fmt.Errorf("azure: admin kubeconfig of %s/%s: %w (%v)", resourceGroup, name, ErrLocalAccountsDisabled, err)
			}
			return nil, fmt.Errorf("azure: admin kubeconfig of %s/%s: %w", resourceGroup, name, err)
		}
		res = r.CredentialResults
	} else {
		r, err := cl.ListClusterUserCredentials(ctx, resourceGroup, name, nil)
		if err != nil {
			return nil, fmt.Errorf("azure: user kubeconfig of %s/%s: %w", resourceGroup, name, err)
		}
		res = r.CredentialResults
	}
	for _, k := range res.Kubeconfigs {
		if k != nil && len(k.Value) > 0 {
			return k.Value, nil
		}
	}
	return nil, fmt.Errorf("azure: kubeconfig of %s/%s: Azure returned none", resourceGroup, name)
}
