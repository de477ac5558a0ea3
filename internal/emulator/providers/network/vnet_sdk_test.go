package network_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

func TestVirtualNetworksAndSubnets(t *testing.T) {
	fx := newFixture(t)
	vnets := fx.f.NewVirtualNetworksClient()
	subnets := fx.f.NewSubnetsClient()
	ctx := fx.ctx

	// Create with inline subnets: they become child resources with IDs.
	body := vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("a", "10.0.1.0/24"), subnet("b", "10.0.2.0/24"))
	body.Tags = tags("env", "test")
	created := done(vnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", body, nil))(t, "create vnet")
	if *created.ID != fx.id("virtualNetworks", "vnet1") || *created.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded ||
		created.Etag == nil || *created.Etag == "" {
		t.Fatalf("created vnet: id %s, state %v, etag %v", *created.ID, *created.Properties.ProvisioningState, created.Etag)
	}
	got, err := vnets.Get(ctx, rgName, "vnet1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Properties.Subnets); n != 2 {
		t.Fatalf("vnet has %d subnets, want 2", n)
	}
	for _, s := range got.Properties.Subnets {
		if *s.ID != fx.id("virtualNetworks", "vnet1", "subnets", *s.Name) || s.Etag == nil ||
			*s.Type != "Microsoft.Network/virtualNetworks/subnets" {
			t.Errorf("inline subnet %s: id %s, type %v", *s.Name, *s.ID, s.Type)
		}
	}
	a, err := subnets.Get(ctx, rgName, "vnet1", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *a.Properties.AddressPrefix != "10.0.1.0/24" || *a.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Errorf("subnet a: %s %s", *a.Properties.AddressPrefix, *a.Properties.ProvisioningState)
	}

	// Lists.
	if n := listNames(t, vnets.NewListPager(rgName, nil)); !slices.Equal(n, []string{"vnet1"}) {
		t.Errorf("list by resource group = %v", n)
	}
	if n := listNames(t, vnets.NewListAllPager(nil)); !slices.Equal(n, []string{"vnet1"}) {
		t.Errorf("list in subscription = %v", n)
	}

	// Tags through UpdateTags.
	upd, err := vnets.UpdateTags(ctx, rgName, "vnet1", armnetwork.TagsObject{Tags: tags("env", "prod", "team", "net")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *upd.Tags["env"] != "prod" || *upd.Tags["team"] != "net" || len(upd.Properties.Subnets) != 2 {
		t.Errorf("after UpdateTags: tags %v, %d subnets", upd.Tags, len(upd.Properties.Subnets))
	}

	// A PUT's subnets replace the VNet's: b goes, c comes, a stays.
	body = vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("a", "10.0.1.0/24"), subnet("c", "10.0.3.0/24"))
	upd2 := done(vnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", body, nil))(t, "update vnet")
	var have []string
	for _, s := range upd2.Properties.Subnets {
		have = append(have, *s.Name)
	}
	if !slices.Equal(have, []string{"a", "c"}) {
		t.Errorf("after PUT the subnets are %v, want [a c]", have)
	}
	_, err = subnets.Get(ctx, rgName, "vnet1", "b", nil)
	wantNotFound(t, "subnet dropped by the VNet PUT", err)

	// A subnet through its own API shows in the VNet.
	done(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", "d", *subnet("d", "10.0.4.0/24"), nil))(t, "create subnet d")
	if n := listNames(t, subnets.NewListPager(rgName, "vnet1", nil)); !slices.Equal(n, []string{"a", "c", "d"}) {
		t.Errorf("subnets = %v, want [a c d]", n)
	}
	d := *subnet("d", "10.0.4.0/24")
	d.Properties.AddressPrefix = nil
	d.Properties.AddressPrefixes = to.SliceOfPtrs("10.0.4.0/25", "10.0.5.0/24")
	upd3 := done(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", "d", d, nil))(t, "update subnet d")
	if len(upd3.Properties.AddressPrefixes) != 2 {
		t.Errorf("subnet d prefixes = %v", upd3.Properties.AddressPrefixes)
	}

	// Address rules.
	for _, tc := range []struct {
		name   string
		prefix string
		code   string
	}{
		{"outside the VNet", "10.1.0.0/24", "NetcfgInvalidSubnet"},
		{"partly outside the VNet", "10.0.0.0/15", "NetcfgInvalidSubnet"},
		{"overlapping a sibling", "10.0.1.128/25", "NetcfgSubnetRangesOverlap"},
		{"not CIDR", "10.0.9.0", "InvalidAddressPrefixFormat"},
		{"host bits set", "10.0.9.1/24", "InvalidCIDRNotation"},
	} {
		err := outcome(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", "bad", *subnet("bad", tc.prefix), nil))
		wantError(t, "subnet "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	_, err = subnets.Get(ctx, rgName, "vnet1", "bad", nil)
	wantNotFound(t, "refused subnet", err)
	err = outcome(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", "e", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{}}, nil))
	wantError(t, "subnet without a prefix", err, http.StatusBadRequest, "NoAddressPrefixOrPoolProvided")
	for _, tc := range []struct {
		name string
		body armnetwork.VirtualNetwork
		code string
	}{
		{"inline subnets overlapping", vnet(zonalLoc, []string{"10.9.0.0/16"}, subnet("x", "10.9.0.0/24"), subnet("y", "10.9.0.0/25")), "NetcfgSubnetRangesOverlap"},
		{"inline subnet outside", vnet(zonalLoc, []string{"10.9.0.0/16"}, subnet("x", "10.8.0.0/24")), "NetcfgInvalidSubnet"},
		{"bad address space", vnet(zonalLoc, []string{"10.9.0.0/40"}), "InvalidAddressPrefixFormat"},
		{"inline subnet with a bad name", vnet(zonalLoc, []string{"10.9.0.0/16"}, subnet("-x", "10.9.0.0/24")), "InvalidResourceName"},
	} {
		err := outcome(vnets.BeginCreateOrUpdate(ctx, rgName, "vnet2", tc.body, nil))
		wantError(t, "vnet with "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	_, err = vnets.Get(ctx, rgName, "vnet2", nil)
	wantNotFound(t, "refused vnet", err)
	for _, name := range []string{"v", "-vnet", "vnet-", strings.Repeat("v", 65)} {
		err := outcome(vnets.BeginCreateOrUpdate(ctx, rgName, name, vnet(zonalLoc, []string{"10.9.0.0/16"}), nil))
		wantError(t, "vnet named "+name, err, http.StatusBadRequest, "InvalidResourceName")
	}

	// References to missing resources.
	for _, tc := range []struct {
		name string
		set  func(*armnetwork.SubnetPropertiesFormat)
	}{
		{"NSG", func(p *armnetwork.SubnetPropertiesFormat) {
			p.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(fx.id("networkSecurityGroups", "missing"))}
		}},
		{"route table", func(p *armnetwork.SubnetPropertiesFormat) {
			p.RouteTable = &armnetwork.RouteTable{ID: to.Ptr(fx.id("routeTables", "missing"))}
		}},
		{"NAT gateway", func(p *armnetwork.SubnetPropertiesFormat) { p.NatGateway = subRef(fx.id("natGateways", "missing")) }},
	} {
		s := subnet("f", "10.0.9.0/24")
		tc.set(s.Properties)
		err := outcome(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet1", "f", *s, nil))
		wantError(t, "subnet with a missing "+tc.name, err, http.StatusBadRequest, "InvalidResourceReference")
	}

	// ETags.
	fx.checkStaleETag(fx.id("virtualNetworks", "vnet1"))
	fx.checkStaleETag(fx.id("virtualNetworks", "vnet1", "subnets", "a"))

	// Delete a subnet, then the VNet with the rest.
	done(subnets.BeginDelete(ctx, rgName, "vnet1", "c", nil))(t, "delete subnet c")
	_, err = subnets.Get(ctx, rgName, "vnet1", "c", nil)
	wantNotFound(t, "deleted subnet", err)
	done(vnets.BeginDelete(ctx, rgName, "vnet1", nil))(t, "delete vnet")
	_, err = vnets.Get(ctx, rgName, "vnet1", nil)
	wantNotFound(t, "deleted vnet", err)
	if n := listNames(t, vnets.NewListAllPager(nil)); len(n) != 0 {
		t.Errorf("vnets after delete = %v", n)
	}
}

// TestSubnetsInUse covers the in-use rules of subnets: a NIC's subnet cannot be deleted,
// dropped by a VNet PUT, or deleted with its VNet.
func TestSubnetsInUse(t *testing.T) {
	fx := newFixture(t)
	vnets, subnets, nics := fx.f.NewVirtualNetworksClient(), fx.f.NewSubnetsClient(), fx.f.NewInterfacesClient()
	ctx := fx.ctx
	done(vnets.BeginCreateOrUpdate(ctx, rgName, "vnet", vnet(zonalLoc, []string{"10.0.0.0/16"},
		subnet("used", "10.0.1.0/24"), subnet("free", "10.0.2.0/24")), nil))(t, "create vnet")
	subnetID := fx.id("virtualNetworks", "vnet", "subnets", "used")
	done(nics.BeginCreateOrUpdate(ctx, rgName, "nic", nic(zonalLoc, subnetID), nil))(t, "create nic")

	s, err := subnets.Get(ctx, rgName, "vnet", "used", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := fx.id("networkInterfaces", "nic", "ipConfigurations", "ipconfig1")
	if len(s.Properties.IPConfigurations) != 1 || *s.Properties.IPConfigurations[0].ID != wantCfg {
		t.Errorf("subnet ipConfigurations = %v, want %s", s.Properties.IPConfigurations, wantCfg)
	}
	v, err := vnets.Get(ctx, rgName, "vnet", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range v.Properties.Subnets {
		cfgs := vs.Properties.IPConfigurations
		if used := *vs.Name == "used"; used && (len(cfgs) != 1 || *cfgs[0].ID != wantCfg) || !used && len(cfgs) != 0 {
			t.Errorf("VNet subnet %s ipConfigurations = %v", *vs.Name, cfgs)
		}
	}

	err = outcome(subnets.BeginDelete(ctx, rgName, "vnet", "used", nil))
	wantError(t, "delete a used subnet", err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
	err = outcome(vnets.BeginCreateOrUpdate(ctx, rgName, "vnet", vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("free", "10.0.2.0/24")), nil))
	wantError(t, "a VNet PUT dropping a used subnet", err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
	if n := listNames(t, subnets.NewListPager(rgName, "vnet", nil)); !slices.Equal(n, []string{"used", "free"}) {
		t.Errorf("a refused VNet PUT changed the subnets: %v", n)
	}
	err = outcome(vnets.BeginDelete(ctx, rgName, "vnet", nil))
	wantError(t, "delete a VNet with a used subnet", err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")

	done(subnets.BeginDelete(ctx, rgName, "vnet", "free", nil))(t, "delete free subnet")
	done(nics.BeginDelete(ctx, rgName, "nic", nil))(t, "delete nic")
	done(subnets.BeginDelete(ctx, rgName, "vnet", "used", nil))(t, "delete the subnet no NIC uses")
	done(vnets.BeginDelete(ctx, rgName, "vnet", nil))(t, "delete vnet")
}
