package network_test

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

func TestPublicIPAddresses(t *testing.T) {
	fx := newFixture(t)
	pips := fx.f.NewPublicIPAddressesClient()
	ctx := fx.ctx

	one := done(pips.BeginCreateOrUpdate(ctx, rgName, "pip1", standardPIP(zonalLoc, "1"), nil))(t, "create pip1")
	ip1, err := netip.ParseAddr(*one.Properties.IPAddress)
	if err != nil || !netip.MustParsePrefix("127.77.0.0/16").Contains(ip1) {
		t.Fatalf("pip1 address %v (%v), want one in 127.77.0.0/16", one.Properties.IPAddress, err)
	}
	if *one.SKU.Name != armnetwork.PublicIPAddressSKUNameStandard || !slices.Equal(deref(one.Zones), []string{"1"}) ||
		*one.Properties.PublicIPAllocationMethod != armnetwork.IPAllocationMethodStatic || *one.Properties.IdleTimeoutInMinutes != 4 {
		t.Errorf("pip1 = sku %s zones %v method %s idle %d", *one.SKU.Name, deref(one.Zones),
			*one.Properties.PublicIPAllocationMethod, *one.Properties.IdleTimeoutInMinutes)
	}
	withDNS := standardPIP(noZoneLoc)
	withDNS.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr("myapp")}
	two := done(pips.BeginCreateOrUpdate(ctx, rgName, "pip2", withDNS, nil))(t, "create pip2")
	if *two.Properties.IPAddress == *one.Properties.IPAddress {
		t.Errorf("two public IPs share %s", *two.Properties.IPAddress)
	}
	if *two.Properties.DNSSettings.Fqdn != "myapp.westcentralus.cloudapp.azure.com" {
		t.Errorf("fqdn = %s", *two.Properties.DNSSettings.Fqdn)
	}

	// Updates keep the address.
	upd := standardPIP(zonalLoc, "1")
	upd.Properties.IdleTimeoutInMinutes = to.Ptr[int32](10)
	got := done(pips.BeginCreateOrUpdate(ctx, rgName, "pip1", upd, nil))(t, "update pip1")
	if *got.Properties.IPAddress != ip1.String() || *got.Properties.IdleTimeoutInMinutes != 10 {
		t.Errorf("after update: %s idle %d", *got.Properties.IPAddress, *got.Properties.IdleTimeoutInMinutes)
	}
	tagged, err := pips.UpdateTags(ctx, rgName, "pip1", armnetwork.TagsObject{Tags: tags("k", "v")}, nil)
	if err != nil || *tagged.Tags["k"] != "v" || *tagged.Properties.IPAddress != ip1.String() {
		t.Errorf("UpdateTags: %v %v", tagged.Tags, err)
	}
	if n := listNames(t, pips.NewListPager(rgName, nil)); !slices.Equal(n, []string{"pip1", "pip2"}) {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, pips.NewListAllPager(nil)); !slices.Equal(n, []string{"pip1", "pip2"}) {
		t.Errorf("list all = %v", n)
	}
	fx.checkStaleETag(fx.id("publicIPAddresses", "pip1"))

	// SKU and zone rules.
	basicZonal := standardPIP(zonalLoc, "1")
	basicZonal.SKU.Name = to.Ptr(armnetwork.PublicIPAddressSKUNameBasic)
	dynamic := standardPIP(zonalLoc)
	dynamic.Properties.PublicIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodDynamic)
	for _, tc := range []struct {
		name string
		body armnetwork.PublicIPAddress
		code string
	}{
		{"zones where the region has none", standardPIP(noZoneLoc, "1"), "LocationNotSupportAvailabilityZones"},
		{"a zone the region lacks", standardPIP(zonalLoc, "4"), "InvalidAvailabilityZone"},
		{"zones on Basic", basicZonal, "ZonesNotAllowedInBasicSkuResource"},
		{"a dynamic Standard address", dynamic, "StandardSkuPublicIPAddressesMustBeStatic"},
	} {
		err := outcome(pips.BeginCreateOrUpdate(ctx, rgName, "bad", tc.body, nil))
		wantError(t, "public IP with "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	err = outcome(pips.BeginCreateOrUpdate(ctx, rgName, "pip1", standardPIP(zonalLoc, "2"), nil))
	wantError(t, "changing the zones", err, http.StatusBadRequest, "ResourceAvailabilityZonesCannotBeModified")
	err = outcome(pips.BeginCreateOrUpdate(ctx, rgName, "bad#name", standardPIP(zonalLoc), nil))
	wantError(t, "public IP named bad#name", err, http.StatusBadRequest, "InvalidResourceName")

	done(pips.BeginDelete(ctx, rgName, "pip2", nil))(t, "delete pip2")
	_, err = pips.Get(ctx, rgName, "pip2", nil)
	wantNotFound(t, "deleted pip", err)
}

func TestNetworkInterfaces(t *testing.T) {
	fx := newFixture(t)
	t.Cleanup(func() { fx.checkGraphMatchesGets(t) })
	nics, pips := fx.f.NewInterfacesClient(), fx.f.NewPublicIPAddressesClient()
	ctx := fx.ctx
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rgName, "vnet",
		vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("s", "10.0.1.0/24"), subnet("tiny", "10.0.2.0/29")), nil))(t, "create vnet")
	subnetID := fx.id("virtualNetworks", "vnet", "subnets", "s")
	privateIP := func(i armnetwork.Interface) string {
		return *i.Properties.IPConfigurations[0].Properties.PrivateIPAddress
	}

	// Dynamic addresses from .4 on, in order.
	n1 := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic1", nic(zonalLoc, subnetID), nil))(t, "create nic1")
	n2 := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic2", nic(zonalLoc, subnetID), nil))(t, "create nic2")
	if privateIP(n1.Interface) != "10.0.1.4" || privateIP(n2.Interface) != "10.0.1.5" {
		t.Errorf("private IPs %s, %s; want 10.0.1.4, 10.0.1.5", privateIP(n1.Interface), privateIP(n2.Interface))
	}
	cfg := n1.Properties.IPConfigurations[0]
	if *cfg.ID != fx.id("networkInterfaces", "nic1", "ipConfigurations", "ipconfig1") || !*cfg.Properties.Primary ||
		*cfg.Properties.PrivateIPAllocationMethod != armnetwork.IPAllocationMethodDynamic {
		t.Errorf("ipconfig: id %s primary %v method %s", *cfg.ID, *cfg.Properties.Primary, *cfg.Properties.PrivateIPAllocationMethod)
	}

	// Static addresses.
	static := func(ip string) armnetwork.Interface {
		n := nic(zonalLoc, subnetID)
		p := n.Properties.IPConfigurations[0].Properties
		p.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodStatic)
		p.PrivateIPAddress = to.Ptr(ip)
		return n
	}
	n3 := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic3", static("10.0.1.6"), nil))(t, "create static nic3")
	if privateIP(n3.Interface) != "10.0.1.6" {
		t.Errorf("static address = %s", privateIP(n3.Interface))
	}
	n4 := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic4", nic(zonalLoc, subnetID), nil))(t, "create nic4")
	if privateIP(n4.Interface) != "10.0.1.7" {
		t.Errorf("dynamic address after a static one = %s, want 10.0.1.7", privateIP(n4.Interface))
	}
	for _, tc := range []struct{ ip, code string }{
		{"10.0.1.6", "PrivateIPAddressIsAllocated"},
		{"10.0.2.5", "PrivateIPAddressNotInSubnet"},
		{"10.0.1.1", "PrivateIPAddressInReservedRange"},
		{"10.0.1.255", "PrivateIPAddressInReservedRange"},
	} {
		err := outcome(nics.BeginCreateOrUpdate(ctx, rgName, "bad", static(tc.ip), nil))
		wantError(t, "static address "+tc.ip, err, http.StatusBadRequest, tc.code)
	}

	// A full subnet: a /29 has three addresses to give.
	tiny := fx.id("virtualNetworks", "vnet", "subnets", "tiny")
	for i, want := range []string{"10.0.2.4", "10.0.2.5", "10.0.2.6"} {
		n := done(nics.BeginCreateOrUpdate(ctx, rgName, "tiny"+string(rune('a'+i)), nic(zonalLoc, tiny), nil))(t, "nic in tiny")
		if privateIP(n.Interface) != want {
			t.Errorf("tiny subnet address %d = %s, want %s", i, privateIP(n.Interface), want)
		}
	}
	err := outcome(nics.BeginCreateOrUpdate(ctx, rgName, "tinyd", nic(zonalLoc, tiny), nil))
	wantError(t, "NIC in a full subnet", err, http.StatusBadRequest, "SubnetIsFull")

	// References.
	err = outcome(nics.BeginCreateOrUpdate(ctx, rgName, "bad", nic(zonalLoc, fx.id("virtualNetworks", "vnet", "subnets", "missing")), nil))
	wantError(t, "NIC on a missing subnet", err, http.StatusBadRequest, "InvalidResourceReference")
	err = outcome(nics.BeginCreateOrUpdate(ctx, rgName, "bad", nic(noZoneLoc, subnetID), nil))
	wantError(t, "NIC on a subnet of another region", err, http.StatusBadRequest, "InvalidResourceReference")
	withNSG := nic(zonalLoc, subnetID)
	withNSG.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(fx.id("networkSecurityGroups", "missing"))}
	err = outcome(nics.BeginCreateOrUpdate(ctx, rgName, "bad", withNSG, nil))
	wantError(t, "NIC with a missing NSG", err, http.StatusBadRequest, "InvalidResourceReference")
	withPool := nic(zonalLoc, subnetID)
	withPool.Properties.IPConfigurations[0].Properties.LoadBalancerBackendAddressPools = []*armnetwork.BackendAddressPool{
		{ID: to.Ptr(fx.id("loadBalancers", "missing", "backendAddressPools", "pool"))}}
	err = outcome(nics.BeginCreateOrUpdate(ctx, rgName, "bad", withPool, nil))
	wantError(t, "NIC in a missing backend pool", err, http.StatusBadRequest, "InvalidResourceReference")
	_, err = nics.Get(ctx, rgName, "bad", nil)
	wantNotFound(t, "refused NIC", err)

	// A public IP on a NIC: shown on the address, held against others and against deletion.
	done(pips.BeginCreateOrUpdate(ctx, rgName, "pip", standardPIP(zonalLoc), nil))(t, "create pip")
	pipID := fx.id("publicIPAddresses", "pip")
	withPIP := nic(zonalLoc, subnetID)
	withPIP.Properties.IPConfigurations[0].Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)}
	withPIP.Properties.EnableIPForwarding = to.Ptr(true)
	upd := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic1", withPIP, nil))(t, "update nic1")
	if privateIP(upd.Interface) != "10.0.1.4" || !*upd.Properties.EnableIPForwarding {
		t.Errorf("after update: %s, forwarding %v; the dynamic address must stay", privateIP(upd.Interface), *upd.Properties.EnableIPForwarding)
	}
	p, err := pips.Get(ctx, rgName, "pip", nil)
	if err != nil || p.Properties.IPConfiguration == nil || *p.Properties.IPConfiguration.ID != *cfg.ID {
		t.Errorf("pip ipConfiguration = %v (%v), want %s", p.Properties.IPConfiguration, err, *cfg.ID)
	}
	err = outcome(nics.BeginCreateOrUpdate(ctx, rgName, "nic2", withPIP, nil))
	wantError(t, "a public IP another NIC holds", err, http.StatusBadRequest, "PublicIPAddressInUse")
	err = outcome(pips.BeginDelete(ctx, rgName, "pip", nil))
	wantError(t, "delete a public IP a NIC holds", err, http.StatusBadRequest, "PublicIPAddressCannotBeDeleted")

	// Tags, lists, ETag.
	tagged, err := nics.UpdateTags(ctx, rgName, "nic2", armnetwork.TagsObject{Tags: tags("x", "y")}, nil)
	if err != nil || *tagged.Tags["x"] != "y" {
		t.Errorf("UpdateTags: %v", err)
	}
	if n := listNames(t, nics.NewListPager(rgName, nil)); len(n) != 7 || n[0] != "nic1" {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, nics.NewListAllPager(nil)); len(n) != 7 {
		t.Errorf("list all = %v", n)
	}
	fx.checkStaleETag(fx.id("networkInterfaces", "nic2"))

	// A NIC a VM holds cannot be deleted. The compute provider attaches NICs through tx.Put;
	// this test does the same to the stored state through the engine's snapshot.
	eng := fx.env.Emulator.Engine()
	st := eng.Snapshot()
	for _, r := range st.Resources {
		if strings.EqualFold(r.ID, fx.id("networkInterfaces", "nic2")) {
			r.Body["properties"].(map[string]any)["virtualMachine"] = map[string]any{
				"id": "/subscriptions/" + fx.sub + "/resourceGroups/" + rgName + "/providers/Microsoft.Compute/virtualMachines/vm"}
		}
	}
	if err := eng.Restore(st); err != nil {
		t.Fatal(err)
	}
	err = outcome(nics.BeginDelete(ctx, rgName, "nic2", nil))
	wantError(t, "delete a NIC a VM holds", err, http.StatusBadRequest, "NicInUse")
	kept := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic2", nic(zonalLoc, subnetID), nil))(t, "update nic2")
	if kept.Properties.VirtualMachine == nil || !strings.HasSuffix(*kept.Properties.VirtualMachine.ID, "/virtualMachines/vm") {
		t.Errorf("a NIC PUT dropped virtualMachine: %v", kept.Properties.VirtualMachine)
	}

	done(nics.BeginDelete(ctx, rgName, "nic1", nil))(t, "delete nic1")
	_, err = nics.Get(ctx, rgName, "nic1", nil)
	wantNotFound(t, "deleted nic", err)
	done(pips.BeginDelete(ctx, rgName, "pip", nil))(t, "delete the freed pip")
	n5 := done(nics.BeginCreateOrUpdate(ctx, rgName, "nic5", nic(zonalLoc, subnetID), nil))(t, "create nic5")
	if privateIP(n5.Interface) != "10.0.1.4" {
		t.Errorf("the address of a deleted NIC is not reused: %s", privateIP(n5.Interface))
	}
}

func deref(p []*string) []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = *s
	}
	return out
}
