package network

import (
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Back-references are computed from the resources that hold the forward references, so
// they are always current: a subnet's ipConfigurations are the NIC and load balancer IP
// configurations that name it, an NSG's subnets are the subnets that name it, and so on.

// ipConfig is one IP configuration: of a NIC (networkInterfaces/{n}/ipConfigurations/{c})
// or of a load balancer frontend (loadBalancers/{n}/frontendIPConfigurations/{f}).
type ipConfig struct {
	ID        string
	Owner     string // the NIC or load balancer
	Subnet    string
	PublicIP  string
	PrivateIP string
	Pools     []string // backend pools (NICs only)
}

// ipConfigsOf returns the IP configurations a NIC or load balancer holds.
func ipConfigsOf(r *arm.Resource) []ipConfig {
	key := "ipConfigurations"
	if strings.EqualFold(r.Type, typeLoadBalancer) {
		key = "frontendIPConfigurations"
	}
	var out []ipConfig
	for _, v := range list(obj(r.Body["properties"])[key]) {
		c := obj(v)
		p := obj(c["properties"])
		out = append(out, ipConfig{
			ID:        str(c["id"]),
			Owner:     r.ID,
			Subnet:    refID(p, "subnet"),
			PublicIP:  refID(p, "publicIPAddress"),
			PrivateIP: str(p["privateIPAddress"]),
			Pools:     refIDs(p, "loadBalancerBackendAddressPools"),
		})
	}
	return out
}

// allIPConfigs returns the IP configurations of every NIC and load balancer of the
// subscription, skipping the resource except (the one being written).
func allIPConfigs(tx arm.Tx, subscription, except string) []ipConfig {
	var out []ipConfig
	for _, typ := range []string{typeNIC, typeLoadBalancer} {
		for _, r := range listAll(tx, subscription, typ) {
			if !sameID(r.ID, except) {
				out = append(out, ipConfigsOf(r)...)
			}
		}
	}
	return out
}

// ipConfigsIn returns the IP configurations of the NICs and load balancers of the
// subscription in a subnet, skipping the resource except, in no particular order. Every NIC
// write asks it: it reads the stored resources without copying them where tx allows.
func ipConfigsIn(tx arm.Tx, subnet, except string) []ipConfig {
	var out []ipConfig
	keep := func(r *arm.Resource) {
		if sameID(r.ID, except) {
			return
		}
		for _, c := range ipConfigsOf(r) {
			if sameID(c.Subnet, subnet) {
				out = append(out, c)
			}
		}
	}
	scope := "/subscriptions/" + arm.ParseID(subnet).Subscription
	for _, typ := range []string{typeNIC, typeLoadBalancer} {
		if v, ok := tx.(arm.Viewer); ok {
			v.View(scope, typ, keep)
			continue
		}
		for _, r := range tx.List(scope, typ) {
			keep(r)
		}
	}
	return out
}

// allSubnets returns every subnet of every VNet of the subscription.
func allSubnets(tx arm.Tx, subscription string) []*arm.Resource {
	var out []*arm.Resource
	for _, v := range listAll(tx, subscription, typeVNet) {
		out = append(out, children(tx, v.ID, typeSubnet)...)
	}
	return out
}

// subnetUsers returns the IP configurations in a subnet.
func subnetUsers(tx arm.Tx, subnet string) []string {
	if _, ok := tx.(arm.Memoizer); ok {
		return usersBySubnetMemo(tx, arm.ParseID(subnet).Subscription)[arm.Key(subnet)]
	}
	var ids []string
	for _, c := range allIPConfigs(tx, arm.ParseID(subnet).Subscription, "") {
		if sameID(c.Subnet, subnet) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// usersBySubnet returns the IP configurations of the subscription keyed by the folded ID of
// their subnet; each list is in the order subnetUsers gives.
func usersBySubnet(tx arm.Tx, subscription string) map[string][]string {
	by := map[string][]string{}
	for _, c := range allIPConfigs(tx, subscription, "") {
		if c.Subnet != "" {
			k := arm.Key(c.Subnet)
			by[k] = append(by[k], c.ID)
		}
	}
	return by
}

// memoized returns what compute returns, kept for the other renders of tx when tx is an
// arm.Memoizer (the render of the whole cloud for a Resource Graph query); key names what is
// computed, and from which scope.
func memoized[T any](tx arm.Tx, key string, compute func() T) T {
	if m, ok := tx.(arm.Memoizer); ok {
		return m.Memo(key, func() any { return compute() }).(T)
	}
	return compute()
}

// usersBySubnetMemo is usersBySubnet, memoized.
func usersBySubnetMemo(tx arm.Tx, subscription string) map[string][]string {
	return memoized(tx, "network.usersBySubnet/"+arm.Key(subscription), func() map[string][]string { return usersBySubnet(tx, subscription) })
}

// subnetsReferencing returns the subnets whose properties[key] references id (key is
// networkSecurityGroup, routeTable or natGateway).
func subnetsReferencing(tx arm.Tx, key, id string) []string {
	sub := arm.ParseID(id).Subscription
	if _, ok := tx.(arm.Memoizer); ok {
		by := memoized(tx, "network.subnetsReferencing/"+key+"/"+arm.Key(sub), func() map[string][]string {
			by := map[string][]string{}
			for _, s := range allSubnets(tx, sub) {
				if ref := refID(obj(s.Body["properties"]), key); ref != "" {
					by[arm.Key(ref)] = append(by[arm.Key(ref)], s.ID)
				}
			}
			return by
		})
		return by[arm.Key(id)]
	}
	var ids []string
	for _, s := range allSubnets(tx, arm.ParseID(id).Subscription) {
		if sameID(refID(obj(s.Body["properties"]), key), id) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// nicsReferencingNSG returns the NICs associated with an NSG.
func nicsReferencingNSG(tx arm.Tx, nsg string) []string {
	sub := arm.ParseID(nsg).Subscription
	if _, ok := tx.(arm.Memoizer); ok {
		by := memoized(tx, "network.nicsReferencingNSG/"+arm.Key(sub), func() map[string][]string {
			by := map[string][]string{}
			for _, n := range listAll(tx, sub, typeNIC) {
				if ref := refID(obj(n.Body["properties"]), "networkSecurityGroup"); ref != "" {
					by[arm.Key(ref)] = append(by[arm.Key(ref)], n.ID)
				}
			}
			return by
		})
		return by[arm.Key(nsg)]
	}
	var ids []string
	for _, n := range listAll(tx, arm.ParseID(nsg).Subscription, typeNIC) {
		if sameID(refID(obj(n.Body["properties"]), "networkSecurityGroup"), nsg) {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// publicIPUser returns what holds a public IP: an IP configuration (NIC or LB frontend)
// or a NAT gateway; "" when it is free. except skips a resource (the one being written).
func publicIPUser(tx arm.Tx, pip, except string) (ipConfigID, natGateway string) {
	sub := arm.ParseID(pip).Subscription
	if _, ok := tx.(arm.Memoizer); ok && except == "" {
		u := memoized(tx, "network.publicIPUsers/"+arm.Key(sub), func() map[string][2]string { return publicIPUsers(tx, sub) })[arm.Key(pip)]
		return u[0], u[1]
	}
	for _, c := range allIPConfigs(tx, sub, except) {
		if sameID(c.PublicIP, pip) {
			return c.ID, ""
		}
	}
	for _, g := range listAll(tx, sub, typeNatGateway) {
		if sameID(g.ID, except) {
			continue
		}
		for _, id := range refIDs(obj(g.Body["properties"]), "publicIpAddresses") {
			if sameID(id, pip) {
				return "", g.ID
			}
		}
	}
	return "", ""
}

// publicIPUsers returns, by the folded ID of each public IP address of the subscription in
// use, the IP configuration or the NAT gateway that holds it, as publicIPUser finds them.
func publicIPUsers(tx arm.Tx, subscription string) map[string][2]string {
	by := map[string][2]string{}
	for _, c := range allIPConfigs(tx, subscription, "") {
		if k := arm.Key(c.PublicIP); c.PublicIP != "" && by[k] == [2]string{} {
			by[k] = [2]string{c.ID, ""}
		}
	}
	for _, g := range listAll(tx, subscription, typeNatGateway) {
		for _, id := range refIDs(obj(g.Body["properties"]), "publicIpAddresses") {
			if k := arm.Key(id); id != "" && by[k] == [2]string{} {
				by[k] = [2]string{"", g.ID}
			}
		}
	}
	return by
}

// poolUsers returns the NIC IP configurations in a load balancer backend pool.
func poolUsers(tx arm.Tx, pool string) []string {
	sub := arm.ParseID(pool).Subscription
	if _, ok := tx.(arm.Memoizer); ok {
		by := memoized(tx, "network.poolUsers/"+arm.Key(sub), func() map[string][]string {
			by := map[string][]string{}
			for _, n := range listAll(tx, sub, typeNIC) {
				for _, c := range ipConfigsOf(n) {
					for _, p := range c.Pools {
						if p != "" {
							by[arm.Key(p)] = append(by[arm.Key(p)], c.ID)
						}
					}
				}
			}
			return by
		})
		return by[arm.Key(pool)]
	}
	var ids []string
	for _, n := range listAll(tx, arm.ParseID(pool).Subscription, typeNIC) {
		for _, c := range ipConfigsOf(n) {
			for _, p := range c.Pools {
				if sameID(p, pool) {
					ids = append(ids, c.ID)
				}
			}
		}
	}
	return ids
}
