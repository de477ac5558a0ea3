package network

import (
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

func routeTableType() arm.ResourceType {
	t := newType(typeRouteTable, nameRule(1, 80), false)
	t.Prepare = prepareRouteTable
	t.CheckDelete = checkDeleteRouteTable
	t.Render = renderRouteTable
	return t
}

func routeType() arm.ResourceType {
	t := newType(typeRoute, nameRule(1, 80), true)
	t.Prepare = prepareRoute
	return t
}

// prepareRouteTable checks a route table's inline routes and makes them its routes child
// resources (the request's routes replace the table's).
func prepareRouteTable(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	p := jsonmap.Ensure(req.Body, "properties")
	type planned struct {
		id   string
		body map[string]any
	}
	var routes []planned
	names := map[string]int{}
	for _, item := range objects(p, "routes") {
		name := str(item["name"])
		if err := checkChildName(name, nameRule(1, 80)); err != nil {
			return err
		}
		r := planned{id: req.ID.Child("routes", name).String(), body: childBody(item)}
		if err := checkRoute(jsonmap.Ensure(r.body, "properties"), r.id); err != nil {
			return err
		}
		if i, ok := names[strings.ToLower(name)]; ok {
			routes[i] = r // a later entry of the same name wins
			continue
		}
		names[strings.ToLower(name)] = len(routes)
		routes = append(routes, r)
	}
	for _, r := range children(tx, id, typeRoute) {
		if _, ok := names[strings.ToLower(r.Name())]; !ok {
			tx.Delete(r.ID)
		}
	}
	for _, r := range routes {
		tx.Put(&arm.Resource{ID: r.id, Type: typeRoute, Body: r.body})
	}
	delete(p, "routes")
	delete(p, "subnets")
	defaultTo(p, "disableBgpRoutePropagation", false)
	keepGUID(p, req.Existing, id)
	return nil
}

// prepareRoute checks a route written through its own API.
func prepareRoute(_ arm.Tx, req *arm.PutRequest) *arm.Error {
	p := jsonmap.Ensure(req.Body, "properties")
	delete(p, "provisioningState")
	return checkRoute(p, req.ID.String())
}

// checkRoute checks a route's address prefix (CIDR, or a service tag such as AzureCloud)
// and normalises its next hop type.
func checkRoute(p map[string]any, id string) *arm.Error {
	prefix := str(p["addressPrefix"])
	if prefix == "" || strings.ContainsAny(prefix, "/:") || (prefix[0] >= '0' && prefix[0] <= '9') {
		if _, err := parsePrefixes([]string{prefix}, id); err != nil {
			return err
		}
	}
	if hop := canonical(str(p["nextHopType"]), "VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"); hop != "" {
		p["nextHopType"] = hop
	}
	return nil
}

// checkDeleteRouteTable refuses deleting a route table associated with subnets.
func checkDeleteRouteTable(tx arm.Tx, r *arm.Resource) *arm.Error {
	if len(subnetsReferencing(tx, "routeTable", r.ID)) > 0 {
		return errRouteTableInUse(r.Name())
	}
	return nil
}

// renderRouteTable shows a route table with its routes inline and its subnets.
func renderRouteTable(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	routes := []any{}
	for _, c := range children(tx, r.ID, typeRoute) {
		routes = append(routes, renderChild(c.Body))
	}
	p["routes"] = routes
	setOrDelete(p, "subnets", refs(subnetsReferencing(tx, "routeTable", r.ID)))
	return body
}
