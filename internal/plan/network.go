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
	rg               string // resource group of the network
	vnet, vnetCIDR   string
	control, workers subnetPlan
}

// subnetPlan is one of the two subnets: its graph keys and role, and its name, range and NSG.
type subnetPlan struct {
	key, nsgKey, role string
	name, cidr, nsg   string
}

// netPlan returns the network of the cluster's placement.
func (b *builder) netPlan() networkPlan {
	control := subnetPlan{key: keySubnetControl, nsgKey: keyNSGControl, role: RoleControlPlane}
	workers := subnetPlan{key: keySubnetWorkers, nsgKey: keyNSGWorkers, role: RoleNodes}
	if p := b.az.Placement; p != nil {
		control.name, control.cidr, control.nsg = p.ControlPlaneSubnet.Name, p.ControlPlaneSubnet.CIDR, p.ControlPlaneSubnet.SecurityGroup
		workers.name, workers.cidr, workers.nsg = p.WorkerSubnet.Name, p.WorkerSubnet.CIDR, p.WorkerSubnet.SecurityGroup
		return networkPlan{rg: p.ResourceGroup, vnet: p.VirtualNetwork, vnetCIDR: p.CIDR, control: control, workers: workers}
	}
	n := b.name()
	control.name, control.cidr, control.nsg = n+"-controlplane-subnet", DynamicControlPlaneCIDR, n+"-controlplane-nsg"
	workers.name, workers.cidr, workers.nsg = n+"-node-subnet", DynamicWorkersCIDR, n+"-node-nsg"
	return networkPlan{rg: b.az.ResourceGroup, vnet: n + "-vnet", vnetCIDR: DynamicVNetCIDR, control: control, workers: workers}
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
		b.adoptedNSG(np, np.control)
		b.adoptedNSG(np, np.workers)
		b.adoptedSubnet(np, np.control)
		b.adoptedSubnet(np, np.workers)
		return
	}

	loc := new(b.az.Location)
	b.createdVNet(np)
	b.createdNSG(np, np.control, apiServerRule())
	b.createdNSG(np, np.workers)

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
	b.add(&Node{Key: keyNATGateway, Kind: KindNatGateway, ID: networkID(sub, np.rg, "natGateways", natName),
		DependsOn: []string{keyNATGatewayIP}, Managed: true, Role: RoleNodeOutbound,
		Spec: armnetwork.NatGateway{
			Location: loc, Tags: b.tags(RoleNodeOutbound),
			SKU: &armnetwork.NatGatewaySKU{Name: new(armnetwork.NatGatewaySKUNameStandard)},
			Properties: &armnetwork.NatGatewayPropertiesFormat{
				IdleTimeoutInMinutes: new(int32(natIdleTimeoutMinutes)),
				PublicIPAddresses:    []*armnetwork.SubResource{{ID: new(pipID)}},
			},
		}})
	b.createdSubnet(np, np.control, keyNATGateway)
	b.createdSubnet(np, np.workers, keyNATGateway)
}

// adoptedVNet adds the user's VNet, verified by its address space, never written.
func (b *builder) adoptedVNet(np networkPlan) {
	b.add(&Node{Key: keyVNet, Kind: KindVirtualNetwork, ID: networkID(b.az.SubscriptionID, np.rg, "virtualNetworks", np.vnet),
		Role: RoleNetwork, Expect: map[string]string{ExpectAddressPrefix: np.vnetCIDR}})
}

// adoptedNSG adds the user's NSG of subnet s, verified to exist, never written.
func (b *builder) adoptedNSG(np networkPlan, s subnetPlan) {
	b.add(&Node{Key: s.nsgKey, Kind: KindNetworkSecurityGroup, ID: networkID(b.az.SubscriptionID, np.rg, "networkSecurityGroups", s.nsg),
		Role: s.role, Expect: existsOnly()})
}

// adoptedSubnet adds the user's subnet s, verified by its address prefix and its NSG (added
// before it), never written.
func (b *builder) adoptedSubnet(np networkPlan, s subnetPlan) {
	b.add(&Node{Key: s.key, Kind: KindSubnet, ID: subnetID(b.az.SubscriptionID, np.rg, np.vnet, s.name),
		DependsOn: []string{keyVNet, s.nsgKey}, Role: s.role,
		Expect: map[string]string{ExpectAddressPrefix: s.cidr, ExpectNetworkSecurityGroup: b.graph.Node(s.nsgKey).ID}})
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

// createdNSG adds the NSG of subnet s, which strata creates with the given rules.
func (b *builder) createdNSG(np networkPlan, s subnetPlan, rules ...*armnetwork.SecurityRule) {
	if rules == nil {
		rules = []*armnetwork.SecurityRule{}
	}
	b.add(&Node{Key: s.nsgKey, Kind: KindNetworkSecurityGroup, ID: networkID(b.az.SubscriptionID, np.rg, "networkSecurityGroups", s.nsg),
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: s.role,
		Spec: armnetwork.SecurityGroup{
			Location: new(b.az.Location), Tags: b.tags(s.role),
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules},
		}})
}

// createdSubnet adds subnet s, which strata creates wired to its NSG and, unless natKey is
// empty, to that NAT gateway (both added before it). Subnets carry no tags: Azure has none on
// them.
func (b *builder) createdSubnet(np networkPlan, s subnetPlan, natKey string) {
	spec := armnetwork.Subnet{
		Name: new(s.name),
		Properties: &armnetwork.SubnetPropertiesFormat{
			AddressPrefix:        new(s.cidr),
			NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: new(b.graph.Node(s.nsgKey).ID)},
		},
	}
	if natKey != "" {
		spec.Properties.NatGateway = &armnetwork.SubResource{ID: new(b.graph.Node(natKey).ID)}
	}
	b.add(&Node{Key: s.key, Kind: KindSubnet, ID: subnetID(b.az.SubscriptionID, np.rg, np.vnet, s.name),
		DependsOn: deps(keyVNet, s.nsgKey, natKey), Managed: true, Role: s.role, Spec: spec})
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
