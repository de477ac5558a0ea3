package resourcegraph

import (
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// inTable reports whether a resource is in the Resources table: top-level resources of a
// provider (virtual networks, NICs, VMs, disks, storage accounts, clusters, DNS zones...), not
// resource groups (Resource Graph keeps them in ResourceContainers) nor child resources
// (subnets, agent pools, blob services and containers, DNS record sets, security rules,
// routes).
func inTable(id arm.ID) bool {
	return id.Namespace != "" && len(id.Types) == 1
}

// rowOf turns a resource, as GET renders it, into a Resources row of the subscription's
// tenant.
func rowOf(r *arm.Resource, tenant string) row {
	id := arm.ParseID(r.ID)
	b := r.Body
	props := jsonmap.Obj(b, "properties")
	if props == nil {
		props = map[string]any{}
	}
	tags := jsonmap.Obj(b, "tags")
	if tags == nil {
		tags = map[string]any{}
	}
	typ := strings.ToLower(r.Type)
	if typ == "microsoft.compute/virtualmachines" {
		addPowerState(props)
	}
	return row{
		"id":               r.ID,
		"name":             id.Name,
		"type":             typ,
		"tenantId":         tenant,
		"kind":             jsonmap.Str(b, "kind"),
		"location":         jsonmap.Str(b, "location"),
		"resourceGroup":    strings.ToLower(id.ResourceGroup),
		"subscriptionId":   id.Subscription,
		"managedBy":        jsonmap.Str(b, "managedBy"),
		"sku":              b["sku"],
		"plan":             b["plan"],
		"properties":       props,
		"tags":             tags,
		"identity":         b["identity"],
		"zones":            b["zones"],
		"extendedLocation": b["extendedLocation"],
	}
}

// addPowerState adds properties.extended.instanceView.powerState to a VM's properties, from
// the PowerState/ status of its instance view, as Resource Graph does.
func addPowerState(props map[string]any) {
	for _, s := range jsonmap.List(jsonmap.Obj(props, "instanceView"), "statuses") {
		st, _ := s.(map[string]any)
		if code := jsonmap.Str(st, "code"); strings.HasPrefix(code, "PowerState/") {
			ext := jsonmap.Ensure(props, "extended")
			iv := jsonmap.Ensure(ext, "instanceView")
			iv["powerState"] = map[string]any{"code": code, "displayStatus": jsonmap.Str(st, "displayStatus")}
			return
		}
	}
}
