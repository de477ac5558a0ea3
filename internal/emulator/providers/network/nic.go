package network

import (
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

const typeNICIPConfig = typeNIC + "/ipConfigurations"

func nicType() arm.ResourceType {
	t := newType(typeNIC, nameRule(1, 80), false)
	t.Prepare = prepareNIC
	t.CheckDelete = checkDeleteNIC
	t.Render = renderNIC
	return t
}

// prepareNIC checks a NIC's references (subnet, public IP, backend pools, NSG) and assigns
// the private address of each IP configuration. properties.virtualMachine is read-only here:
// the compute provider sets it when a VM takes the NIC (tx.Put), so it is kept from the
// stored NIC.
func prepareNIC(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	location := str(req.Body["location"])
	p := jsonmap.Ensure(req.Body, "properties")

	var old map[string]any
	if req.Existing != nil {
		old = obj(req.Existing.Body["properties"])
	}
	for _, k := range []string{"virtualMachine", "macAddress", "privateEndpoint"} {
		delete(p, k)
		if v, ok := old[k]; ok {
			p[k] = v
		}
	}

	if nsg := refID(p, "networkSecurityGroup"); nsg != "" {
		r := getOfType(tx, nsg, typeNSG)
		if r == nil || !sameRegion(str(r.Body["location"]), location) {
			return errInvalidReference(nsg, id)
		}
		p["networkSecurityGroup"] = ref(r.ID)
	} else {
		delete(p, "networkSecurityGroup")
	}

	// The addresses the configurations had, to keep dynamic ones stable across updates.
	current := map[string]string{}
	for _, c := range list(old["ipConfigurations"]) {
		cp := obj(obj(c)["properties"])
		current[arm.Key(str(obj(c)["id"]))] = str(cp["privateIPAddress"])
	}

	cfgs := objects(p, "ipConfigurations")
	subResources(p, "ipConfigurations", id, "ipConfigurations", typeNICIPConfig)
	primary := false
	for _, c := range cfgs {
		if b, _ := obj(c["properties"])["primary"].(bool); b && !primary {
			primary = true
		} else {
			jsonmap.Ensure(c, "properties")["primary"] = false
		}
	}
	plan := ipPlan{}
	seenPIP := map[string]bool{}
	for i, c := range cfgs {
		cfg := str(c["id"])
		cp := jsonmap.Ensure(c, "properties")
		if i == 0 && !primary {
			cp["primary"] = true
		}
		subnet, err := subnetRef(tx, refID(cp, "subnet"), id, location)
		if err != nil {
			return err
		}
		cp["subnet"] = ref(subnet.ID)
		if err := assignPrivateIP(tx, id, cfg, cp, subnet, current[arm.Key(cfg)], plan); err != nil {
			return err
		}
		if pip := refID(cp, "publicIPAddress"); pip != "" {
			r, err := checkPublicIPRef(tx, pip, cfg, id, location)
			if err != nil {
				return err
			}
			if seenPIP[arm.Key(r.ID)] {
				return errPublicIPTwice(r.ID, id)
			}
			seenPIP[arm.Key(r.ID)] = true
			cp["publicIPAddress"] = ref(r.ID)
		} else {
			delete(cp, "publicIPAddress")
		}
		var pools []string
		for _, pool := range refIDs(cp, "loadBalancerBackendAddressPools") {
			found := backendPool(tx, pool)
			if found == "" {
				return errInvalidReference(pool, id)
			}
			pools = append(pools, found)
		}
		setOrDelete(cp, "loadBalancerBackendAddressPools", refs(pools))
	}

	defaultTo(p, "enableAcceleratedNetworking", false)
	defaultTo(p, "enableIPForwarding", false)
	defaultTo(p, "dnsSettings", map[string]any{"dnsServers": []any{}, "appliedDnsServers": []any{}})
	keepGUID(p, req.Existing, id)
	return nil
}

// backendPool returns the ID of a load balancer backend pool as stored, or "" when the load
// balancer or the pool does not exist.
func backendPool(tx arm.Tx, pool string) string {
	id := arm.ParseID(pool)
	if len(id.Types) != 2 || !strings.EqualFold(id.Types[1], "backendAddressPools") {
		return ""
	}
	lb := getOfType(tx, id.Parent(), typeLoadBalancer)
	if lb == nil {
		return ""
	}
	for _, v := range list(obj(lb.Body["properties"])["backendAddressPools"]) {
		if sameID(str(obj(v)["id"]), pool) {
			return str(obj(v)["id"])
		}
	}
	return ""
}

// checkDeleteNIC refuses deleting a NIC a virtual machine uses, or a private endpoint's
// (it goes with its endpoint).
func checkDeleteNIC(_ arm.Tx, r *arm.Resource) *arm.Error {
	if vm := refID(obj(r.Body["properties"]), "virtualMachine"); vm != "" {
		return errNicInUse(r.ID, vm)
	}
	if pe := refID(obj(r.Body["properties"]), "privateEndpoint"); pe != "" {
		return errNicInUse(r.ID, pe)
	}
	return nil
}

// renderNIC shows a NIC with its etag on its IP configurations.
func renderNIC(_ arm.Tx, r *arm.Resource) map[string]any {
	body, _ := renderBase(r)
	withEtag(body, body["etag"], "ipConfigurations")
	return body
}
