package network_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// publicLB is a Standard load balancer with a public frontend, a pool, a probe, a
// load-balancing rule and an outbound rule, referencing each other by ID as clients do.
func publicLB(fx *fixture, name, pipID string) armnetwork.LoadBalancer {
	sub := func(collection, item string) *armnetwork.SubResource {
		return subRef(fx.id("loadBalancers", name, collection, item))
	}
	return armnetwork.LoadBalancer{
		Location: to.Ptr(zonalLoc),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{
				Name:       to.Ptr("fe"),
				Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{PublicIPAddress: &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)}},
			}},
			BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: to.Ptr("pool")}},
			Probes: []*armnetwork.Probe{{Name: to.Ptr("probe"), Properties: &armnetwork.ProbePropertiesFormat{
				Protocol: to.Ptr(armnetwork.ProbeProtocolTCP), Port: to.Ptr[int32](6443)}}},
			LoadBalancingRules: []*armnetwork.LoadBalancingRule{{Name: to.Ptr("api"), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
				FrontendIPConfiguration: sub("frontendIPConfigurations", "fe"),
				BackendAddressPool:      sub("backendAddressPools", "pool"),
				Probe:                   sub("probes", "probe"),
				Protocol:                to.Ptr(armnetwork.TransportProtocolTCP),
				FrontendPort:            to.Ptr[int32](6443),
				BackendPort:             to.Ptr[int32](6443),
			}}},
			OutboundRules: []*armnetwork.OutboundRule{{Name: to.Ptr("out"), Properties: &armnetwork.OutboundRulePropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.SubResource{sub("frontendIPConfigurations", "fe")},
				BackendAddressPool:       sub("backendAddressPools", "pool"),
				Protocol:                 to.Ptr(armnetwork.LoadBalancerOutboundRuleProtocolAll),
			}}},
		},
	}
}

func TestLoadBalancers(t *testing.T) {
	fx := newFixture(t)
	t.Cleanup(func() { fx.checkGraphMatchesGets(t) })
	lbs, pips, nics := fx.f.NewLoadBalancersClient(), fx.f.NewPublicIPAddressesClient(), fx.f.NewInterfacesClient()
	ctx := fx.ctx
	done(pips.BeginCreateOrUpdate(ctx, rgName, "lb-pip", standardPIP(zonalLoc, "1", "2", "3"), nil))(t, "create pip")
	pipID := fx.id("publicIPAddresses", "lb-pip")

	created := done(lbs.BeginCreateOrUpdate(ctx, rgName, "lb", publicLB(fx, "lb", pipID), nil))(t, "create lb")
	p := created.Properties
	feID, poolID, ruleID := fx.id("loadBalancers", "lb", "frontendIPConfigurations", "fe"),
		fx.id("loadBalancers", "lb", "backendAddressPools", "pool"), fx.id("loadBalancers", "lb", "loadBalancingRules", "api")
	if *p.FrontendIPConfigurations[0].ID != feID || *p.BackendAddressPools[0].ID != poolID || *p.LoadBalancingRules[0].ID != ruleID ||
		*p.Probes[0].ID != fx.id("loadBalancers", "lb", "probes", "probe") || *p.OutboundRules[0].ID != fx.id("loadBalancers", "lb", "outboundRules", "out") {
		t.Fatalf("sub-resource IDs not filled in: %s %s %s", *p.FrontendIPConfigurations[0].ID, *p.BackendAddressPools[0].ID, *p.LoadBalancingRules[0].ID)
	}
	fe := p.FrontendIPConfigurations[0].Properties
	if len(fe.LoadBalancingRules) != 1 || *fe.LoadBalancingRules[0].ID != ruleID || len(fe.OutboundRules) != 1 {
		t.Errorf("frontend back-references: %v %v", fe.LoadBalancingRules, fe.OutboundRules)
	}
	if pr := p.Probes[0].Properties; len(pr.LoadBalancingRules) != 1 || *pr.LoadBalancingRules[0].ID != ruleID {
		t.Errorf("probe back-references: %v", pr.LoadBalancingRules)
	}
	if *created.SKU.Name != armnetwork.LoadBalancerSKUNameStandard || p.FrontendIPConfigurations[0].Etag == nil {
		t.Errorf("sku %s, frontend etag %v", *created.SKU.Name, p.FrontendIPConfigurations[0].Etag)
	}
	if got, err := pips.Get(ctx, rgName, "lb-pip", nil); err != nil || got.Properties.IPConfiguration == nil || *got.Properties.IPConfiguration.ID != feID {
		t.Errorf("pip ipConfiguration = %v (%v), want the frontend", got.Properties.IPConfiguration, err)
	}

	// A NIC joins the backend pool.
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rgName, "vnet", vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("s", "10.0.1.0/24")), nil))(t, "vnet")
	subnetID := fx.id("virtualNetworks", "vnet", "subnets", "s")
	member := nic(zonalLoc, subnetID)
	member.Properties.IPConfigurations[0].Properties.LoadBalancerBackendAddressPools = []*armnetwork.BackendAddressPool{{ID: to.Ptr(poolID)}}
	done(nics.BeginCreateOrUpdate(ctx, rgName, "member", member, nil))(t, "nic in the pool")
	got, err := lbs.Get(ctx, rgName, "lb", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfgs := got.Properties.BackendAddressPools[0].Properties.BackendIPConfigurations; len(cfgs) != 1 ||
		*cfgs[0].ID != fx.id("networkInterfaces", "member", "ipConfigurations", "ipconfig1") {
		t.Errorf("pool backendIPConfigurations = %v", cfgs)
	}

	// Frontend rules.
	zonal := publicLB(fx, "lb2", pipID)
	zonal.Properties.FrontendIPConfigurations[0].Zones = to.SliceOfPtrs("1")
	badRule := publicLB(fx, "lb2", fx.id("publicIPAddresses", "free-pip"))
	badRule.Properties.LoadBalancingRules[0].Properties.Probe = subRef(fx.id("loadBalancers", "lb2", "probes", "missing"))
	done(pips.BeginCreateOrUpdate(ctx, rgName, "free-pip", standardPIP(zonalLoc), nil))(t, "create free pip")
	basic := armnetwork.PublicIPAddress{Location: to.Ptr(zonalLoc), SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameBasic)}}
	done(pips.BeginCreateOrUpdate(ctx, rgName, "basic-pip", basic, nil))(t, "create basic pip")
	for _, tc := range []struct {
		name string
		body armnetwork.LoadBalancer
		code string
	}{
		{"a zonal frontend on a public IP", zonal, "LoadBalancerFrontendIPConfigCannotHaveZoneWhenReferencingPublicIPAddress"},
		{"a rule naming a missing probe", badRule, "InvalidResourceReference"},
		{"a public IP another load balancer holds", publicLB(fx, "lb2", pipID), "PublicIPAddressInUse"},
		{"a missing public IP", publicLB(fx, "lb2", fx.id("publicIPAddresses", "missing")), "InvalidResourceReference"},
		{"a Basic public IP", publicLB(fx, "lb2", fx.id("publicIPAddresses", "basic-pip")), "PublicIPAndLBSkuDoNotMatch"},
	} {
		err := outcome(lbs.BeginCreateOrUpdate(ctx, rgName, "lb2", tc.body, nil))
		wantError(t, "load balancer with "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	_, err = lbs.Get(ctx, rgName, "lb2", nil)
	wantNotFound(t, "refused load balancer", err)

	// An internal load balancer gets a private frontend address from its subnet.
	internal := armnetwork.LoadBalancer{
		Location: to.Ptr(zonalLoc),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{
			Name:       to.Ptr("fe"),
			Zones:      to.SliceOfPtrs("1", "2", "3"),
			Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{Subnet: &armnetwork.Subnet{ID: to.Ptr(subnetID)}},
		}}},
	}
	ilb := done(lbs.BeginCreateOrUpdate(ctx, rgName, "ilb", internal, nil))(t, "create internal lb")
	if ip := *ilb.Properties.FrontendIPConfigurations[0].Properties.PrivateIPAddress; ip != "10.0.1.5" {
		t.Errorf("internal frontend address = %s, want 10.0.1.5 (after the NIC's .4)", ip)
	}
	if s, err := fx.f.NewSubnetsClient().Get(ctx, rgName, "vnet", "s", nil); err != nil || len(s.Properties.IPConfigurations) != 2 {
		t.Errorf("the subnet does not show the frontend: %v %v", s.Properties.IPConfigurations, err)
	}

	// Tags, lists, property change, ETag.
	tagged, err := lbs.UpdateTags(ctx, rgName, "lb", armnetwork.TagsObject{Tags: tags("t", "1")}, nil)
	if err != nil || *tagged.Tags["t"] != "1" {
		t.Errorf("UpdateTags: %v", err)
	}
	if n := listNames(t, lbs.NewListPager(rgName, nil)); !slices.Equal(n, []string{"lb", "ilb"}) {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, lbs.NewListAllPager(nil)); !slices.Equal(n, []string{"lb", "ilb"}) {
		t.Errorf("list all = %v", n)
	}
	changed := publicLB(fx, "lb", pipID)
	changed.Properties.LoadBalancingRules[0].Properties.FrontendPort = to.Ptr[int32](443)
	upd := done(lbs.BeginCreateOrUpdate(ctx, rgName, "lb", changed, nil))(t, "update lb")
	if *upd.Properties.LoadBalancingRules[0].Properties.FrontendPort != 443 {
		t.Errorf("frontend port = %d", *upd.Properties.LoadBalancingRules[0].Properties.FrontendPort)
	}
	fx.checkStaleETag(fx.id("loadBalancers", "lb"))

	err = outcome(pips.BeginDelete(ctx, rgName, "lb-pip", nil))
	wantError(t, "delete a public IP a frontend holds", err, http.StatusBadRequest, "PublicIPAddressCannotBeDeleted")
	done(lbs.BeginDelete(ctx, rgName, "lb", nil))(t, "delete lb")
	_, err = lbs.Get(ctx, rgName, "lb", nil)
	wantNotFound(t, "deleted lb", err)
	done(pips.BeginDelete(ctx, rgName, "lb-pip", nil))(t, "delete the freed pip")
}

func TestNatGateways(t *testing.T) {
	fx := newFixture(t)
	t.Cleanup(func() { fx.checkGraphMatchesGets(t) })
	nats, pips, subnets := fx.f.NewNatGatewaysClient(), fx.f.NewPublicIPAddressesClient(), fx.f.NewSubnetsClient()
	ctx := fx.ctx
	done(pips.BeginCreateOrUpdate(ctx, rgName, "nat-pip", standardPIP(zonalLoc, "1"), nil))(t, "create pip")
	pipID := fx.id("publicIPAddresses", "nat-pip")
	natBody := func(zones ...string) armnetwork.NatGateway {
		return armnetwork.NatGateway{
			Location:   to.Ptr(zonalLoc),
			SKU:        &armnetwork.NatGatewaySKU{Name: to.Ptr(armnetwork.NatGatewaySKUNameStandard)},
			Zones:      to.SliceOfPtrs(zones...),
			Properties: &armnetwork.NatGatewayPropertiesFormat{PublicIPAddresses: []*armnetwork.SubResource{subRef(pipID)}},
		}
	}
	created := done(nats.BeginCreateOrUpdate(ctx, rgName, "nat", natBody("1"), nil))(t, "create nat")
	if *created.ID != fx.id("natGateways", "nat") || *created.SKU.Name != armnetwork.NatGatewaySKUNameStandard ||
		*created.Properties.IdleTimeoutInMinutes != 4 || len(created.Properties.PublicIPAddresses) != 1 {
		t.Errorf("created nat: %+v", *created.Properties)
	}
	if p, err := pips.Get(ctx, rgName, "nat-pip", nil); err != nil || p.Properties.NatGateway == nil || *p.Properties.NatGateway.ID != *created.ID {
		t.Errorf("pip natGateway = %v (%v)", p.Properties.NatGateway, err)
	}

	for _, tc := range []struct {
		name string
		body armnetwork.NatGateway
		code string
	}{
		{"two zones", natBody("1", "2"), "ResourceCannotHaveMultipleZonesSpecified"},
		{"a zone the region lacks", natBody("7"), "InvalidAvailabilityZone"},
		{"a public IP another NAT gateway holds", natBody(), "PublicIPAddressInUse"},
	} {
		err := outcome(nats.BeginCreateOrUpdate(ctx, rgName, "nat2", tc.body, nil))
		wantError(t, "NAT gateway with "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	missing := natBody()
	missing.Properties.PublicIPAddresses = []*armnetwork.SubResource{subRef(fx.id("publicIPAddresses", "missing"))}
	err := outcome(nats.BeginCreateOrUpdate(ctx, rgName, "nat2", missing, nil))
	wantError(t, "NAT gateway with a missing public IP", err, http.StatusBadRequest, "InvalidResourceReference")
	err = outcome(nats.BeginCreateOrUpdate(ctx, rgName, "nat", natBody("2"), nil))
	wantError(t, "changing a NAT gateway's zone", err, http.StatusBadRequest, "ResourceAvailabilityZonesCannotBeModified")

	// On a subnet.
	withNat := vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("s", "10.0.1.0/24"))
	withNat.Properties.Subnets[0].Properties.NatGateway = subRef(*created.ID)
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rgName, "vnet", withNat, nil))(t, "vnet with nat")
	got, err := nats.Get(ctx, rgName, "nat", nil)
	if err != nil || len(got.Properties.Subnets) != 1 || *got.Properties.Subnets[0].ID != fx.id("virtualNetworks", "vnet", "subnets", "s") {
		t.Errorf("nat subnets = %v (%v)", got.Properties.Subnets, err)
	}
	err = outcome(nats.BeginDelete(ctx, rgName, "nat", nil))
	wantError(t, "delete a NAT gateway on a subnet", err, http.StatusBadRequest, "CannotDeleteNatGatewayAssociatedToSubnet")
	err = outcome(pips.BeginDelete(ctx, rgName, "nat-pip", nil))
	wantError(t, "delete a public IP a NAT gateway holds", err, http.StatusBadRequest, "PublicIPAddressCannotBeDeleted")

	// Tags, lists, property change, ETag.
	tagged, err := nats.UpdateTags(ctx, rgName, "nat", armnetwork.TagsObject{Tags: tags("n", "1")}, nil)
	if err != nil || *tagged.Tags["n"] != "1" {
		t.Errorf("UpdateTags: %v", err)
	}
	if n := listNames(t, nats.NewListPager(rgName, nil)); !slices.Equal(n, []string{"nat"}) {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, nats.NewListAllPager(nil)); !slices.Equal(n, []string{"nat"}) {
		t.Errorf("list all = %v", n)
	}
	longer := natBody("1")
	longer.Properties.IdleTimeoutInMinutes = to.Ptr[int32](10)
	if upd := done(nats.BeginCreateOrUpdate(ctx, rgName, "nat", longer, nil))(t, "update nat"); *upd.Properties.IdleTimeoutInMinutes != 10 {
		t.Errorf("idle timeout = %d", *upd.Properties.IdleTimeoutInMinutes)
	}
	fx.checkStaleETag(fx.id("natGateways", "nat"))

	s := subnet("s", "10.0.1.0/24")
	done(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet", "s", *s, nil))(t, "detach the nat")
	done(nats.BeginDelete(ctx, rgName, "nat", nil))(t, "delete nat")
	_, err = nats.Get(ctx, rgName, "nat", nil)
	wantNotFound(t, "deleted nat", err)
}

func TestRouteTables(t *testing.T) {
	fx := newFixture(t)
	t.Cleanup(func() { fx.checkGraphMatchesGets(t) })
	tables, routes, subnets := fx.f.NewRouteTablesClient(), fx.f.NewRoutesClient(), fx.f.NewSubnetsClient()
	ctx := fx.ctx
	route := func(name, prefix string) *armnetwork.Route {
		return &armnetwork.Route{Name: to.Ptr(name), Properties: &armnetwork.RoutePropertiesFormat{
			AddressPrefix: to.Ptr(prefix), NextHopType: to.Ptr(armnetwork.RouteNextHopTypeVirtualAppliance), NextHopIPAddress: to.Ptr("10.0.0.4")}}
	}
	body := armnetwork.RouteTable{Location: to.Ptr(zonalLoc), Properties: &armnetwork.RouteTablePropertiesFormat{Routes: []*armnetwork.Route{route("default", "0.0.0.0/0")}}}
	created := done(tables.BeginCreateOrUpdate(ctx, rgName, "rt", body, nil))(t, "create route table")
	if len(created.Properties.Routes) != 1 || *created.Properties.Routes[0].ID != fx.id("routeTables", "rt", "routes", "default") {
		t.Fatalf("routes = %v", created.Properties.Routes)
	}
	done(routes.BeginCreateOrUpdate(ctx, rgName, "rt", "azure", *route("azure", "AzureCloud"), nil))(t, "route to a service tag")
	if n := listNames(t, routes.NewListPager(rgName, "rt", nil)); !slices.Equal(n, []string{"default", "azure"}) {
		t.Errorf("routes = %v", n)
	}
	err := outcome(routes.BeginCreateOrUpdate(ctx, rgName, "rt", "bad", *route("bad", "10.0.0.1/16"), nil))
	wantError(t, "route with host bits", err, http.StatusBadRequest, "InvalidCIDRNotation")
	err = outcome(routes.BeginCreateOrUpdate(ctx, rgName, "rt", "bad", *route("bad", "10.0.0.0/99"), nil))
	wantError(t, "route with a bad prefix", err, http.StatusBadRequest, "InvalidAddressPrefixFormat")

	// On a subnet.
	withRT := vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("s", "10.0.1.0/24"))
	withRT.Properties.Subnets[0].Properties.RouteTable = &armnetwork.RouteTable{ID: created.ID}
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rgName, "vnet", withRT, nil))(t, "vnet with route table")
	got, err := tables.Get(ctx, rgName, "rt", nil)
	if err != nil || len(got.Properties.Subnets) != 1 || len(got.Properties.Routes) != 2 {
		t.Errorf("route table: subnets %v, %d routes (%v)", got.Properties.Subnets, len(got.Properties.Routes), err)
	}
	err = outcome(tables.BeginDelete(ctx, rgName, "rt", nil))
	wantError(t, "delete a route table on a subnet", err, http.StatusBadRequest, "InUseRouteTableCannotBeDeleted")

	// Tags, lists, property change, ETag.
	tagged, err := tables.UpdateTags(ctx, rgName, "rt", armnetwork.TagsObject{Tags: tags("r", "1")}, nil)
	if err != nil || *tagged.Tags["r"] != "1" {
		t.Errorf("UpdateTags: %v", err)
	}
	if n := listNames(t, tables.NewListPager(rgName, nil)); !slices.Equal(n, []string{"rt"}) {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, tables.NewListAllPager(nil)); !slices.Equal(n, []string{"rt"}) {
		t.Errorf("list all = %v", n)
	}
	body.Properties.DisableBgpRoutePropagation = to.Ptr(true)
	upd := done(tables.BeginCreateOrUpdate(ctx, rgName, "rt", body, nil))(t, "update route table")
	if !*upd.Properties.DisableBgpRoutePropagation || len(upd.Properties.Routes) != 1 {
		t.Errorf("after PUT: bgp %v, %d routes", *upd.Properties.DisableBgpRoutePropagation, len(upd.Properties.Routes))
	}
	fx.checkStaleETag(fx.id("routeTables", "rt"))

	done(subnets.BeginCreateOrUpdate(ctx, rgName, "vnet", "s", *subnet("s", "10.0.1.0/24"), nil))(t, "detach the route table")
	done(routes.BeginDelete(ctx, rgName, "rt", "default", nil))(t, "delete route")
	_, err = routes.Get(ctx, rgName, "rt", "default", nil)
	wantNotFound(t, "deleted route", err)
	done(tables.BeginDelete(ctx, rgName, "rt", nil))(t, "delete route table")
	_, err = tables.Get(ctx, rgName, "rt", nil)
	wantNotFound(t, "deleted route table", err)
}
