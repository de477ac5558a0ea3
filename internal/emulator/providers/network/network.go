// Package network emulates Azure's Microsoft.Network resource provider for the ARM engine
// (internal/emulator/arm): virtual networks and their subnets, network security groups and
// their rules, public IP addresses, load balancers, NAT gateways, network interfaces, route
// tables, private endpoints and private DNS zones (with their virtual network links and A
// record sets).
//
// Each type is one arm.ResourceType whose hooks apply Azure's rules with Azure's error codes
// (address ranges, references, zones, in-use checks) and fill in what Azure computes (child
// IDs, default security rules, private and public IP addresses, back-references). Inline
// children (a VNet's subnets, an NSG's rules, a route table's routes) are stored as child
// resources, so the parent's PUT and the child's own API see the same objects.
// Back-references (a subnet's ipConfigurations, an NSG's subnets...) are computed when a
// resource is rendered, so they never go stale.
package network

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// The full types this package serves.
const (
	namespace        = "Microsoft.Network"
	typeVNet         = namespace + "/virtualNetworks"
	typeSubnet       = typeVNet + "/subnets"
	typeNSG          = namespace + "/networkSecurityGroups"
	typeSecurityRule = typeNSG + "/securityRules"
	typeDefaultRule  = typeNSG + "/defaultSecurityRules"
	typePublicIP     = namespace + "/publicIPAddresses"
	typeLoadBalancer = namespace + "/loadBalancers"
	typeNatGateway   = namespace + "/natGateways"
	typeNIC          = namespace + "/networkInterfaces"
	typeRouteTable   = namespace + "/routeTables"
	typeRoute        = typeRouteTable + "/routes"
)

// Types returns the Microsoft.Network resource types.
func Types() []arm.ResourceType {
	return []arm.ResourceType{
		vnetType(), subnetType(),
		nsgType(), securityRuleType(),
		publicIPType(),
		loadBalancerType(),
		natGatewayType(),
		nicType(),
		routeTableType(), routeType(),
		privateDNSZoneType(), vnetLinkType(), aRecordSetType(),
		privateEndpointType(),
	}
}

// Routes returns the Microsoft.Network endpoints that are not resources of their own: the
// default security rules of an NSG (DefaultSecurityRulesClient).
func Routes() []arm.Route {
	return defaultRuleRoutes()
}

// namePattern is Azure's rule for network resource names: alphanumerics, '_', '.', '-';
// starting with an alphanumeric and ending with an alphanumeric or '_'.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// nameRule returns the network naming rule for names of min to max characters (VNets 2-64,
// everything else 1-80).
func nameRule(minLen, maxLen int) arm.NameRule {
	return arm.NameRule{
		Min:     minLen,
		Max:     maxLen,
		Pattern: namePattern,
		Describe: fmt.Sprintf("The name can be up to %d characters long. It must begin with a word character, "+
			"and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.", maxLen),
	}
}

// newType returns the common shape of a network type: ETags, Azure-AsyncOperation writes
// (PUT 201 on create, 200 on update; DELETE 202), a location and a Tags operation for
// top-level types.
func newType(typ string, name arm.NameRule, child bool) arm.ResourceType {
	return arm.ResourceType{
		Type:      typ,
		Scope:     arm.ResourceGroupScope,
		Name:      name,
		ETag:      true,
		Located:   !child,
		PatchTags: !child,
		Create:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusCreated},
		Update:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK},
		Delete:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted},
	}
}
