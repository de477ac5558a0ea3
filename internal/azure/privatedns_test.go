package azure

import (
	"errors"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// TestPrivateDNSServices walks an Internal API server's private DNS through the emulator:
// the zone, its link to a VNet and the A record are created, left alone when up to date,
// repaired on drift, refused to another cluster (the record through its zone, having no tags
// of its own), and deleted links and record first. It is skipped while the emulator has no
// private DNS zones.
func TestPrivateDNSServices(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	inv := &memInventory{owner: "c1"}
	tags := map[string]*string{v1alpha1.TagOwner: to.Ptr("c1"), v1alpha1.TagRole: to.Ptr(plan.RoleAPIServer)}
	vnetID := rgID + "/providers/Microsoft.Network/virtualNetworks/vnet"
	zoneID := rgID + "/providers/Microsoft.Network/privateDnsZones/c1.strata.internal"
	vnet := &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnetID, Managed: true, Spec: armnetwork.VirtualNetwork{
		Location: to.Ptr(env.Location), Tags: tags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}}}}}
	zone := &plan.Node{Key: "dns/zone", Kind: plan.KindPrivateDNSZone, ID: zoneID, Managed: true,
		Spec: armprivatedns.PrivateZone{Location: to.Ptr("global"), Tags: tags}}
	link := &plan.Node{Key: "dns/link/cluster-vnet", Kind: plan.KindPrivateDNSLink, ID: zoneID + "/virtualNetworkLinks/cluster-vnet", Managed: true,
		Spec: armprivatedns.VirtualNetworkLink{Location: to.Ptr("global"), Tags: tags, Properties: &armprivatedns.VirtualNetworkLinkProperties{
			VirtualNetwork: &armprivatedns.SubResource{ID: to.Ptr(vnetID)}, RegistrationEnabled: to.Ptr(false)}}}
	record := &plan.Node{Key: "dns/record/apiserver", Kind: plan.KindPrivateDNSRecord, ID: zoneID + "/A/apiserver", Managed: true,
		Spec: armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{TTL: to.Ptr[int64](300),
			ARecords: []*armprivatedns.ARecord{{IPv4Address: to.Ptr("10.0.0.10")}}}}}

	if _, err := ap.Apply(ctx, vnet, inv); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.Apply(ctx, zone, inv); err != nil {
		if code, _, _ := ErrorCode(err); code == "InvalidResourceType" || code == "InvalidResourceNamespace" {
			t.Skipf("the emulator has no private DNS zones yet: %v", err)
		}
		t.Fatal(err)
	}
	for _, n := range []*plan.Node{zone, link, record} {
		if r, err := ap.Apply(ctx, n, inv); err != nil {
			t.Fatalf("%s: %v", n.Key, err)
		} else if n != zone && !r.Wrote {
			t.Errorf("%s: first Apply wrote nothing", n.Key)
		}
		if r, err := ap.Apply(ctx, n, inv); err != nil || r.Wrote || r.Observed == nil || !r.Observed.UpToDate {
			t.Errorf("%s: second Apply = %+v, %v; want no write, up to date", n.Key, r, err)
		}
	}

	// Drift: the record points elsewhere.
	f, err := c.privateDNS()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.NewRecordSetsClient().CreateOrUpdate(ctx, "rg", "c1.strata.internal", armprivatedns.RecordTypeA, "apiserver",
		armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{TTL: to.Ptr[int64](300),
			ARecords: []*armprivatedns.ARecord{{IPv4Address: to.Ptr("10.0.0.99")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if o, err := ap.Observe(ctx, record); err != nil || !o.Exists || o.UpToDate {
		t.Errorf("tampered record: %+v, %v; want existing, not up to date", o, err)
	}
	if r, err := ap.Apply(ctx, record, inv); err != nil || !r.Wrote {
		t.Errorf("repairing the record: %+v, %v", r, err)
	}
	if o, err := ap.Observe(ctx, record); err != nil || !o.UpToDate {
		t.Errorf("repaired record: %+v, %v", o, err)
	}

	// Another cluster of the same names is refused the zone, its link and its record.
	other := &memInventory{owner: "c2"}
	for _, n := range []*plan.Node{zone, link, record} {
		var ce *ConflictError
		if _, err := ap.Apply(ctx, n, other); !errors.As(err, &ce) || ce.ID != n.ID {
			t.Errorf("%s for another cluster: %v, want a ConflictError", n.Key, err)
		}
	}

	for _, n := range []*plan.Node{record, link, zone} {
		if err := ap.Delete(ctx, n, inv); err != nil {
			t.Fatalf("deleting %s: %v", n.Key, err)
		}
		if o, err := ap.Observe(ctx, n); err != nil || o.Exists {
			t.Errorf("%s after Delete: %+v, %v", n.Key, o, err)
		}
	}
}

// TestDescribeLoadBalancer checks that an internal load balancer's frontend address is
// observed, and that a public one's gives none.
func TestDescribeLoadBalancer(t *testing.T) {
	fe := func(p armnetwork.FrontendIPConfigurationPropertiesFormat) *armnetwork.FrontendIPConfiguration {
		return &armnetwork.FrontendIPConfiguration{Name: to.Ptr("fe"), Properties: &p}
	}
	for _, tc := range []struct {
		name string
		lb   armnetwork.LoadBalancer
		want string
	}{
		{"internal", armnetwork.LoadBalancer{Properties: &armnetwork.LoadBalancerPropertiesFormat{FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{
			fe(armnetwork.FrontendIPConfigurationPropertiesFormat{PrivateIPAddress: to.Ptr("10.0.0.10"), Subnet: &armnetwork.Subnet{ID: to.Ptr("/s")}})}}}, "10.0.0.10"},
		{"public", armnetwork.LoadBalancer{Properties: &armnetwork.LoadBalancerPropertiesFormat{FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{
			fe(armnetwork.FrontendIPConfigurationPropertiesFormat{PublicIPAddress: &armnetwork.PublicIPAddress{ID: to.Ptr("/pip")}})}}}, ""},
		{"no properties", armnetwork.LoadBalancer{}, ""},
	} {
		var o Observation
		describeLoadBalancer(&tc.lb, &o)
		if o.Address != tc.want {
			t.Errorf("%s: address %q, want %q", tc.name, o.Address, tc.want)
		}
	}
}

// TestCheckARecordID checks that the record service writes A record sets of private zones
// only.
func TestCheckARecordID(t *testing.T) {
	for id, ok := range map[string]bool{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.example/A/apiserver":     true,
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.example/CNAME/apiserver": false,
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/dnsZones/z.example/A/apiserver":            false,
	} {
		rid, err := arm.ParseResourceID(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkARecordID(rid); (err == nil) != ok {
			t.Errorf("%s: %v, want ok %v", id, err, ok)
		}
	}
}

// TestInternalLoadBalancer applies an internal load balancer whose frontend has a static IP
// of a subnet, and observes that address.
func TestInternalLoadBalancer(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	ap := newClients(t, env).Applier()
	ctx := testCtx(t)
	inv := &memInventory{owner: "c1"}
	tags := map[string]*string{v1alpha1.TagOwner: to.Ptr("c1")}
	vnetID := rgID + "/providers/Microsoft.Network/virtualNetworks/vnet"
	lbID := rgID + "/providers/Microsoft.Network/loadBalancers/c1-internal-lb"
	nodes := []*plan.Node{
		{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnetID, Managed: true, Spec: armnetwork.VirtualNetwork{
			Location: to.Ptr(env.Location), Tags: tags,
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}}}}},
		{Key: "subnet/control-plane", Kind: plan.KindSubnet, ID: vnetID + "/subnets/cp", Managed: true, Spec: armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.0.0/24")}}},
		{Key: "lb/apiserver", Kind: plan.KindLoadBalancer, ID: lbID, Managed: true, Spec: armnetwork.LoadBalancer{
			Location: to.Ptr(env.Location), Tags: tags, SKU: &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
			Properties: &armnetwork.LoadBalancerPropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr("fe"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
					Subnet: &armnetwork.Subnet{ID: to.Ptr(vnetID + "/subnets/cp")}, PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
					PrivateIPAddress: to.Ptr("10.0.0.10")}}},
				BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: to.Ptr("cp")}},
			}}},
	}
	for _, n := range nodes {
		if _, err := ap.Apply(ctx, n, inv); err != nil {
			t.Fatalf("%s: %v", n.Key, err)
		}
	}
	lb := nodes[2]
	if r, err := ap.Apply(ctx, lb, inv); err != nil || r.Wrote || r.Observed == nil || r.Observed.Address != "10.0.0.10" {
		t.Errorf("second Apply = %+v, %v; want no write and the address 10.0.0.10", r, err)
	}
}
