package network_test

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// TestInternalLoadBalancerFrontends checks the frontends of internal load balancers: a static
// private address must lie in the subnet, outside Azure's five reserved addresses, and be free
// of other frontends and NICs; a frontend names a subnet or a public IP, not both nor neither.
func TestInternalLoadBalancerFrontends(t *testing.T) {
	fx := newFixture(t)
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(fx.ctx, rgName, "vn", vnet(zonalLoc, []string{"10.1.0.0/16"},
		subnet("lb", "10.1.1.0/24")), nil))(t, "vnet")
	subnetID := fx.id("virtualNetworks", "vn", "subnets", "lb")
	n := done(fx.f.NewInterfacesClient().BeginCreateOrUpdate(fx.ctx, rgName, "nic", nic(zonalLoc, subnetID), nil))(t, "nic")
	nicIP := *n.Properties.IPConfigurations[0].Properties.PrivateIPAddress // 10.1.1.4
	done(fx.f.NewLoadBalancersClient().BeginCreateOrUpdate(fx.ctx, rgName, "other", internalLB(subnetID, "10.1.1.50"), nil))(t, "other lb")
	pip := done(fx.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(fx.ctx, rgName, "pip", standardPIP(zonalLoc), nil))(t, "pip")

	static := func(ip string) *armnetwork.FrontendIPConfiguration {
		return frontend("fe", subRef(subnetID), nil, armnetwork.IPAllocationMethodStatic, ip)
	}
	cases := []struct {
		name      string
		frontends []*armnetwork.FrontendIPConfiguration
		code      string // "" for success
	}{
		{"a free static address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.10")}, ""},
		{"a dynamic address", []*armnetwork.FrontendIPConfiguration{frontend("fe", subRef(subnetID), nil, armnetwork.IPAllocationMethodDynamic, "")}, ""},
		{"outside the subnet", []*armnetwork.FrontendIPConfiguration{static("10.1.2.10")}, "PrivateIPAddressNotInSubnet"},
		{"the network address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.0")}, "PrivateIPAddressInReservedRange"},
		{"the gateway", []*armnetwork.FrontendIPConfiguration{static("10.1.1.1")}, "PrivateIPAddressInReservedRange"},
		{"a DNS address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.3")}, "PrivateIPAddressInReservedRange"},
		{"the broadcast address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.255")}, "PrivateIPAddressInReservedRange"},
		{"a NIC's address", []*armnetwork.FrontendIPConfiguration{static(nicIP)}, "PrivateIPAddressIsAllocated"},
		{"another load balancer's address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.50")}, "PrivateIPAddressIsAllocated"},
		{"one address twice", []*armnetwork.FrontendIPConfiguration{static("10.1.1.20"),
			frontend("fe2", subRef(subnetID), nil, armnetwork.IPAllocationMethodStatic, "10.1.1.20")}, "PrivateIPAddressIsAllocated"},
		{"static without an address", []*armnetwork.FrontendIPConfiguration{static("")}, "InvalidRequestFormat"},
		{"not an address", []*armnetwork.FrontendIPConfiguration{static("10.1.1.x")}, "InvalidRequestFormat"},
		{"a missing subnet", []*armnetwork.FrontendIPConfiguration{frontend("fe", subRef(fx.id("virtualNetworks", "vn", "subnets", "nope")), nil,
			armnetwork.IPAllocationMethodStatic, "10.1.1.10")}, "InvalidResourceReference"},
		{"neither a subnet nor a public IP", []*armnetwork.FrontendIPConfiguration{frontend("fe", nil, nil, armnetwork.IPAllocationMethodDynamic, "")},
			"FrontendIPConfigHasNoSubnetOrPublicIP"},
		{"both a subnet and a public IP", []*armnetwork.FrontendIPConfiguration{frontend("fe", subRef(subnetID), pip.ID,
			armnetwork.IPAllocationMethodDynamic, "")}, "FrontendIPConfigHasBothSubnetAndPublicIP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lb := internalLB(subnetID, "")
			lb.Properties.FrontendIPConfigurations = c.frontends
			res, err := outcomeOf(fx.f.NewLoadBalancersClient().BeginCreateOrUpdate(fx.ctx, rgName, "ilb", lb, nil))
			if c.code != "" {
				wantError(t, c.name, err, http.StatusBadRequest, c.code)
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got := *res.Properties.FrontendIPConfigurations[0].Properties.PrivateIPAddress
			if want := c.frontends[0].Properties.PrivateIPAddress; want != nil && got != *want {
				t.Errorf("frontend address %s, want %s", got, *want)
			}
			done(fx.f.NewLoadBalancersClient().BeginDelete(fx.ctx, rgName, "ilb", nil))(t, "delete")
		})
	}
}

// internalLB is a Standard load balancer with one frontend in a subnet (static when ip is
// given).
func internalLB(subnetID, ip string) armnetwork.LoadBalancer {
	method := armnetwork.IPAllocationMethodDynamic
	if ip != "" {
		method = armnetwork.IPAllocationMethodStatic
	}
	return armnetwork.LoadBalancer{
		Location: to.Ptr(zonalLoc),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{frontend("fe", subRef(subnetID), nil, method, ip)},
		},
	}
}

// frontend builds a frontend IP configuration on a subnet and/or a public IP (nil for none).
func frontend(name string, subnet *armnetwork.SubResource, pip *string, method armnetwork.IPAllocationMethod, ip string) *armnetwork.FrontendIPConfiguration {
	p := &armnetwork.FrontendIPConfigurationPropertiesFormat{PrivateIPAllocationMethod: to.Ptr(method)}
	if subnet != nil {
		p.Subnet = &armnetwork.Subnet{ID: subnet.ID}
	}
	if pip != nil {
		p.PublicIPAddress = &armnetwork.PublicIPAddress{ID: pip}
	}
	if method == armnetwork.IPAllocationMethodStatic {
		p.PrivateIPAddress = to.Ptr(ip)
	}
	return &armnetwork.FrontendIPConfiguration{Name: to.Ptr(name), Properties: p}
}
