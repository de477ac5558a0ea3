package network

import (
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// The sub-resource collections of a load balancer and their types.
var lbCollections = []struct{ key, typ string }{
	{"frontendIPConfigurations", typeLoadBalancer + "/frontendIPConfigurations"},
	{"backendAddressPools", typeLoadBalancer + "/backendAddressPools"},
	{"probes", typeLoadBalancer + "/probes"},
	{"loadBalancingRules", typeLoadBalancer + "/loadBalancingRules"},
	{"outboundRules", typeLoadBalancer + "/outboundRules"},
	{"inboundNatRules", typeLoadBalancer + "/inboundNatRules"},
}

// lbBackRefs are the read-only back-references Azure keeps on a load balancer's frontends,
// pools and probes; they are rebuilt from the rules on every write.
var lbBackRefs = []string{"loadBalancingRules", "outboundRules", "inboundNatRules", "backendIPConfigurations", "outboundRule"}

func loadBalancerType() arm.ResourceType {
	t := newType(typeLoadBalancer, nameRule(1, 80), false)
	t.Prepare = prepareLoadBalancer
	t.Render = renderLoadBalancer
	return t
}

// prepareLoadBalancer fills in the IDs of a load balancer's frontends, pools, probes and
// rules, checks their references (inside the load balancer and to public IPs and subnets),
// Azure's zone and SKU rules for frontends, and assigns private frontend addresses.
func prepareLoadBalancer(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	body := req.Body
	location := str(body["location"])
	p := jsonmap.Ensure(body, "properties")

	sku := canonical(str(obj(body["sku"])["name"]), "Basic", "Standard", "Gateway")
	if sku == "" {
		sku = "Standard"
	}
	tier := canonical(str(obj(body["sku"])["tier"]), "Regional", "Global")
	if tier == "" {
		tier = "Regional"
	}
	body["sku"] = map[string]any{"name": sku, "tier": tier}

	byKey := map[string]map[string]map[string]any{}
	for _, c := range lbCollections {
		defaultTo(p, c.key, []any{})
		objects(p, c.key)
		byKey[c.key] = subResources(p, c.key, id, c.key, c.typ)
		for _, s := range byKey[c.key] {
			for _, k := range lbBackRefs {
				delete(jsonmap.Ensure(s, "properties"), k)
			}
		}
	}

	if err := prepareFrontends(tx, req, sku, location); err != nil {
		return err
	}

	// lookup resolves a reference to a sub-resource of this load balancer.
	lookup := func(key, ref, owner string) (map[string]any, *arm.Error) {
		s := byKey[key][arm.Key(ref)]
		if s == nil {
			return nil, errInvalidReference(ref, owner)
		}
		return s, nil
	}
	// backRef records that rule (of kind, e.g. loadBalancingRules) uses sub-resource s.
	backRef := func(s map[string]any, kind, rule string) {
		sp := jsonmap.Ensure(s, "properties")
		sp[kind] = append(list(sp[kind]), ref(rule))
	}

	for _, rule := range objects(p, "loadBalancingRules") {
		rid, rp := str(rule["id"]), jsonmap.Ensure(rule, "properties")
		fe, err := lookup("frontendIPConfigurations", refID(rp, "frontendIPConfiguration"), rid)
		if err != nil {
			return err
		}
		backRef(fe, "loadBalancingRules", rid)
		pools := refIDs(rp, "backendAddressPools")
		if one := refID(rp, "backendAddressPool"); one != "" {
			pools = append(pools, one)
		}
		for _, poolID := range pools {
			pool, err := lookup("backendAddressPools", poolID, rid)
			if err != nil {
				return err
			}
			backRef(pool, "loadBalancingRules", rid)
		}
		if probeID := refID(rp, "probe"); probeID != "" {
			probe, err := lookup("probes", probeID, rid)
			if err != nil {
				return err
			}
			backRef(probe, "loadBalancingRules", rid)
		}
	}
	for _, rule := range objects(p, "outboundRules") {
		rid, rp := str(rule["id"]), jsonmap.Ensure(rule, "properties")
		for _, feID := range refIDs(rp, "frontendIPConfigurations") {
			fe, err := lookup("frontendIPConfigurations", feID, rid)
			if err != nil {
				return err
			}
			backRef(fe, "outboundRules", rid)
		}
		pool, err := lookup("backendAddressPools", refID(rp, "backendAddressPool"), rid)
		if err != nil {
			return err
		}
		backRef(pool, "outboundRules", rid)
	}
	for _, rule := range objects(p, "inboundNatRules") {
		rid, rp := str(rule["id"]), jsonmap.Ensure(rule, "properties")
		fe, err := lookup("frontendIPConfigurations", refID(rp, "frontendIPConfiguration"), rid)
		if err != nil {
			return err
		}
		backRef(fe, "inboundNatRules", rid)
	}
	keepGUID(p, req.Existing, id)
	return nil
}

// prepareFrontends checks the frontends: a frontend on a public IP has no zones, uses an
// address of the load balancer's SKU that nothing else holds; a frontend on a subnet takes
// zones of the region and gets a private address.
func prepareFrontends(tx arm.Tx, req *arm.PutRequest, sku, location string) *arm.Error {
	id := req.ID.String()
	current := map[string]string{}
	if req.Existing != nil {
		for _, c := range list(obj(req.Existing.Body["properties"])["frontendIPConfigurations"]) {
			current[arm.Key(str(obj(c)["id"]))] = str(obj(obj(c)["properties"])["privateIPAddress"])
		}
	}
	plan := ipPlan{}
	seenPIP := map[string]bool{}
	for _, fe := range objects(jsonmap.Ensure(req.Body, "properties"), "frontendIPConfigurations") {
		feID, fp := str(fe["id"]), jsonmap.Ensure(fe, "properties")
		zones := jsonmap.StringList(fe["zones"])
		switch pip, subnet := refID(fp, "publicIPAddress"), refID(fp, "subnet"); {
		case pip != "" && subnet != "":
			return errFrontendBoth(feID)
		case pip == "" && subnet == "":
			return errFrontendNeither(feID)
		case pip != "":
			if len(zones) > 0 {
				return errFrontendZoneWithPublicIP(feID, len(zones), pip)
			}
			r, err := checkPublicIPRef(tx, pip, feID, id, location)
			if err != nil {
				return err
			}
			if pipSku := str(obj(r.Body["sku"])["name"]); !strings.EqualFold(pipSku, sku) {
				return errSkuMismatch(sku, id, pipSku, r.ID)
			}
			if seenPIP[arm.Key(r.ID)] {
				return errPublicIPTwice(r.ID, id)
			}
			seenPIP[arm.Key(r.ID)] = true
			fp["publicIPAddress"] = ref(r.ID)
		case subnet != "":
			if err := checkZones(tx, zones, location, typeAndName(typeLoadBalancer, req.ID.Name)); err != nil {
				return err
			}
			s, err := subnetRef(tx, subnet, id, location)
			if err != nil {
				return err
			}
			fp["subnet"] = ref(s.ID)
			if err := assignPrivateIP(tx, id, feID, fp, s, current[arm.Key(feID)], plan); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderLoadBalancer shows the NIC IP configurations in each backend pool and the load
// balancer's etag on its sub-resources.
func renderLoadBalancer(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	for _, pool := range objects(p, "backendAddressPools") {
		setOrDelete(jsonmap.Ensure(pool, "properties"), "backendIPConfigurations", refs(poolUsers(tx, str(pool["id"]))))
	}
	keys := make([]string, len(lbCollections))
	for i, c := range lbCollections {
		keys[i] = c.key
	}
	withEtag(body, body["etag"], keys...)
	return body
}
