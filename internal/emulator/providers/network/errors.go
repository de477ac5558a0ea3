package network

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Azure's Microsoft.Network error codes and messages, as real deployments report them
// (quoted from Azure responses in public issue threads and Microsoft's troubleshooting
// pages; see docs/emulator.md for the sources). All are 400 Bad Request.

func badRequest(code, format string, args ...any) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...)
}

// errInvalidReference: a referenced subnet, NSG, route table, NAT gateway, public IP or
// backend pool does not exist (or is in another region).
func errInvalidReference(ref, owner string) *arm.Error {
	return badRequest("InvalidResourceReference",
		"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
		ref, owner)
}

// errAddressPrefixFormat: a prefix that is not CIDR notation.
func errAddressPrefixFormat(prefix, owner string) *arm.Error {
	return badRequest("InvalidAddressPrefixFormat",
		"Address prefix %s of resource %s is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.",
		prefix, owner)
}

// errCIDRNotation: a prefix with host bits set.
func errCIDRNotation(prefix, owner, want string) *arm.Error {
	return badRequest("InvalidCIDRNotation",
		"The address prefix %s in resource %s has an invalid CIDR notation. For the given prefix length, the address prefix should be %s.",
		prefix, owner, want)
}

// errSubnetOutside: a subnet prefix outside the VNet's address space (azure-wire.md §6).
func errSubnetOutside(subnet, vnet string) *arm.Error {
	return badRequest("NetcfgInvalidSubnet", "Subnet '%s' is not valid in virtual network '%s'.", subnet, vnet)
}

// errSubnetOverlap: two subnets of a VNet overlap (azure-wire.md §6).
func errSubnetOverlap(subnet, vnet string) *arm.Error {
	return badRequest("NetcfgSubnetRangesOverlap",
		"Subnet '%s' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '%s'.",
		subnet, vnet)
}

// errSubnetInUse: deleting (or dropping from its VNet) a subnet that IP configurations use.
func errSubnetInUse(subnet, user string) *arm.Error {
	return badRequest("InUseSubnetCannotBeDeleted",
		"Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
		subnet, user)
}

// errNSGInUse: deleting an NSG still associated with subnets or NICs.
func errNSGInUse(nsg string, users []string) *arm.Error {
	return badRequest("InUseNetworkSecurityGroupCannotBeDeleted",
		"Network security group %s cannot be deleted because it is in use by the following resources: %s. In order to delete the Network security group, remove the association with the resource(s).",
		nsg, strings.Join(users, ", "))
}

// errRouteTableInUse: deleting a route table still associated with subnets.
func errRouteTableInUse(name string) *arm.Error {
	return badRequest("InUseRouteTableCannotBeDeleted", "Route table %s is in use and cannot be deleted.", name)
}

// errNatGatewayInUse: deleting a NAT gateway still configured on subnets.
func errNatGatewayInUse(id string, subnets int) *arm.Error {
	return badRequest("CannotDeleteNatGatewayAssociatedToSubnet",
		"NAT Gateway %s is still configured on %d subnets. Remove NAT Gateway from all referenced subnets and then delete NAT Gateway.",
		id, subnets)
}

// errPublicIPCannotBeDeleted: deleting a public IP attached to a NIC, LB frontend or NAT GW.
func errPublicIPCannotBeDeleted(pip, user string) *arm.Error {
	return badRequest("PublicIPAddressCannotBeDeleted",
		"Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.",
		pip, user)
}

// errPublicIPInUse: attaching a public IP that another resource already holds.
func errPublicIPInUse(ipConfig, pip, user string) *arm.Error {
	return badRequest("PublicIPAddressInUse",
		"IP configuration %s is referencing public IP address %s that is already allocated to resource %s.",
		ipConfig, pip, user)
}

// errPublicIPTwice: one public IP referenced by two IP configurations of a resource.
func errPublicIPTwice(pip, owner string) *arm.Error {
	return badRequest("PublicIPReferencedByMultipleIPConfigs",
		"Public ip address %s is referenced by multiple ipconfigs in resource %s.", pip, owner)
}

// errNicInUse: deleting a NIC attached to a virtual machine.
func errNicInUse(nic, vm string) *arm.Error {
	return badRequest("NicInUse",
		"Network Interface %s is used by existing resource %s. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
		nic, vm)
}

// errSubnetFull: no private address left for a dynamic allocation.
func errSubnetFull(subnet, prefix string) *arm.Error {
	return badRequest("SubnetIsFull", "Subnet %s with address prefix %s does not have enough capacity for 1 IP addresses.", subnet, prefix)
}

// errPrivateIPNotInSubnet: a static private IP outside its subnet.
func errPrivateIPNotInSubnet(ipConfig, ip, prefix, subnet string) *arm.Error {
	return badRequest("PrivateIPAddressNotInSubnet",
		"IP configuration %s is requesting private IP address %s which is not within the address prefix %s of subnet %s.",
		ipConfig, ip, prefix, subnet)
}

// errPrivateIPReserved: a static private IP among the addresses Azure reserves.
func errPrivateIPReserved(ip, prefix string) *arm.Error {
	return badRequest("PrivateIPAddressInReservedRange",
		"Private static IP address %s falls within reserved IP range of subnet prefix %s.", ip, prefix)
}

// errPrivateIPAllocated: a static private IP another IP configuration holds.
func errPrivateIPAllocated(ipConfig, ip, user string) *arm.Error {
	return badRequest("PrivateIPAddressIsAllocated",
		"IP configuration %s is using the private IP address %s which is already allocated to resource %s.", ipConfig, ip, user)
}

// errFrontendNeither: a load balancer frontend with neither a subnet nor a public IP.
func errFrontendNeither(frontend string) *arm.Error {
	return badRequest("FrontendIPConfigHasNoSubnetOrPublicIP",
		"Frontend IP Configuration %s must reference either a Subnet or a Public IP Address.", frontend)
}

// errFrontendBoth: a load balancer frontend with both a subnet and a public IP.
func errFrontendBoth(frontend string) *arm.Error {
	return badRequest("FrontendIPConfigHasBothSubnetAndPublicIP",
		"Frontend IP Configuration %s must not reference both a Subnet and a Public IP Address.", frontend)
}

// errStaticAddress: a Static private IP configuration without an address, or with one that
// is not an IP address (NRP cannot parse the request).
func errStaticAddress(ipConfig, ip string) *arm.Error {
	e := badRequest("InvalidRequestFormat", "Cannot parse the request.")
	e.Details = []*arm.Error{badRequest("InvalidJsonPropertyValue",
		"IP configuration %s has privateIPAllocationMethod Static and privateIPAddress '%s', which is not an IP address.", ipConfig, ip)}
	return e
}

// errStandardMustBeStatic: a Standard public IP with Dynamic allocation.
func errStandardMustBeStatic(pip string) *arm.Error {
	return badRequest("StandardSkuPublicIPAddressesMustBeStatic", "Standard sku publicIp %s must have AllocationMethod set to Static.", pip)
}

// errLocationHasNoZones: zones requested in a region without availability zones.
func errLocationHasNoZones(typeAndName, location string) *arm.Error {
	return badRequest("LocationNotSupportAvailabilityZones",
		"The resource '%s' does not support availability zones at location '%s'.", typeAndName, location)
}

// errInvalidZone: a zone the region does not offer.
func errInvalidZone(zones []string, typeAndName, location string, offered []string) *arm.Error {
	return badRequest("InvalidAvailabilityZone",
		"The zone(s) '%s' for resource '%s' is not supported. The supported zones for location '%s' are '%s'",
		strings.Join(zones, ","), typeAndName, location, strings.Join(offered, ","))
}

// errZonesInBasicSku: zones on a Basic SKU resource.
func errZonesInBasicSku(id string) *arm.Error {
	return badRequest("ZonesNotAllowedInBasicSkuResource",
		"Request for resource %s is invalid as it is Basic sku and in an Availability Zone which is a deprecated configuration.  Please change your resource to Standard sku for Availability Zone support.",
		id)
}

// errMultipleZones: more than one zone on a zonal-only resource (NAT gateway, LB frontend).
func errMultipleZones(id string, n int) *arm.Error {
	return badRequest("ResourceCannotHaveMultipleZonesSpecified",
		"Resource %s has %d zones specified. Only one zone can be specified for this resource.", id, n)
}

// errZonesChanged: zones differ from the ones the resource was created with.
func errZonesChanged(id string, was, now []string) *arm.Error {
	return badRequest("ResourceAvailabilityZonesCannotBeModified",
		"Resource %s has an existing availability zone constraint %s and the request has availability zone constraint %s, which do not match. Zones cannot be added/updated/removed once the resource is created.",
		id, zoneConstraint(was), zoneConstraint(now))
}

func zoneConstraint(z []string) string {
	if len(z) == 0 {
		return "NoZone"
	}
	return strings.Join(z, ", ")
}

// errFrontendZoneWithPublicIP: zones on a load balancer frontend that references a public IP.
func errFrontendZoneWithPublicIP(frontend string, zones int, pip string) *arm.Error {
	return badRequest("LoadBalancerFrontendIPConfigCannotHaveZoneWhenReferencingPublicIPAddress",
		"Load balancer frontendIPConfiguration %s has %d zone specified and is referencing a publicIPAddress %s. Networking supports zones only for frontendIpconfigurations which reference a subnet.",
		frontend, zones, pip)
}

// errSkuMismatch: a Standard load balancer frontend referencing a Basic public IP (or the
// reverse).
func errSkuMismatch(lbSku, lb, pipSku, pip string) *arm.Error {
	return badRequest("PublicIPAndLBSkuDoNotMatch",
		"%s sku load balancer %s cannot reference %s sku publicIP %s.", lbSku, lb, pipSku, pip)
}

// errRulePriority: a security rule priority outside 100-4096.
func errRulePriority(value any) *arm.Error {
	return badRequest("SecurityRuleInvalidPriority",
		"Security rule has invalid Priority. Value provided: %v Allowed range 100-4096.", value)
}

// errRuleConflict: two rules of an NSG with the same priority and direction.
func errRuleConflict(rule, other string) *arm.Error {
	return badRequest("SecurityRuleConflict",
		"Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction.", rule, other)
}

// errRuleProtocol: a protocol that is not one of Azure's.
func errRuleProtocol(value string) *arm.Error {
	return badRequest("SecurityRuleInvalidProtocol",
		"Security rule has invalid Protocol. Value provided: %q Allowed values: Icmp,Tcp,Udp,Esp,Ah,*.", value)
}

// errRuleAccess: an access that is neither Allow nor Deny.
func errRuleAccess(value string) *arm.Error {
	return badRequest("SecurityRuleInvalidAccessType",
		"Security rule has invalid Access type. Value provided: %s Allowed values: Allow,Deny.", value)
}

// errRuleDirection: a direction that is neither Inbound nor Outbound.
func errRuleDirection(value string) *arm.Error {
	return badRequest("SecurityRuleInvalidDirection",
		"Security rule has invalid Direction. Value provided: %s Allowed values: Inbound,Outbound.", value)
}

// errRuleParametersMissing: a rule without a source/destination address or port.
func errRuleParametersMissing(rule, what string) *arm.Error {
	return badRequest("SecurityRuleParametersMissing",
		"Required security rule parameters are missing for security rule with Id: %s. Security rule must specify %s.", rule, what)
}

// errNotFound is the 404 of a missing resource.
func errNotFound(typ, name, rg string) *arm.Error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		typ, name, rg)
}

// errResourceGroupNotFound is the 404 of a missing resource group.
func errResourceGroupNotFound(rg string) *arm.Error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
}

// typeAndName formats "Microsoft.Network/publicIPAddresses/name" for zone errors.
func typeAndName(typ, name string) string { return fmt.Sprintf("%s/%s", typ, name) }
