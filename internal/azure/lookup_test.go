package azure

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestLookupsAcrossResourceGroups creates a virtual network, a network security group and a
// storage account in each of two resource groups: without a resource group each list holds
// both, each with the group its ID names; with one, only that group's.
func TestLookupsAcrossResourceGroups(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := testCtx(t)
	c := newClients(t, env)
	poll := &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}
	groups := map[string]string{"net-rg": "10.1.0.0/16", "data-rg": "10.2.0.0/16"}
	for rg, prefix := range groups {
		env.ResourceGroup(t, rg)
		vp, err := c.Network.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet-"+rg, armnetwork.VirtualNetwork{
			Location:   to.Ptr(env.Location),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(prefix)}}},
		}, nil)
		if err == nil {
			_, err = vp.PollUntilDone(ctx, poll)
		}
		if err != nil {
			t.Fatalf("create the virtual network of %s: %v", rg, err)
		}
		np, err := c.Network.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, "nsg-"+rg, armnetwork.SecurityGroup{Location: to.Ptr(env.Location)}, nil)
		if err == nil {
			_, err = np.PollUntilDone(ctx, poll)
		}
		if err != nil {
			t.Fatalf("create the network security group of %s: %v", rg, err)
		}
		sp, err := c.Storage.NewAccountsClient().BeginCreate(ctx, rg, "st"+strings.ReplaceAll(rg, "-", ""), armstorage.AccountCreateParameters{
			Location: to.Ptr(env.Location), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		}, nil)
		if err == nil {
			_, err = sp.PollUntilDone(ctx, poll)
		}
		if err != nil {
			t.Fatalf("create the storage account of %s: %v", rg, err)
		}
	}

	// item is what a list says of a resource: its name, and the group its ID names.
	type item struct{ name, rg string }
	check := func(t *testing.T, what string, got []item, want ...item) {
		t.Helper()
		slices.SortFunc(got, func(a, b item) int { return strings.Compare(a.name, b.name) })
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	for _, rg := range []string{"", "net-rg"} {
		want := func(prefix string) []item {
			if rg != "" {
				return []item{{prefix + rg, rg}}
			}
			return []item{{prefix + "data-rg", "data-rg"}, {prefix + "net-rg", "net-rg"}}
		}
		t.Run("resource group "+rg, func(t *testing.T) {
			vnets, err := c.VirtualNetworks(ctx, rg)
			if err != nil {
				t.Fatal(err)
			}
			var got []item
			for _, v := range vnets {
				got = append(got, item{v.Name, v.ResourceGroup})
				if v.Location != env.Location || len(v.AddressSpaces) != 1 || v.AddressSpaces[0] != groups[v.ResourceGroup] {
					t.Errorf("virtual network %+v: want location %s and the address space of %s", v, env.Location, v.ResourceGroup)
				}
			}
			check(t, "VirtualNetworks", got, want("vnet-")...)

			nsgs, err := c.NetworkSecurityGroups(ctx, rg)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, g := range nsgs {
				got = append(got, item{g.Name, g.ResourceGroup})
				if g.Location != env.Location || !strings.HasSuffix(g.ID, "/networkSecurityGroups/"+g.Name) {
					t.Errorf("network security group %+v: want location %s and its own ID", g, env.Location)
				}
			}
			check(t, "NetworkSecurityGroups", got, want("nsg-")...)

			accts, err := c.StorageAccounts(ctx, rg)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, a := range accts {
				got = append(got, item{strings.TrimPrefix(a.Name, "st"), a.ResourceGroup})
				if a.Location != env.Location || a.BlobEndpoint == "" {
					t.Errorf("storage account %+v: want location %s and a blob endpoint", a, env.Location)
				}
			}
			wantAccts := want("")
			for i := range wantAccts {
				wantAccts[i].name = strings.ReplaceAll(wantAccts[i].name, "-", "")
			}
			check(t, "StorageAccounts", got, wantAccts...)
		})
	}

	if _, err := c.NetworkSecurityGroups(ctx, "no-such-rg"); err == nil || !strings.Contains(err.Error(), "ResourceGroupNotFound") || !strings.Contains(err.Error(), "of no-such-rg") {
		t.Errorf("NetworkSecurityGroups of a missing group: %v, want ResourceGroupNotFound naming the group", err)
	}
}

// TestTenantClients lists the subscriptions of the principal's tenant with clients made for
// no subscription; those clients send no request that needs one.
func TestTenantClients(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := testCtx(t)
	second := uuid.NewString()
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: second, TenantID: env.TenantID, DisplayName: "Second"})
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: uuid.NewString(), TenantID: uuid.NewString(), DisplayName: "Another tenant's"})

	c, err := NewTenantClients(ctx, env.CloudAccount(t, "emulator"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := c.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Subscription{
		{SubscriptionID: env.SubscriptionID, DisplayName: "Strata emulator subscription", State: "Enabled"},
		{SubscriptionID: second, DisplayName: "Second", State: "Enabled"},
	}
	if !slices.Equal(subs, want) {
		t.Errorf("Subscriptions = %+v, want %+v (the tenant's, not another's)", subs, want)
	}
	if n := c.Requests()["GET Microsoft.Resources/subscriptions"]; n != 1 {
		t.Errorf("requests %v, want one GET of the subscriptions", c.Requests())
	}

	// Clients of a subscription list the same.
	if subs, err := newClients(t, env).Subscriptions(ctx); err != nil || !slices.Equal(subs, want) {
		t.Errorf("Subscriptions of a subscription's clients = %+v, %v", subs, err)
	}

	if _, err := c.Locations(ctx); err == nil {
		t.Error("Locations without a subscription: want an error")
	}
	if _, err := c.VirtualNetworks(ctx, ""); err == nil {
		t.Error("VirtualNetworks without a subscription: want an error")
	}
	if _, err := c.StorageAccounts(ctx, "rg"); err == nil {
		t.Error("StorageAccounts without a subscription: want an error")
	}
	if got := c.Requests(); len(got) != 1 {
		t.Errorf("requests %v: the lookups of a subscription sent some without one", got)
	}
}

// TestNewTenantClientsNeedsAnAccount: a tenant's clients are an account's.
func TestNewTenantClientsNeedsAnAccount(t *testing.T) {
	if _, err := NewTenantClients(context.Background(), nil, Options{}); err == nil {
		t.Error("NewTenantClients(nil): want an error")
	}
}
