package network

import (
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

func natGatewayType() arm.ResourceType {
	t := newType(typeNatGateway, nameRule(1, 80), false)
	t.Prepare = prepareNatGateway
	t.CheckDelete = checkDeleteNatGateway
	t.Render = renderNatGateway
	return t
}

// prepareNatGateway checks a NAT gateway: Standard SKU by default, at most one zone of the
// region (fixed at creation), and public IP addresses that exist in its region and that no
// NIC, load balancer or other NAT gateway holds.
func prepareNatGateway(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	body := req.Body
	location := str(body["location"])
	p := jsonmap.Ensure(body, "properties")

	sku := canonical(str(obj(body["sku"])["name"]), "Standard", "StandardV2")
	if sku == "" {
		sku = "Standard"
	}
	body["sku"] = map[string]any{"name": sku}

	zones := jsonmap.StringList(body["zones"])
	if len(zones) > 1 && sku == "Standard" {
		return errMultipleZones(id, len(zones))
	}
	if err := checkZones(tx, zones, location, typeAndName(typeNatGateway, req.ID.Name)); err != nil {
		return err
	}
	if err := checkZonesUnchanged(req.Existing, zones, id); err != nil {
		return err
	}

	var pips []string
	seen := map[string]bool{}
	for _, pip := range refIDs(p, "publicIpAddresses") {
		r, err := checkPublicIPRef(tx, pip, id, id, location)
		if err != nil {
			return err
		}
		if !seen[arm.Key(r.ID)] {
			seen[arm.Key(r.ID)] = true
			pips = append(pips, r.ID)
		}
	}
	setOrDelete(p, "publicIpAddresses", refs(pips))
	delete(p, "subnets")
	defaultTo(p, "idleTimeoutInMinutes", 4)
	keepGUID(p, req.Existing, id)
	return nil
}

// checkDeleteNatGateway refuses deleting a NAT gateway still configured on subnets.
func checkDeleteNatGateway(tx arm.Tx, r *arm.Resource) *arm.Error {
	if subnets := subnetsReferencing(tx, "natGateway", r.ID); len(subnets) > 0 {
		return errNatGatewayInUse(r.ID, len(subnets))
	}
	return nil
}

// renderNatGateway shows the subnets that use the NAT gateway.
func renderNatGateway(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	setOrDelete(p, "subnets", refs(subnetsReferencing(tx, "natGateway", r.ID)))
	return body
}
