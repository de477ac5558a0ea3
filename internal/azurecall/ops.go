package azurecall

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/internal/azure"
)

// ops are the operations by name: the lookups and the kubeconfig.
var ops = map[string]op{
	"subscriptions": {tenant: true, run: func(ctx context.Context, c *azure.Clients, _ map[string]string) ([]byte, error) {
		return items(c.Subscriptions(ctx))
	}},
	"locations": {run: func(ctx context.Context, c *azure.Clients, _ map[string]string) ([]byte, error) {
		return items(c.Locations(ctx))
	}},
	"vmsizes": {params: []string{ParamLocation}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return items(c.VMSizes(ctx, p[ParamLocation]))
	}},
	"resourcegroups": {run: func(ctx context.Context, c *azure.Clients, _ map[string]string) ([]byte, error) {
		return named(c.ResourceGroups(ctx))
	}},
	// Without a resource group, the lists cover the whole subscription.
	"virtualnetworks": {optional: []string{ParamResourceGroup}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return items(c.VirtualNetworks(ctx, p[ParamResourceGroup]))
	}},
	"networksecuritygroups": {optional: []string{ParamResourceGroup}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return items(c.NetworkSecurityGroups(ctx, p[ParamResourceGroup]))
	}},
	"storageaccounts": {optional: []string{ParamResourceGroup}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return items(c.StorageAccounts(ctx, p[ParamResourceGroup]))
	}},
	"containers": {params: []string{ParamResourceGroup, ParamStorageAccount}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return named(c.Containers(ctx, p[ParamResourceGroup], p[ParamStorageAccount]))
	}},
	OpKubeconfig: {params: []string{ParamResourceGroup, ParamName}, optional: []string{ParamAdmin}, run: func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error) {
		return c.Kubeconfig(ctx, p[ParamResourceGroup], p[ParamName], p[ParamAdmin] == "true")
	}},
}

// List is the body of a lookup's answer: the items as the azure package describes them.
type List struct {
	Items json.RawMessage `json:"items"`
}

// NamedItem is the item of a lookup that only lists names: resource groups and containers.
type NamedItem struct {
	Name string `json:"name"`
}

// items encodes a typed result as a JSON array, never null.
func items[T any](v []T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []T{}
	}
	return json.Marshal(v)
}

// named encodes names as NamedItems, never null.
func named(names []string, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	out := make([]NamedItem, len(names))
	for i, n := range names {
		out[i] = NamedItem{Name: n}
	}
	return json.Marshal(out)
}
