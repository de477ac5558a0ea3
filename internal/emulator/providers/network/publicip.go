package network

import (
	"net/netip"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

func publicIPType() arm.ResourceType {
	t := newType(typePublicIP, nameRule(1, 80), false)
	t.Prepare = preparePublicIP
	t.CheckDelete = checkDeletePublicIP
	t.Render = renderPublicIP
	return t
}

// preparePublicIP applies the SKU rules (Standard is Static; zones only on Standard, in a
// region that offers them, fixed at creation) and assigns the address: Static addresses get
// one at once, from PublicIPv4Range (IPv6: 2603:1030::/96), derived from the emulator's seed and
// kept for the resource's life.
func preparePublicIP(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	body := req.Body
	p := jsonmap.Ensure(body, "properties")

	sku := canonical(str(obj(body["sku"])["name"]), "Basic", "Standard", "StandardV2")
	if sku == "" {
		sku = "Standard"
	}
	tier := canonical(str(obj(body["sku"])["tier"]), "Regional", "Global")
	if tier == "" {
		tier = "Regional"
	}
	body["sku"] = map[string]any{"name": sku, "tier": tier}

	version := canonical(str(p["publicIPAddressVersion"]), "IPv4", "IPv6")
	if version == "" {
		version = "IPv4"
	}
	p["publicIPAddressVersion"] = version
	method := canonical(str(p["publicIPAllocationMethod"]), "Static", "Dynamic")
	if method == "" {
		method = "Dynamic"
		if sku != "Basic" {
			method = "Static"
		}
	}
	if sku != "Basic" && method != "Static" {
		return errStandardMustBeStatic(id)
	}
	p["publicIPAllocationMethod"] = method

	zones := jsonmap.StringList(body["zones"])
	if len(zones) > 0 && sku == "Basic" {
		return errZonesInBasicSku(id)
	}
	if err := checkZones(tx, zones, str(body["location"]), typeAndName(typePublicIP, req.ID.Name)); err != nil {
		return err
	}
	if err := checkZonesUnchanged(req.Existing, zones, id); err != nil {
		return err
	}

	// Read-only: what the address is attached to is computed; the address is Azure's.
	delete(p, "ipConfiguration")
	delete(p, "natGateway")
	delete(p, "ipAddress")
	var current string
	if req.Existing != nil {
		current = str(obj(req.Existing.Body["properties"])["ipAddress"])
	}
	if current != "" {
		p["ipAddress"] = current
	} else if method == "Static" {
		taken := map[netip.Addr]bool{}
		for _, r := range listAll(tx, req.ID.Subscription, typePublicIP) {
			if a, err := netip.ParseAddr(str(obj(r.Body["properties"])["ipAddress"])); err == nil && !sameID(r.ID, id) {
				taken[a] = true
			}
		}
		addr := publicAddress(tx.Seed(), id, version == "IPv6", func(a netip.Addr) bool { return taken[a] })
		p["ipAddress"] = addr.String()
	}

	defaultTo(p, "idleTimeoutInMinutes", 4)
	if dns := obj(p["dnsSettings"]); dns != nil && str(dns["domainNameLabel"]) != "" {
		region := str(body["location"])
		if info, ok := tx.Location(region); ok {
			region = info.Name
		}
		dns["fqdn"] = str(dns["domainNameLabel"]) + "." + region + ".cloudapp.azure.com"
	}
	keepGUID(p, req.Existing, id)
	return nil
}

// checkDeletePublicIP refuses deleting an address attached to a NIC, a load balancer
// frontend or a NAT gateway.
func checkDeletePublicIP(tx arm.Tx, r *arm.Resource) *arm.Error {
	ipConfig, natGateway := publicIPUser(tx, r.ID, "")
	if ipConfig != "" {
		return errPublicIPCannotBeDeleted(r.ID, ipConfig)
	}
	if natGateway != "" {
		return errPublicIPCannotBeDeleted(r.ID, natGateway)
	}
	return nil
}

// renderPublicIP shows what the address is attached to.
func renderPublicIP(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	ipConfig, natGateway := publicIPUser(tx, r.ID, "")
	if ipConfig != "" {
		p["ipConfiguration"] = ref(ipConfig)
	}
	if natGateway != "" {
		p["natGateway"] = ref(natGateway)
	}
	return body
}

// checkPublicIPRef checks a reference from the IP configuration cfg of owner (a NIC or
// load balancer, in location) to a public IP address: it must exist in the same region and
// be free, or held by owner itself. It returns the address.
func checkPublicIPRef(tx arm.Tx, pip, cfg, owner, location string) (*arm.Resource, *arm.Error) {
	r := getOfType(tx, pip, typePublicIP)
	if r == nil || !sameRegion(str(r.Body["location"]), location) {
		return nil, errInvalidReference(pip, owner)
	}
	if ipConfig, natGateway := publicIPUser(tx, r.ID, owner); ipConfig != "" || natGateway != "" {
		return nil, errPublicIPInUse(cfg, r.ID, ipConfig+natGateway)
	}
	return r, nil
}
