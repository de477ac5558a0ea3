package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// The lookups the server answers under /cloudaccounts/{name}/lookups/{what}: what exists in
// Azure, seen through a cloud account's service principal.
const (
	LookupSubscriptions         = "subscriptions"         // the subscriptions the principal can see
	LookupLocations             = "locations"             // the subscription's regions
	LookupVMSizes               = "vmsizes"               // the VM sizes of a location
	LookupResourceGroups        = "resourcegroups"        // the subscription's resource groups
	LookupVirtualNetworks       = "virtualnetworks"       // the virtual networks of a resource group, or of the subscription
	LookupNetworkSecurityGroups = "networksecuritygroups" // the network security groups of a resource group, or of the subscription
	LookupStorageAccounts       = "storageaccounts"       // the storage accounts of a resource group, or of the subscription
	LookupContainers            = "containers"            // the blob containers of a storage account
)

// Lookups lists every lookup, in the order the CLI documents them.
var Lookups = []string{LookupSubscriptions, LookupLocations, LookupVMSizes, LookupResourceGroups, LookupVirtualNetworks,
	LookupNetworkSecurityGroups, LookupStorageAccounts, LookupContainers}

// LookupOptions are the parameters of a lookup; those left empty are not sent.
// SubscriptionID is required by every lookup but subscriptions; the others only where the
// lookup needs or takes them.
type LookupOptions struct {
	SubscriptionID string
	// Location is required by vmsizes.
	Location string
	// ResourceGroup is required by containers; virtualnetworks, networksecuritygroups and
	// storageaccounts list the whole subscription without it.
	ResourceGroup string
	// StorageAccount is required by containers.
	StorageAccount string
}

// Lookup asks the server what exists in Azure for a cloud account: what is one of Lookups.
// The items come back as the server sent them, one JSON object each. An Azure error comes
// back as an *APIError with code 502 whose message starts with the Azure error code.
func (c *Client) Lookup(ctx context.Context, account, what string, opts LookupOptions) ([]json.RawMessage, error) {
	accountPath, err := c.objectPath(v1alpha1.KindCloudAccount, account)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", what, err)
	}
	if what == "" || strings.ContainsAny(what, "/?#") {
		return nil, fmt.Errorf("lookup: invalid lookup %q", what)
	}
	q := url.Values{}
	for k, v := range map[string]string{
		"subscriptionID": opts.SubscriptionID,
		"location":       opts.Location,
		"resourceGroup":  opts.ResourceGroup,
		"storageAccount": opts.StorageAccount,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var body struct {
		Items []json.RawMessage `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, accountPath+"/lookups/"+what, q, nil, &body); err != nil {
		return nil, fmt.Errorf("lookup %s of cloud account %q: %w", what, account, err)
	}
	if body.Items == nil {
		body.Items = []json.RawMessage{}
	}
	return body.Items, nil
}
