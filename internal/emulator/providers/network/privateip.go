package network

import (
	"net/netip"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// ipPlan holds the private addresses one request has assigned so far (address to IP
// configuration), so two IP configurations of a resource never get the same one.
type ipPlan map[netip.Addr]string

// assignPrivateIP sets the private address of the IP configuration cfg (properties cp) of
// owner (a NIC or load balancer) in subnet, from the subnet's first IPv4 prefix.
//   - Static: the requested address, which must be inside the subnet, not one of the five
//     Azure reserves and not held by another IP configuration.
//   - Dynamic: current (the address the configuration had) while it is still valid, else the
//     lowest free address from the fifth on, as Azure hands them out.
func assignPrivateIP(tx arm.Tx, owner, cfg string, cp map[string]any, subnet *arm.Resource, current string, plan ipPlan) *arm.Error {
	var prefix netip.Prefix
	for _, p := range storedPrefixes(subnet) {
		if p.Addr().Is4() {
			prefix = p
			break
		}
	}
	if !prefix.IsValid() {
		return nil // an IPv6-only subnet: nothing to assign from
	}
	used := map[netip.Addr]string{}
	for _, c := range ipConfigsIn(tx, subnet.ID, owner) {
		if a, err := netip.ParseAddr(c.PrivateIP); err == nil {
			used[a] = c.ID
		}
	}
	for a, id := range plan {
		used[a] = id
	}
	isUsed := func(a netip.Addr) bool { _, ok := used[a]; return ok }

	method := canonical(str(cp["privateIPAllocationMethod"]), "Static", "Dynamic")
	if method == "" {
		method = "Dynamic"
	}
	var addr netip.Addr
	if method == "Static" {
		ip := str(cp["privateIPAddress"])
		a, err := netip.ParseAddr(ip)
		switch {
		case err != nil:
			return errStaticAddress(cfg, ip)
		case !prefix.Contains(a):
			return errPrivateIPNotInSubnet(cfg, ip, prefix.String(), subnet.Name())
		case reservedAddr(prefix, a):
			return errPrivateIPReserved(ip, prefix.String())
		case isUsed(a):
			return errPrivateIPAllocated(cfg, ip, used[a])
		}
		addr = a
	} else if a, err := netip.ParseAddr(current); err == nil && prefix.Contains(a) && !reservedAddr(prefix, a) && !isUsed(a) {
		addr = a
	} else {
		free, ok := firstFree(prefix, isUsed)
		if !ok {
			return errSubnetFull(subnet.Name(), prefix.String())
		}
		addr = free
	}
	cp["privateIPAddress"] = addr.String()
	cp["privateIPAllocationMethod"] = method
	cp["privateIPAddressVersion"] = "IPv4"
	plan[addr] = cfg
	return nil
}

// subnetRef resolves the subnet an IP configuration names: it must exist, in a VNet of the
// owner's region.
func subnetRef(tx arm.Tx, subnet, owner, location string) (*arm.Resource, *arm.Error) {
	s := getOfType(tx, subnet, typeSubnet)
	if s == nil {
		return nil, errInvalidReference(subnet, owner)
	}
	if vnet := tx.Get(arm.ParseID(s.ID).Parent()); vnet == nil || !sameRegion(str(vnet.Body["location"]), location) {
		return nil, errInvalidReference(subnet, owner)
	}
	return s, nil
}
