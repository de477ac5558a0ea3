package resourcegraph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// TestUsersInRows checks that the rows of subnets and public IP addresses show their users
// (the IP configurations in a subnet, the one holding an address) as their GETs do: a query
// renders them all from one index of the subscription's IP configurations.
func TestUsersInRows(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	ctx := context.Background()
	g.ResourceGroup(t, "rg")
	subnetA := g.vnet(t, "rg", "vnet-a", nil)
	subnetB := g.vnet(t, "rg", "vnet-b", nil)
	g.nic(t, "rg", "nic-a1", subnetA)
	g.nic(t, "rg", "nic-a2", subnetA)
	pips, err := armnetwork.NewPublicIPAddressesClient(g.SubscriptionID, g.Cred, g.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pip-used", "pip-free"} {
		p, err := pips.BeginCreateOrUpdate(ctx, "rg", name, armnetwork.PublicIPAddress{
			Location: to.Ptr(loc), SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic)},
		}, nil)
		if err == nil {
			_, err = p.PollUntilDone(ctx, pollOpts)
		}
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	pipID := "/subscriptions/" + g.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip-used"
	p, err := g.nics.BeginCreateOrUpdate(ctx, "rg", "nic-b", armnetwork.Interface{
		Location: to.Ptr(loc),
		Properties: &armnetwork.InterfacePropertiesFormat{IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
			Name: to.Ptr("ipconfig1"),
			Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
				Subnet:          &armnetwork.Subnet{ID: to.Ptr(subnetB)},
				PublicIPAddress: &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)},
			},
		}}},
	}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("creating nic-b: %v", err)
	}

	nicCfg := func(nic string) string {
		return strings.ToLower("/subscriptions/" + g.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/" + nic + "/ipConfigurations/ipconfig1")
	}
	want := map[string][]string{
		strings.ToLower(subnetA): {nicCfg("nic-a1"), nicCfg("nic-a2")},
		strings.ToLower(subnetB): {nicCfg("nic-b")},
		"pip-used":               {nicCfg("nic-b")},
		"pip-free":               nil,
	}
	got := map[string][]string{}
	for _, r := range g.rows(t, "Resources | where type == 'microsoft.network/publicipaddresses'") {
		props, _ := r["properties"].(map[string]any)
		got[r["name"].(string)] = nil
		if c, ok := props["ipConfiguration"].(map[string]any); ok {
			got[r["name"].(string)] = []string{strings.ToLower(c["id"].(string))}
		}
	}
	// Subnets are not rows of their own: they are inline in their VNet's.
	for _, r := range g.rows(t, "Resources | where type == 'microsoft.network/virtualnetworks'") {
		props, _ := r["properties"].(map[string]any)
		subnets, _ := props["subnets"].([]any)
		for _, s := range subnets {
			sub := s.(map[string]any)
			sp, _ := sub["properties"].(map[string]any)
			cfgs, _ := sp["ipConfigurations"].([]any)
			var users []string
			for _, c := range cfgs {
				users = append(users, strings.ToLower(c.(map[string]any)["id"].(string)))
			}
			slices.Sort(users)
			got[strings.ToLower(sub["id"].(string))] = users
		}
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !slices.Equal(g, w) {
			t.Errorf("%s: users %v (row found: %t), want %v", k, g, ok, w)
		}
	}
}
