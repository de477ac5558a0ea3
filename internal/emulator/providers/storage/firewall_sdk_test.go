package storage_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// firewallNet is a cloud of two VNets for the firewall tests: corp (subnets gw with the
// Microsoft.Storage service endpoint, pe for private endpoints, plain without the endpoint)
// and other (subnet s).
type firewallNet struct {
	e        *emulatortest.Env
	ctx      context.Context
	rg       string
	netIDs   func(names ...string) string
	networks *armnetwork.ClientFactory
}

func newFirewallNet(t *testing.T) *firewallNet {
	e := emulatortest.Start(t)
	rgID := e.ResourceGroup(t, "rg-fw")
	f, err := armnetwork.NewClientFactory(e.SubscriptionID, e.Cred, e.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	fn := &firewallNet{e: e, ctx: context.Background(), rg: "rg-fw", networks: f,
		netIDs: func(names ...string) string {
			id := rgID + "/providers/Microsoft.Network/virtualNetworks/" + names[0]
			if len(names) > 1 {
				id += "/subnets/" + names[1]
			}
			return id
		}}
	storageEP := []*armnetwork.ServiceEndpointPropertiesFormat{{Service: to.Ptr("Microsoft.Storage")}}
	fn.vnet(t, "corp", "10.5.0.0/16", map[string]*armnetwork.SubnetPropertiesFormat{
		"gw":    {AddressPrefix: to.Ptr("10.5.1.0/24"), ServiceEndpoints: storageEP},
		"pe":    {AddressPrefix: to.Ptr("10.5.2.0/24")},
		"plain": {AddressPrefix: to.Ptr("10.5.3.0/24")},
	})
	fn.vnet(t, "other", "10.6.0.0/16", map[string]*armnetwork.SubnetPropertiesFormat{
		"s": {AddressPrefix: to.Ptr("10.6.1.0/24"), ServiceEndpoints: storageEP},
	})
	return fn
}

func (fn *firewallNet) vnet(t *testing.T, name, space string, subnets map[string]*armnetwork.SubnetPropertiesFormat) {
	v := armnetwork.VirtualNetwork{Location: to.Ptr(loc), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(space)}}}}
	for n, p := range subnets {
		v.Properties.Subnets = append(v.Properties.Subnets, &armnetwork.Subnet{Name: to.Ptr(n), Properties: p})
	}
	p, err := fn.networks.NewVirtualNetworksClient().BeginCreateOrUpdate(fn.ctx, fn.rg, name, v, nil)
	if err == nil {
		_, err = p.PollUntilDone(fn.ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("vnet %s: %v", name, err)
	}
}

// TestStorageNetworkRules checks what the storage RP refuses in publicNetworkAccess and
// networkAcls.
func TestStorageNetworkRules(t *testing.T) {
	fn := newFirewallNet(t)
	c := newClients(t, fn.e, fn.e.SubscriptionID)
	rules := func(action armstorage.DefaultAction, subnet, ip string) *armstorage.NetworkRuleSet {
		s := &armstorage.NetworkRuleSet{DefaultAction: to.Ptr(action)}
		if subnet != "" {
			s.VirtualNetworkRules = []*armstorage.VirtualNetworkRule{{VirtualNetworkResourceID: to.Ptr(subnet)}}
		}
		if ip != "" {
			s.IPRules = []*armstorage.IPRule{{IPAddressOrRange: to.Ptr(ip)}}
		}
		return s
	}
	cases := []struct {
		name string
		pna  armstorage.PublicNetworkAccess
		acls *armstorage.NetworkRuleSet
		code string
	}{
		{"public access disabled", armstorage.PublicNetworkAccessDisabled, nil, ""},
		{"a subnet with the service endpoint and an address range", "", rules(armstorage.DefaultActionDeny, fn.netIDs("corp", "gw"), "127.0.8.0/24"), ""},
		{"an unknown public access", "Sometimes", nil, "InvalidValuesForRequestParameters"},
		{"an unknown default action", "", rules("Block", "", ""), "InvalidValuesForRequestParameters"},
		{"a missing subnet", "", rules(armstorage.DefaultActionDeny, fn.netIDs("corp", "nope"), ""), "NetworkAclsValidationFailure"},
		{"a subnet without the service endpoint", "", rules(armstorage.DefaultActionDeny, fn.netIDs("corp", "plain"), ""), "NetworkAclsValidationFailure"},
		{"a VNet for a subnet", "", rules(armstorage.DefaultActionDeny, fn.netIDs("corp"), ""), "NetworkAclsValidationFailure"},
		{"an address that is not one", "", rules(armstorage.DefaultActionDeny, "", "not-an-address"), "NetworkAclsValidationFailure"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := accountSpec()
			spec.Properties = &armstorage.AccountPropertiesCreateParameters{NetworkRuleSet: tc.acls}
			if tc.pna != "" {
				spec.Properties.PublicNetworkAccess = to.Ptr(tc.pna)
			}
			acct, err := c.create(fn.ctx, fn.rg, "fwrules"+string(rune('a'+i)), spec)
			if tc.code != "" {
				emulatortest.WantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.pna != "" && *acct.Properties.PublicNetworkAccess != tc.pna {
				t.Errorf("publicNetworkAccess %s, want %s", *acct.Properties.PublicNetworkAccess, tc.pna)
			}
			if tc.acls != nil && *acct.Properties.NetworkRuleSet.DefaultAction != *tc.acls.DefaultAction {
				t.Errorf("defaultAction %s", *acct.Properties.NetworkRuleSet.DefaultAction)
			}
		})
	}
}

// TestBlobFirewall checks the blob service against the accounts' network rules, with callers
// placed in VNets by their source address (/_emulator/networks).
func TestBlobFirewall(t *testing.T) {
	fn := newFirewallNet(t)
	e := fn.e
	if code := e.Admin(t, http.MethodPut, "/_emulator/networks", map[string]any{"networks": []emulator.NetworkBinding{
		{Source: "127.0.5.0/24", Network: fn.netIDs("corp", "gw")},
		{Source: "127.0.6.0/24", Network: fn.netIDs("other", "s")},
		{Source: "127.0.7.0/24", Network: fn.netIDs("corp")},
	}}, nil); code != http.StatusOK {
		t.Fatalf("PUT /_emulator/networks: %d", code)
	}
	keys := fn.accounts(t, map[string]*armstorage.AccountPropertiesCreateParameters{
		"fwopen":   nil,
		"fwclosed": {PublicNetworkAccess: to.Ptr(armstorage.PublicNetworkAccessDisabled)},
		"fwdenied": {NetworkRuleSet: &armstorage.NetworkRuleSet{DefaultAction: to.Ptr(armstorage.DefaultActionDeny),
			VirtualNetworkRules: []*armstorage.VirtualNetworkRule{{VirtualNetworkResourceID: to.Ptr(fn.netIDs("corp", "gw"))}},
			IPRules:             []*armstorage.IPRule{{IPAddressOrRange: to.Ptr("127.0.8.9")}}}},
	})
	fn.blobEndpoint(t, "fwclosed")
	got, err := newClients(t, e, e.SubscriptionID).accts.GetProperties(fn.ctx, fn.rg, "fwclosed", nil)
	if err != nil || len(got.Properties.PrivateEndpointConnections) != 1 ||
		*got.Properties.PrivateEndpointConnections[0].Properties.PrivateLinkServiceConnectionState.Status != armstorage.PrivateEndpointServiceConnectionStatusApproved {
		t.Fatalf("the account's private endpoint connections: %v %+v", err, got.Properties)
	}

	cases := []struct {
		name, account, source string
		allowed               bool
	}{
		{"an open account from the internet", "fwopen", "127.0.0.1", true},
		{"an open account from a VNet", "fwopen", "127.0.6.10", true},
		{"a closed account from the internet", "fwclosed", "127.0.0.1", false},
		{"a closed account from the endpoint's VNet (another subnet)", "fwclosed", "127.0.5.10", true},
		{"a closed account from the endpoint's VNet (no subnet)", "fwclosed", "127.0.7.10", true},
		{"a closed account from another VNet", "fwclosed", "127.0.6.10", false},
		{"a closed account from an unbound address", "fwclosed", "127.0.8.9", false},
		{"a denying account from the internet", "fwdenied", "127.0.0.1", false},
		{"a denying account from its subnet", "fwdenied", "127.0.5.10", true},
		{"a denying account from another VNet", "fwdenied", "127.0.6.10", false},
		{"a denying account from its VNet but no subnet", "fwdenied", "127.0.7.10", false},
		{"a denying account from an allowed address", "fwdenied", "127.0.8.9", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := e.HTTPClientFrom(netip.MustParseAddr(tc.source), "")
			defer hc.CloseIdleConnections()
			cred, err := azblob.NewSharedKeyCredential(tc.account, keys[tc.account])
			if err != nil {
				t.Fatal(err)
			}
			bc, err := azblob.NewClientWithSharedKeyCredential(e.URL+"/"+tc.account+"/", cred,
				&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = dataPlaneContainers(fn.ctx, bc)
			var re *azcore.ResponseError
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.allowed && (!errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailure"):
				t.Fatalf("want 403 AuthorizationFailure, got %v", err)
			}
		})
	}
}

// blobEndpoint gives the account a private endpoint to its blob service in corp/pe.
func (fn *firewallNet) blobEndpoint(t *testing.T, account string) {
	id := fn.e.ResourceGroup(t, fn.rg) + "/providers/Microsoft.Storage/storageAccounts/" + account
	pe := armnetwork.PrivateEndpoint{Location: to.Ptr(loc), Properties: &armnetwork.PrivateEndpointProperties{
		Subnet: &armnetwork.Subnet{ID: to.Ptr(fn.netIDs("corp", "pe"))},
		PrivateLinkServiceConnections: []*armnetwork.PrivateLinkServiceConnection{{Name: to.Ptr("blob"),
			Properties: &armnetwork.PrivateLinkServiceConnectionProperties{PrivateLinkServiceID: to.Ptr(id), GroupIDs: []*string{to.Ptr("blob")}}}},
	}}
	p, err := fn.networks.NewPrivateEndpointsClient().BeginCreateOrUpdate(fn.ctx, fn.rg, account+"-pe", pe, nil)
	if err == nil {
		_, err = p.PollUntilDone(fn.ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("private endpoint: %v", err)
	}
}

// accounts creates storage accounts and returns their first keys by name.
func (fn *firewallNet) accounts(t *testing.T, specs map[string]*armstorage.AccountPropertiesCreateParameters) map[string]string {
	t.Helper()
	c := newClients(t, fn.e, fn.e.SubscriptionID)
	keys := map[string]string{}
	for name, props := range specs {
		spec := accountSpec()
		spec.Properties = props
		if _, err := c.create(fn.ctx, fn.rg, name, spec); err != nil {
			t.Fatalf("account %s: %v", name, err)
		}
		k, err := c.accts.ListKeys(fn.ctx, fn.rg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = *k.Keys[0].Value
	}
	return keys
}
