package network

import (
	"net/netip"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// subnetReadOnly are the subnet properties Azure computes; a client echoing them back
// (GET, modify, PUT) does not set them.
var subnetReadOnly = []string{
	"ipConfigurations", "ipConfigurationProfiles", "privateEndpoints", "resourceNavigationLinks",
	"serviceAssociationLinks", "purpose", "provisioningState",
}

func vnetType() arm.ResourceType {
	t := newType(typeVNet, nameRule(2, 64), false)
	t.Prepare = prepareVNet
	t.CheckDelete = checkDeleteVNet
	t.Render = renderVNet
	return t
}

func subnetType() arm.ResourceType {
	t := newType(typeSubnet, nameRule(1, 80), true)
	t.Prepare = prepareSubnet
	t.CheckDelete = checkDeleteSubnet
	t.Render = renderSubnet
	return t
}

// plannedSubnet is one inline subnet of a VNet PUT, checked and ready to store.
type plannedSubnet struct {
	id, name string
	body     map[string]any
	prefixes []netip.Prefix
}

// prepareVNet checks a VNet's address space and inline subnets, then makes the subnets of
// the request the VNet's subnets: new ones are created, changed ones updated, and the ones
// the request leaves out deleted (refused while in use, as Azure does).
func prepareVNet(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	p := jsonmap.Ensure(req.Body, "properties")
	space, err := parsePrefixes(jsonmap.StringList(obj(p["addressSpace"])["addressPrefixes"]), id)
	if err != nil {
		return err
	}
	location := str(req.Body["location"])

	var planned []plannedSubnet
	for _, v := range list(p["subnets"]) {
		item := obj(v)
		if item == nil {
			continue
		}
		name := str(item["name"])
		if err := checkChildName(name, nameRule(1, 80)); err != nil {
			return err
		}
		s := plannedSubnet{id: req.ID.Child("subnets", name).String(), name: name, body: childBody(item, subnetReadOnly...)}
		planned = slicesDeleteName(planned, name)
		if s.prefixes, err = checkSubnet(tx, jsonmap.Ensure(s.body, "properties"), s.id, name, req.ID.Name, location, space); err != nil {
			return err
		}
		for _, other := range planned {
			if overlapsAny(s.prefixes, other.prefixes) {
				return errSubnetOverlap(name, req.ID.Name)
			}
		}
		planned = append(planned, s)
	}

	// The subnets the request leaves out must be free before anything changes.
	var dropped []*arm.Resource
	for _, s := range children(tx, id, typeSubnet) {
		if slicesIndexName(planned, s.Name()) >= 0 {
			continue
		}
		if users := subnetUsers(tx, s.ID); len(users) > 0 {
			return errSubnetInUse(s.Name(), users[0])
		}
		dropped = append(dropped, s)
	}
	for _, s := range dropped {
		tx.Delete(s.ID)
	}
	for _, s := range planned {
		tx.Put(&arm.Resource{ID: s.id, Type: typeSubnet, Body: s.body})
	}

	delete(p, "subnets")
	keepGUID(p, req.Existing, id)
	defaultTo(p, "enableDdosProtection", false)
	if p["virtualNetworkPeerings"] == nil {
		p["virtualNetworkPeerings"] = []any{}
	}
	return nil
}

// prepareSubnet checks a subnet written through its own API against its VNet and siblings.
func prepareSubnet(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	vnet := tx.Get(req.ID.Parent())
	if vnet == nil {
		return errInvalidReference(req.ID.Parent(), id)
	}
	p := jsonmap.Ensure(req.Body, "properties")
	for _, k := range subnetReadOnly {
		delete(p, k)
	}
	vp := obj(vnet.Body["properties"])
	space, _ := parsePrefixes(jsonmap.StringList(obj(vp["addressSpace"])["addressPrefixes"]), vnet.ID)
	prefixes, err := checkSubnet(tx, p, id, req.ID.Name, vnet.Name(), str(vnet.Body["location"]), space)
	if err != nil {
		return err
	}
	for _, s := range children(tx, vnet.ID, typeSubnet) {
		if sameID(s.ID, id) {
			continue
		}
		if overlapsAny(prefixes, storedPrefixes(s)) {
			return errSubnetOverlap(req.ID.Name, vnet.Name())
		}
	}
	return nil
}

// checkSubnet checks one subnet's properties (inline or standalone): its prefixes are CIDR,
// inside the VNet's space, and the NSG, route table and NAT gateway it names exist in the
// VNet's region. It fills Azure's defaults in p and returns the prefixes.
func checkSubnet(tx arm.Tx, p map[string]any, id, name, vnetName, location string, space []netip.Prefix) ([]netip.Prefix, *arm.Error) {
	raw := jsonmap.StringList(p["addressPrefixes"])
	if s := str(p["addressPrefix"]); s != "" {
		raw = append([]string{s}, raw...)
	}
	if len(raw) == 0 {
		return nil, badRequest("NoAddressPrefixOrPoolProvided", "Subnet '%s' does not have address prefix or pool provided", name)
	}
	prefixes, err := parsePrefixes(raw, id)
	if err != nil {
		return nil, err
	}
	for _, pr := range prefixes {
		if !containedInAny(space, pr) {
			return nil, errSubnetOutside(name, vnetName)
		}
	}
	for _, link := range []struct{ key, typ string }{
		{"networkSecurityGroup", typeNSG}, {"routeTable", typeRouteTable}, {"natGateway", typeNatGateway},
	} {
		target := refID(p, link.key)
		if target == "" {
			delete(p, link.key)
			continue
		}
		r := getOfType(tx, target, link.typ)
		if r == nil || !sameRegion(str(r.Body["location"]), location) {
			return nil, errInvalidReference(target, id)
		}
		p[link.key] = ref(r.ID)
	}
	defaultTo(p, "privateEndpointNetworkPolicies", "Disabled")
	defaultTo(p, "privateLinkServiceNetworkPolicies", "Enabled")
	return prefixes, nil
}

// checkDeleteVNet refuses deleting a VNet whose subnets are in use (its subnets go with it).
func checkDeleteVNet(tx arm.Tx, r *arm.Resource) *arm.Error {
	for _, s := range children(tx, r.ID, typeSubnet) {
		if err := checkDeleteSubnet(tx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkDeleteSubnet refuses deleting a subnet that NIC or load balancer IP configurations use.
func checkDeleteSubnet(tx arm.Tx, r *arm.Resource) *arm.Error {
	if users := subnetUsers(tx, r.ID); len(users) > 0 {
		return errSubnetInUse(r.Name(), users[0])
	}
	return nil
}

// renderVNet shows a VNet with its subnets inline.
func renderVNet(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	subnets := []any{}
	kids := children(tx, r.ID, typeSubnet)
	var users map[string][]string
	if len(kids) > 0 {
		// One pass over the NICs and load balancers for all the subnets.
		users = usersBySubnetMemo(tx, arm.ParseID(r.ID).Subscription)
	}
	for _, s := range kids {
		subnets = append(subnets, renderChild(subnetWithUsers(s, users[arm.Key(s.ID)])))
	}
	p["subnets"] = subnets
	return body
}

// renderSubnet shows a subnet with the IP configurations that use it.
func renderSubnet(tx arm.Tx, r *arm.Resource) map[string]any {
	return subnetWithUsers(r, subnetUsers(tx, r.ID))
}

// subnetWithUsers renders a subnet whose users (IP configuration IDs) are known.
func subnetWithUsers(r *arm.Resource, users []string) map[string]any {
	body, p := renderBase(r)
	setOrDelete(p, "ipConfigurations", refs(users))
	return body
}

// storedPrefixes returns the prefixes of a stored subnet.
func storedPrefixes(s *arm.Resource) []netip.Prefix {
	p := obj(s.Body["properties"])
	raw := jsonmap.StringList(p["addressPrefixes"])
	if a := str(p["addressPrefix"]); a != "" {
		raw = append([]string{a}, raw...)
	}
	prefixes, _ := parsePrefixes(raw, s.ID)
	return prefixes
}

// parsePrefixes parses CIDR prefixes of the resource owner with Azure's errors.
func parsePrefixes(raw []string, owner string) ([]netip.Prefix, *arm.Error) {
	out := make([]netip.Prefix, 0, len(raw))
	for _, s := range raw {
		p, problem := parseCIDR(s)
		switch problem {
		case prefixMalformed:
			return nil, errAddressPrefixFormat(s, owner)
		case prefixHostBits:
			return nil, errCIDRNotation(s, owner, p.String())
		}
		out = append(out, p)
	}
	return out, nil
}

// slicesIndexName finds a planned subnet by name (case-insensitively).
func slicesIndexName(planned []plannedSubnet, name string) int {
	for i, s := range planned {
		if strings.EqualFold(s.name, name) {
			return i
		}
	}
	return -1
}

// slicesDeleteName drops a planned subnet of that name: a later entry of a request wins.
func slicesDeleteName(planned []plannedSubnet, name string) []plannedSubnet {
	if i := slicesIndexName(planned, name); i >= 0 {
		return append(planned[:i], planned[i+1:]...)
	}
	return planned
}
