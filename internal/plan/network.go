package plan

import (
	"fmt"
	"net/netip"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// The address layout of dynamic placement: a /16 VNet with a /24 for the control plane (a
// handful of machines) and a /20 for the workers (4,091 usable addresses), leaving the rest of
// the VNet free. It stays clear of the kubernetes layer's default pod (192.168.0.0/16) and
// service (10.96.0.0/12) ranges.
const (
	DynamicVNetCIDR         = "10.0.0.0/16"
	DynamicControlPlaneCIDR = "10.0.0.0/24"
	DynamicWorkersCIDR      = "10.0.16.0/20"
)

// NAT gateway idle timeout, in minutes (Azure's default).
const natIdleTimeoutMinutes = 4

// networkPlan names the network the nodes are placed in, whether strata makes it or not.
type networkPlan struct {
	rg                      string // resource group of the network
	vnet, vnetCIDR          string
	cpSubnet, cpCIDR, cpNSG string
	wkSubnet, wkCIDR, wkNSG string
}

// netPlan returns the network of the cluster's placement.
func (b *builder) netPlan() networkPlan {
	if p := b.az.Placement; p != nil {
		return networkPlan{
			rg: p.ResourceGroup, vnet: p.VirtualNetwork, vnetCIDR: p.CIDR,
			cpSubnet: p.ControlPlaneSubnet.Name, cpCIDR: p.ControlPlaneSubnet.CIDR, cpNSG: p.ControlPlaneSubnet.SecurityGroup,
			wkSubnet: p.WorkerSubnet.Name, wkCIDR: p.WorkerSubnet.CIDR, wkNSG: p.WorkerSubnet.SecurityGroup,
		}
	}
	n := b.name()
	return networkPlan{
		rg: b.az.ResourceGroup, vnet: n + "-vnet", vnetCIDR: DynamicVNetCIDR,
		cpSubnet: n + "-controlplane-subnet", cpCIDR: DynamicControlPlaneCIDR, cpNSG: n + "-controlplane-nsg",
		wkSubnet: n + "-node-subnet", wkCIDR: DynamicWorkersCIDR, wkNSG: n + "-node-nsg",
	}
}

// checkRanges refuses pod or service ranges that overlap the nodes' network or each other.
func (b *builder) checkRanges() error {
	np := b.netPlan()
	ranges := []struct{ what, cidr string }{
		{"the virtual network", np.vnetCIDR},
		{"the pod range (pack.podCIDR)", b.layers.podCIDR},
		{"the service range (pack.serviceClusterIpRange)", b.layers.serviceCIDR},
	}
	prefixes := make([]netip.Prefix, len(ranges))
	for i, r := range ranges {
		p, err := netip.ParsePrefix(r.cidr)
		if err != nil {
			return fmt.Errorf("%s %q is not a CIDR: %w", r.what, r.cidr, err)
		}
		prefixes[i] = p.Masked()
	}
	for i := range prefixes {
		for j := i + 1; j < len(prefixes); j++ {
			if prefixes[i].Overlaps(prefixes[j]) {
				return fmt.Errorf("%s %s overlaps %s %s", ranges[i].what, ranges[i].cidr, ranges[j].what, ranges[j].cidr)
			}
		}
	}
	return nil
}

// network adds the VNet, the two subnets and their NSGs: created with a NAT gateway for the
// nodes' egress under dynamic placement, adopted under static placement.
func (b *builder) network() {
	np := b.netPlan()
	sub := b.az.SubscriptionID
	if b.az.Placement != nil {
		b.adoptedVNet(np)
		b.adoptedNSG(keyNSGControl, np.rg, np.cpNSG, RoleControlPlane)
		b.adoptedNSG(keyNSGWorkers, np.rg, np.wkNSG, RoleNodes)
		b.adoptedSubnet(np, keySubnetControl, keyNSGControl, RoleControlPlane, np.cpSubnet, np.cpCIDR, np.cpNSG)
		b.adoptedSubnet(np, keySubnetWorkers, keyNSGWorkers, RoleNodes, np.wkSubnet, np.wkCIDR, np.wkNSG)
		return
	}

	loc := new(b.az.Location)
	b.createdVNet(np)
	cpNSG := b.createdNSG(keyNSGControl, np.rg, np.cpNSG, RoleControlPlane, apiServerRule())
	wkNSG := b.createdNSG(keyNSGWorkers, np.rg, np.wkNSG, RoleNodes)

	natName := b.name() + "-node-natgw"
	pipID := networkID(sub, np.rg, "publicIPAddresses", "pip-"+natName)
	b.add(&Node{Key: keyNATGatewayIP, Kind: KindPublicIPAddress, ID: pipID,
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleNodeOutbound,
		Spec: armnetwork.PublicIPAddress{
			Location: loc, Tags: b.tags(RoleNodeOutbound),
			SKU: &armnetwork.PublicIPAddressSKU{Name: new(armnetwork.PublicIPAddressSKUNameStandard), Tier: new(armnetwork.PublicIPAddressSKUTierRegional)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: new(armnetwork.IPAllocationMethodStatic),
				PublicIPAddressVersion:   new(armnetwork.IPVersionIPv4),
			},
		}})
	natID := networkID(sub, np.rg, "natGateways", natName)
	b.add(&Node{Key: keyNATGateway, Kind: KindNatGateway, ID: natID,
		DependsOn: []string{keyNATGatewayIP}, Managed: true, Role: RoleNodeOutbound,
		Spec: armnetwork.NatGateway{
			Location: loc, Tags: b.tags(RoleNodeOutbound),
			SKU: &armnetwork.NatGatewaySKU{Name: new(armnetwork.NatGatewaySKUNameStandard)},
			Properties: &armnetwork.NatGatewayPropertiesFormat{
				IdleTimeoutInMinutes: new(int32(natIdleTimeoutMinutes)),
				PublicIPAddresses:    []*armnetwork.SubResource{{ID: new(pipID)}},
			},
		}})
	b.add(&Node{Key: keySubnetControl, Kind: KindSubnet, ID: subnetID(sub, np.rg, np.vnet, np.cpSubnet),
		DependsOn: []string{keyVNet, keyNSGControl, keyNATGateway}, Managed: true, Role: RoleControlPlane,
		Spec: subnetSpec(np.cpSubnet, np.cpCIDR, cpNSG, natID)})
	b.add(&Node{Key: keySubnetWorkers, Kind: KindSubnet, ID: subnetID(sub, np.rg, np.vnet, np.wkSubnet),
		DependsOn: []string{keyVNet, keyNSGWorkers, keyNATGateway}, Managed: true, Role: RoleNodes,
		Spec: subnetSpec(np.wkSubnet, np.wkCIDR, wkNSG, natID)})
}

// adoptedVNet adds the user's VNet, verified by its address space, never written.
func (b *builder) adoptedVNet(np networkPlan) {
	b.add(&Node{Key: keyVNet, Kind: KindVirtualNetwork, ID: networkID(b.az.SubscriptionID, np.rg, "virtualNetworks", np.vnet),
		Role: RoleNetwork, Expect: map[string]string{ExpectAddressPrefix: np.vnetCIDR}})
}

// adoptedNSG adds one of the user's NSGs, verified to exist, never written.
func (b *builder) adoptedNSG(key, rg, name string, role string) {
	b.add(&Node{Key: key, Kind: KindNetworkSecurityGroup, ID: networkID(b.az.SubscriptionID, rg, "networkSecurityGroups", name),
		Role: role, Expect: existsOnly()})
}

// adoptedSubnet adds one of the user's subnets, verified by its address prefix and its NSG
// (the node nsgKey), never written.
func (b *builder) adoptedSubnet(np networkPlan, key, nsgKey string, role string, name, cidr, nsg string) {
	sub := b.az.SubscriptionID
	b.add(&Node{Key: key, Kind: KindSubnet, ID: subnetID(sub, np.rg, np.vnet, name),
		DependsOn: []string{keyVNet, nsgKey}, Role: role,
		Expect: map[string]string{ExpectAddressPrefix: cidr, ExpectNetworkSecurityGroup: networkID(sub, np.rg, "networkSecurityGroups", nsg)}})
}

// createdVNet adds the VNet strata creates, without inline subnets.
func (b *builder) createdVNet(np networkPlan) {
	b.add(&Node{Key: keyVNet, Kind: KindVirtualNetwork, ID: networkID(b.az.SubscriptionID, np.rg, "virtualNetworks", np.vnet),
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleNetwork,
		Spec: armnetwork.VirtualNetwork{
			Location: new(b.az.Location), Tags: b.tags(RoleNetwork),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{
				AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{new(np.vnetCIDR)}},
			},
		}})
}

// createdNSG adds an NSG strata creates with the given rules, and returns its ID.
func (b *builder) createdNSG(key, rg, name string, role string, rules ...*armnetwork.SecurityRule) string {
	id := networkID(b.az.SubscriptionID, rg, "networkSecurityGroups", name)
	if rules == nil {
		rules = []*armnetwork.SecurityRule{}
	}
	b.add(&Node{Key: key, Kind: KindNetworkSecurityGroup, ID: id,
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: role,
		Spec: armnetwork.SecurityGroup{
			Location: new(b.az.Location), Tags: b.tags(role),
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules},
		}})
	return id
}

// subnetSpec is a created subnet wired to its NSG and, when natID is not empty, the NAT
// gateway. Subnets carry no tags: Azure has none on them.
func subnetSpec(name, cidr, nsgID, natID string) armnetwork.Subnet {
	s := armnetwork.Subnet{
		Name: new(name),
		Properties: &armnetwork.SubnetPropertiesFormat{
			AddressPrefix:        new(cidr),
			NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: new(nsgID)},
		},
	}
	if natID != "" {
		s.Properties.NatGateway = &armnetwork.SubResource{ID: new(natID)}
	}
	return s
}

// apiServerRule opens the API server's port to the Internet, like CAPZ's allow_apiserver: the
// only rule strata adds; SSH stays closed.
func apiServerRule() *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{
		Name: new("allow_apiserver"),
		Properties: &armnetwork.SecurityRulePropertiesFormat{
			Description:              new("Allow the Kubernetes API server"),
			Protocol:                 new(armnetwork.SecurityRuleProtocolTCP),
			Access:                   new(armnetwork.SecurityRuleAccessAllow),
			Direction:                new(armnetwork.SecurityRuleDirectionInbound),
			Priority:                 new(int32(APIServerRulePriority)),
			SourceAddressPrefix:      new("Internet"),
			SourcePortRange:          new("*"),
			DestinationAddressPrefix: new("*"),
			DestinationPortRange:     new(fmt.Sprint(APIServerPort)),
		},
	}
}
