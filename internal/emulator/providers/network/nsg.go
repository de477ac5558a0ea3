package network

import (
	"math"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

func nsgType() arm.ResourceType {
	t := newType(typeNSG, nameRule(1, 80), false)
	t.Prepare = prepareNSG
	t.CheckDelete = checkDeleteNSG
	t.Render = renderNSG
	return t
}

func securityRuleType() arm.ResourceType {
	t := newType(typeSecurityRule, nameRule(1, 80), true)
	t.Prepare = prepareSecurityRule
	return t
}

// defaultRule is one of the rules Azure puts in every NSG, below all custom rules.
type defaultRule struct {
	name, description, source, destination, access, direction string
	priority                                                  int
}

// defaultRules are Azure's default security rules (virtual-network/network-security-groups-overview#default-security-rules).
var defaultRules = []defaultRule{
	{"AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork", "VirtualNetwork", "Allow", "Inbound", 65000},
	{"AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", "AzureLoadBalancer", "*", "Allow", "Inbound", 65001},
	{"DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", "Inbound", 65500},
	{"AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "VirtualNetwork", "VirtualNetwork", "Allow", "Outbound", 65000},
	{"AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*", "Internet", "Allow", "Outbound", 65001},
	{"DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", "Outbound", 65500},
}

// defaultRuleBodies returns the default security rules of the NSG nsg as Azure shows them.
func defaultRuleBodies(nsg string) []any {
	out := make([]any, 0, len(defaultRules))
	for _, d := range defaultRules {
		out = append(out, map[string]any{
			"id":   subID(nsg, "defaultSecurityRules", d.name),
			"name": d.name,
			"type": typeDefaultRule,
			"properties": map[string]any{
				"description":                d.description,
				"protocol":                   "*",
				"sourcePortRange":            "*",
				"destinationPortRange":       "*",
				"sourceAddressPrefix":        d.source,
				"destinationAddressPrefix":   d.destination,
				"access":                     d.access,
				"priority":                   d.priority,
				"direction":                  d.direction,
				"sourcePortRanges":           []any{},
				"destinationPortRanges":      []any{},
				"sourceAddressPrefixes":      []any{},
				"destinationAddressPrefixes": []any{},
				"provisioningState":          "Succeeded",
			},
		})
	}
	return out
}

// plannedRule is one inline security rule of an NSG PUT, checked and ready to store.
type plannedRule struct {
	id, name string
	body     map[string]any
}

// prepareNSG checks an NSG's inline rules and makes them its securityRules child resources
// (the request's rules replace the NSG's), and sets Azure's default rules.
func prepareNSG(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	p := jsonmap.Ensure(req.Body, "properties")
	var planned []plannedRule
	for _, v := range list(p["securityRules"]) {
		item := obj(v)
		if item == nil {
			continue
		}
		name := str(item["name"])
		if err := checkChildName(name, nameRule(1, 80)); err != nil {
			return err
		}
		r := plannedRule{id: req.ID.Child("securityRules", name).String(), name: name, body: childBody(item)}
		if err := checkRule(jsonmap.Ensure(r.body, "properties"), r.id); err != nil {
			return err
		}
		kept := planned[:0]
		for _, other := range planned {
			if strings.EqualFold(other.name, name) {
				continue // a later entry of the same name wins
			}
			if ruleClash(jsonmap.Ensure(other.body, "properties"), jsonmap.Ensure(r.body, "properties")) {
				return errRuleConflict(other.name, name)
			}
			kept = append(kept, other)
		}
		planned = append(kept, r)
	}

	for _, r := range children(tx, id, typeSecurityRule) {
		if !hasRule(planned, r.Name()) {
			tx.Delete(r.ID)
		}
	}
	for _, r := range planned {
		tx.Put(&arm.Resource{ID: r.id, Type: typeSecurityRule, Body: r.body})
	}

	delete(p, "securityRules")
	delete(p, "subnets")
	delete(p, "networkInterfaces")
	p["defaultSecurityRules"] = defaultRuleBodies(id)
	keepGUID(p, req.Existing, id)
	return nil
}

// prepareSecurityRule checks a rule written through its own API against its siblings.
func prepareSecurityRule(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	p := jsonmap.Ensure(req.Body, "properties")
	delete(p, "provisioningState")
	if err := checkRule(p, id); err != nil {
		return err
	}
	for _, other := range children(tx, req.ID.Parent(), typeSecurityRule) {
		if !sameID(other.ID, id) && ruleClash(obj(other.Body["properties"]), p) {
			return errRuleConflict(other.Name(), req.ID.Name)
		}
	}
	return nil
}

// checkRule checks and normalises the properties of a custom security rule: priority
// 100-4096, protocol, access and direction (case-insensitive, stored with Azure's casing),
// and source and destination addresses and ports.
func checkRule(p map[string]any, id string) *arm.Error {
	prio, ok := num(p["priority"])
	if !ok || prio != math.Trunc(prio) || prio < 100 || prio > 4096 {
		return errRulePriority(p["priority"])
	}
	p["priority"] = int(prio)
	proto := canonical(str(p["protocol"]), "Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
	if proto == "" {
		return errRuleProtocol(str(p["protocol"]))
	}
	p["protocol"] = proto
	access := canonical(str(p["access"]), "Allow", "Deny")
	if access == "" {
		return errRuleAccess(str(p["access"]))
	}
	p["access"] = access
	direction := canonical(str(p["direction"]), "Inbound", "Outbound")
	if direction == "" {
		return errRuleDirection(str(p["direction"]))
	}
	p["direction"] = direction
	for _, need := range []struct{ single, plural, groups, what string }{
		{"sourceAddressPrefix", "sourceAddressPrefixes", "sourceApplicationSecurityGroups",
			"SourceAddressPrefixes, SourceAddressPrefix, or SourceApplicationSecurityGroups"},
		{"destinationAddressPrefix", "destinationAddressPrefixes", "destinationApplicationSecurityGroups",
			"DestinationAddressPrefixes, DestinationAddressPrefix, or DestinationApplicationSecurityGroups"},
		{"sourcePortRange", "sourcePortRanges", "", "SourcePortRanges or SourcePortRange"},
		{"destinationPortRange", "destinationPortRanges", "", "DestinationPortRanges or DestinationPortRange"},
	} {
		if str(p[need.single]) == "" && len(list(p[need.plural])) == 0 && (need.groups == "" || len(list(p[need.groups])) == 0) {
			return errRuleParametersMissing(id, need.what)
		}
	}
	return nil
}

// ruleClash reports whether two rules have the same priority and direction.
func ruleClash(a, b map[string]any) bool {
	pa, _ := num(a["priority"])
	pb, _ := num(b["priority"])
	return pa == pb && strings.EqualFold(str(a["direction"]), str(b["direction"]))
}

func hasRule(planned []plannedRule, name string) bool {
	for _, r := range planned {
		if strings.EqualFold(r.name, name) {
			return true
		}
	}
	return false
}

// checkDeleteNSG refuses deleting an NSG associated with subnets or NICs.
func checkDeleteNSG(tx arm.Tx, r *arm.Resource) *arm.Error {
	users := append(subnetsReferencing(tx, "networkSecurityGroup", r.ID), nicsReferencingNSG(tx, r.ID)...)
	if len(users) > 0 {
		return errNSGInUse(r.ID, users)
	}
	return nil
}

// renderNSG shows an NSG with its rules inline and the subnets and NICs associated with it.
func renderNSG(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	rules := []any{}
	for _, c := range children(tx, r.ID, typeSecurityRule) {
		rules = append(rules, renderChild(c.Body))
	}
	p["securityRules"] = rules
	withEtag(body, body["etag"], "defaultSecurityRules")
	setOrDelete(p, "subnets", refs(subnetsReferencing(tx, "networkSecurityGroup", r.ID)))
	setOrDelete(p, "networkInterfaces", refs(nicsReferencingNSG(tx, r.ID)))
	return body
}

// defaultRuleRoutes serve DefaultSecurityRulesClient: the list and one rule.
func defaultRuleRoutes() []arm.Route {
	const base = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}/defaultSecurityRules"
	return []arm.Route{
		{Method: http.MethodGet, Pattern: base, Handle: func(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			nsg, err := routeNSG(tx, req.Params)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"value": defaultRulesOf(nsg)}, nil
		}},
		{Method: http.MethodGet, Pattern: base + "/{defaultSecurityRuleName}", Handle: func(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			nsg, err := routeNSG(tx, req.Params)
			if err != nil {
				return 0, nil, err
			}
			name := req.Params["defaultSecurityRuleName"]
			for _, v := range defaultRulesOf(nsg) {
				if strings.EqualFold(str(obj(v)["name"]), name) {
					return http.StatusOK, v, nil
				}
			}
			return 0, nil, errNotFound(typeDefaultRule, nsg.Name()+"/"+name, req.Params["resourceGroupName"])
		}},
	}
}

// routeNSG finds the NSG a default-rules route names.
func routeNSG(tx arm.Tx, params map[string]string) (*arm.Resource, *arm.Error) {
	rg := arm.ID{Subscription: params["subscriptionId"], ResourceGroup: params["resourceGroupName"]}
	if tx.Get(rg.ResourceGroupID()) == nil {
		return nil, errResourceGroupNotFound(params["resourceGroupName"])
	}
	rg.Namespace, rg.Types, rg.Names = namespace, []string{"networkSecurityGroups"}, []string{params["networkSecurityGroupName"]}
	nsg := tx.Get(rg.String())
	if nsg == nil {
		return nil, errNotFound(typeNSG, params["networkSecurityGroupName"], params["resourceGroupName"])
	}
	return nsg, nil
}

// defaultRulesOf returns an NSG's default rules with its etag.
func defaultRulesOf(nsg *arm.Resource) []any {
	rules, _ := jsonmap.DeepCopy(obj(nsg.Body["properties"])["defaultSecurityRules"]).([]any)
	if rules == nil {
		rules = defaultRuleBodies(nsg.ID)
	}
	for _, v := range rules {
		if etag := nsg.Body["etag"]; etag != nil {
			obj(v)["etag"] = etag
		}
	}
	return rules
}
