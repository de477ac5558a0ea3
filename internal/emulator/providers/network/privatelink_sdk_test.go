package network_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
)

// TestPrivateDNSZones drives zones, virtual network links and A record sets through
// armprivatedns.
func TestPrivateDNSZones(t *testing.T) {
	fx := newFixture(t)
	f, err := armprivatedns.NewClientFactory(fx.sub, fx.env.Cred, fx.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(fx.ctx, rgName, "vn", vnet(zonalLoc, []string{"10.2.0.0/16"}, subnet("s", "10.2.1.0/24")), nil))(t, "vnet")
	const zone = "privatelink.blob.core.windows.net"

	for _, c := range []struct{ name, zone, location, code string }{
		{"a zone in global", zone, "global", ""},
		{"a zone in a region", "corp.example.com", "westeurope", "LocationNotAvailableForResourceType"},
		{"a zone without a location", "corp.example.com", "", "LocationRequired"},
		{"a one-label zone", "corp", "global", "InvalidResourceName"},
	} {
		res, err := outcomeOf(f.NewPrivateZonesClient().BeginCreateOrUpdate(fx.ctx, rgName, c.zone, armprivatedns.PrivateZone{Location: ptrOrNil(c.location)}, nil))
		if c.code != "" {
			wantError(t, c.name, err, http.StatusBadRequest, c.code)
			continue
		}
		if err != nil || *res.Location != "global" || *res.Properties.ProvisioningState != armprivatedns.ProvisioningStateSucceeded {
			t.Fatalf("%s: %v %+v", c.name, err, res)
		}
	}

	checkVNetLinks(t, fx, f.NewVirtualNetworkLinksClient(), zone)
	checkARecordSets(t, fx, f.NewRecordSetsClient(), zone)
	z, err := f.NewPrivateZonesClient().Get(fx.ctx, rgName, zone, nil)
	if err != nil || *z.Properties.NumberOfRecordSets != 3 || *z.Properties.NumberOfVirtualNetworkLinks != 1 {
		t.Fatalf("zone: %v %+v", err, z.Properties)
	}
}

// checkVNetLinks links a zone to VNets: only an existing VNet is accepted.
func checkVNetLinks(t *testing.T, fx *fixture, links *armprivatedns.VirtualNetworkLinksClient, zone string) {
	t.Helper()
	for _, c := range []struct{ name, vnet, code string }{
		{"a link to an existing VNet", fx.id("virtualNetworks", "vn"), ""},
		{"a link to a missing VNet", fx.id("virtualNetworks", "missing"), "BadRequest"},
		{"a link to a subnet", fx.id("virtualNetworks", "vn", "subnets", "s"), "BadRequest"},
	} {
		link := armprivatedns.VirtualNetworkLink{Location: to.Ptr("global"), Properties: &armprivatedns.VirtualNetworkLinkProperties{
			VirtualNetwork: &armprivatedns.SubResource{ID: to.Ptr(c.vnet)}, RegistrationEnabled: to.Ptr(false)}}
		res, err := outcomeOf(links.BeginCreateOrUpdate(fx.ctx, rgName, zone, "link", link, nil))
		if c.code != "" {
			wantError(t, c.name, err, http.StatusBadRequest, c.code)
			continue
		}
		if err != nil || *res.Properties.VirtualNetworkLinkState != armprivatedns.VirtualNetworkLinkStateCompleted || *res.Properties.RegistrationEnabled {
			t.Fatalf("%s: %v %+v", c.name, err, res)
		}
	}

}

// checkARecordSets writes A record sets: IPv4 addresses only.
func checkARecordSets(t *testing.T, fx *fixture, records *armprivatedns.RecordSetsClient, zone string) {
	t.Helper()
	for _, c := range []struct{ name, record, ip, code string }{
		{"an A record", "mystorage", "10.2.1.4", ""},
		{"an A record at the apex", "@", "10.2.1.5", ""},
		{"not an IPv4 address", "bad", "fd00::1", "BadRequest"},
	} {
		rs := armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{
			TTL: to.Ptr[int64](10), ARecords: []*armprivatedns.ARecord{{IPv4Address: to.Ptr(c.ip)}}}}
		res, err := records.CreateOrUpdate(fx.ctx, rgName, zone, armprivatedns.RecordTypeA, c.record, rs, nil)
		if c.code != "" {
			wantError(t, c.name, err, http.StatusBadRequest, c.code)
			continue
		}
		if err != nil || *res.Properties.ARecords[0].IPv4Address != c.ip || *res.Properties.TTL != 10 || *res.Type != "Microsoft.Network/privateDnsZones/A" {
			t.Fatalf("%s: %v %+v", c.name, err, res)
		}
	}
	got, err := records.Get(fx.ctx, rgName, zone, armprivatedns.RecordTypeA, "mystorage", nil)
	if err != nil || *got.Properties.Fqdn != "mystorage."+zone+"." {
		t.Fatalf("record set: %v %+v", err, got)
	}
}

func ptrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return to.Ptr(s)
}

// TestPrivateEndpoints checks a private endpoint to a storage account's blob service: its
// subnet and connection are checked, it gets a NIC with a private address of the subnet, and
// the connection is approved.
func TestPrivateEndpoints(t *testing.T) {
	fx := newFixture(t)
	sub := armnetwork.Subnet{Name: to.Ptr("pe"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.3.1.0/24")}}
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(fx.ctx, rgName, "vn", vnet(zonalLoc, []string{"10.3.0.0/16"}, &sub), nil))(t, "vnet")
	subnetID := fx.id("virtualNetworks", "vn", "subnets", "pe")
	accounts, err := armstorage.NewAccountsClient(fx.sub, fx.env.Cred, fx.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	acct := done(accounts.BeginCreate(fx.ctx, rgName, "pestore", armstorage.AccountCreateParameters{Location: to.Ptr(zonalLoc),
		Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil))(t, "account")

	pes := fx.f.NewPrivateEndpointsClient()
	cases := []struct {
		name, subnet, target, group, staticIP, code, wantIP string
	}{
		{"the blob service", subnetID, *acct.ID, "blob", "", "", "10.3.1.4"},
		{"a static address", subnetID, *acct.ID, "blob", "10.3.1.40", "", "10.3.1.40"},
		{"a missing subnet", fx.id("virtualNetworks", "vn", "subnets", "nope"), *acct.ID, "blob", "", "InvalidResourceReference", ""},
		{"a missing target", subnetID, *acct.ID + "x", "blob", "", "InvalidResourceReference", ""},
		{"no group ID", subnetID, *acct.ID, "", "", "MissingParameterOnPrivateLinkServiceConnection", ""},
		{"a group ID storage lacks", subnetID, *acct.ID, "vault", "", "PrivateEndpointBadRequest", ""},
		{"a reserved static address", subnetID, *acct.ID, "blob", "10.3.1.2", "PrivateIPAddressInReservedRange", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "pe" + string(rune('a'+i))
			res, err := outcomeOf(pes.BeginCreateOrUpdate(fx.ctx, rgName, name, privateEndpoint(c.subnet, c.target, c.group, c.staticIP), nil))
			if c.code != "" {
				wantError(t, c.name, err, http.StatusBadRequest, c.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := res.Properties
			state := p.PrivateLinkServiceConnections[0].Properties.PrivateLinkServiceConnectionState
			if *state.Status != "Approved" || len(p.NetworkInterfaces) != 1 || len(p.CustomDNSConfigs) != 1 {
				t.Fatalf("private endpoint %+v", p)
			}
			if dns := p.CustomDNSConfigs[0]; *dns.Fqdn != "pestore.blob.core.windows.net" || *dns.IPAddresses[0] != c.wantIP {
				t.Errorf("customDnsConfigs %s %s, want pestore.blob.core.windows.net %s", *dns.Fqdn, *dns.IPAddresses[0], c.wantIP)
			}
			n, err := fx.f.NewInterfacesClient().Get(fx.ctx, rgName, lastSegment(*p.NetworkInterfaces[0].ID), nil)
			if err != nil || *n.Properties.IPConfigurations[0].Properties.PrivateIPAddress != c.wantIP {
				t.Fatalf("the endpoint's NIC: %v", err)
			}
		})
	}

	checkEndpointInUse(t, fx, subnetID)
}

// checkEndpointInUse checks that the NIC of endpoint "pea" holds its address: the NIC and the
// subnet cannot be deleted, nor the address taken, until the endpoints are gone.
func checkEndpointInUse(t *testing.T, fx *fixture, subnetID string) {
	t.Helper()
	pes := fx.f.NewPrivateEndpointsClient()
	pea, err := pes.Get(fx.ctx, rgName, "pea", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "deleting the endpoint's NIC", outcome(fx.f.NewInterfacesClient().BeginDelete(fx.ctx, rgName,
		lastSegment(*pea.Properties.NetworkInterfaces[0].ID), nil)), http.StatusBadRequest, "NicInUse")
	lb := internalLB(subnetID, "10.3.1.4")
	wantError(t, "a load balancer on the endpoint's address", outcome(fx.f.NewLoadBalancersClient().BeginCreateOrUpdate(fx.ctx, rgName, "ilb", lb, nil)),
		http.StatusBadRequest, "PrivateIPAddressIsAllocated")
	wantError(t, "deleting the endpoint's subnet", outcome(fx.f.NewSubnetsClient().BeginDelete(fx.ctx, rgName, "vn", "pe", nil)),
		http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
	for _, name := range []string{"pea", "peb"} {
		done(pes.BeginDelete(fx.ctx, rgName, name, nil))(t, "delete "+name)
	}
	done(fx.f.NewSubnetsClient().BeginDelete(fx.ctx, rgName, "vn", "pe", nil))(t, "the subnet, once the endpoints are gone")
}

// lastSegment returns the name at the end of a resource ID.
func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// privateEndpoint builds a private endpoint in a subnet with one automatic connection to
// target (groupIds [group], none when empty), on a static address when ip is given.
func privateEndpoint(subnetID, target, group, ip string) armnetwork.PrivateEndpoint {
	cp := &armnetwork.PrivateLinkServiceConnectionProperties{PrivateLinkServiceID: to.Ptr(target)}
	if group != "" {
		cp.GroupIDs = []*string{to.Ptr(group)}
	}
	p := &armnetwork.PrivateEndpointProperties{
		Subnet:                        &armnetwork.Subnet{ID: to.Ptr(subnetID)},
		PrivateLinkServiceConnections: []*armnetwork.PrivateLinkServiceConnection{{Name: to.Ptr("conn"), Properties: cp}},
	}
	if ip != "" {
		p.IPConfigurations = []*armnetwork.PrivateEndpointIPConfiguration{{Name: to.Ptr("static"),
			Properties: &armnetwork.PrivateEndpointIPConfigurationProperties{GroupID: to.Ptr(group), MemberName: to.Ptr(group), PrivateIPAddress: to.Ptr(ip)}}}
	}
	return armnetwork.PrivateEndpoint{Location: to.Ptr(zonalLoc), Properties: p}
}
