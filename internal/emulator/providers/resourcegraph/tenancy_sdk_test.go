package resourcegraph_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// TestTenancy checks that a query reads only the listed subscriptions of the caller's tenant,
// and that the quota is per caller.
func TestTenancy(t *testing.T) {
	const (
		otherTenant = "7d1c0e3a-1111-4222-8333-944455556666"
		otherClient = "5e2b9c41-aaaa-4bbb-8ccc-dddddddddddd"
		otherSecret = "other-secret-value"
		otherSub    = "0a1b2c3d-0000-4000-8000-000000000abc"
	)
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 2})
	if st := g.Admin(t, http.MethodPost, "/_emulator/principals", emulator.ServicePrincipal{TenantID: otherTenant, ClientID: otherClient, Secret: otherSecret}, nil); st != http.StatusNoContent {
		t.Fatalf("adding a principal: %d", st)
	}
	g.Emulator.Engine().AddSubscription(arm.Subscription{ID: otherSub, TenantID: otherTenant})
	cred, err := g.NewCredential(otherTenant, otherClient, otherSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rgs, err := armresources.NewResourceGroupsClient(otherSub, cred, g.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rgs.CreateOrUpdate(ctx, "rg", armresources.ResourceGroup{Location: to.Ptr(loc)}, nil); err != nil {
		t.Fatal(err)
	}
	vnets, err := armnetwork.NewVirtualNetworksClient(otherSub, cred, g.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vnets.BeginCreateOrUpdate(ctx, "rg", "theirs", armnetwork.VirtualNetwork{Location: to.Ptr(loc),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.1.0.0/16")}}}}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatal(err)
	}
	g.ResourceGroup(t, "rg")
	g.vnet(t, "rg", "ours", nil)

	both := []*string{to.Ptr(g.SubscriptionID), to.Ptr(otherSub)}
	theirs, err := armresourcegraph.NewClient(cred, g.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		client *armresourcegraph.Client
		want   string
	}{{g.graph, "ours"}, {g.graph, "ours"}, {theirs, "theirs"}, {theirs, "theirs"}} {
		resp, err := c.client.Resources(ctx, armresourcegraph.QueryRequest{Query: to.Ptr("Resources | project name"), Subscriptions: both}, nil)
		if err != nil {
			t.Fatalf("query for %s: %v", c.want, err) // two queries each: within each caller's quota of 2
		}
		if got := namesOf(dataRows(t, resp.QueryResponse)); !slices.Equal(got, []string{c.want}) {
			t.Errorf("rows %v, want [%s]", got, c.want)
		}
	}
	if _, err := theirs.Resources(ctx, armresourcegraph.QueryRequest{Query: to.Ptr("Resources")}, nil); err == nil {
		t.Error("a third query of the same caller in the window succeeded")
	}
}
