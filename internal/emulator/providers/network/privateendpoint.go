package network

import (
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// Private endpoints (Microsoft.Network/privateEndpoints): a private address in a subnet that
// leads to a resource (a storage account's blob service...). As on Azure, the endpoint gets a
// network interface of its own, {endpoint}.nic.{guid}, whose IP configuration holds the
// address, so the subnet counts it as used.
const (
	typePrivateEndpoint = namespace + "/privateEndpoints"
	typePLSConnection   = typePrivateEndpoint + "/privateLinkServiceConnections"
	// TypeStorageAccount is the target type whose group IDs the emulator knows.
	typeStorageAccount = "Microsoft.Storage/storageAccounts"
)

// storageGroupIDs are the sub-resources of a storage account a private endpoint may reach.
var storageGroupIDs = []string{"blob", "blob_secondary", "file", "file_secondary", "queue", "queue_secondary",
	"table", "table_secondary", "web", "web_secondary", "dfs", "dfs_secondary"}

// privateEndpointReadOnly are the properties Azure computes.
var privateEndpointReadOnly = []string{"networkInterfaces", "customDnsConfigs", "resourceGuid", "provisioningState"}

func privateEndpointType() arm.ResourceType {
	t := newType(typePrivateEndpoint, nameRule(1, 80), false)
	t.Prepare = preparePrivateEndpoint
	t.AfterDelete = func(tx arm.Tx, r *arm.Resource) {
		for _, nic := range refIDs(obj(r.Body["properties"]), "networkInterfaces") {
			tx.Delete(nic)
		}
	}
	t.Render = func(_ arm.Tx, r *arm.Resource) map[string]any {
		body, _ := renderBase(r)
		withEtag(body, body["etag"], "privateLinkServiceConnections", "manualPrivateLinkServiceConnections")
		return body
	}
	return t
}

// preparePrivateEndpoint checks the subnet and the connections, approves the automatic ones,
// and gives the endpoint its network interface and private address.
func preparePrivateEndpoint(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	id := req.ID.String()
	p := jsonmap.Ensure(req.Body, "properties")
	for _, k := range privateEndpointReadOnly {
		delete(p, k)
	}
	subnet, err := subnetRef(tx, refID(p, "subnet"), id, str(req.Body["location"]))
	if err != nil {
		return err
	}
	p["subnet"] = ref(subnet.ID)
	auto, manual := objects(p, "privateLinkServiceConnections"), objects(p, "manualPrivateLinkServiceConnections")
	if len(auto)+len(manual) == 0 {
		return badRequest("InvalidRequestFormat", "Cannot parse the request. Private endpoint %s must have a private link service connection.", id)
	}
	var targets []plsTarget
	for i, c := range append(auto, manual...) {
		t, err := checkConnection(tx, id, c, i >= len(auto))
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	defaultTo(p, "privateLinkServiceConnections", []any{})
	defaultTo(p, "manualPrivateLinkServiceConnections", []any{})
	defaultTo(p, "ipConfigurations", []any{})
	defaultTo(p, "customNetworkInterfaceName", "")
	addr, nicID, err := privateEndpointNIC(tx, req, subnet, targets[0])
	if err != nil {
		return err
	}
	p["networkInterfaces"] = []any{ref(nicID)}
	var dns []any
	for _, t := range targets {
		if t.fqdn != "" {
			dns = append(dns, map[string]any{"fqdn": t.fqdn, "ipAddresses": []any{addr}})
		}
	}
	setOrDelete(p, "customDnsConfigs", dns)
	keepGUID(p, req.Existing, id)
	return nil
}

// plsTarget is what one connection of a private endpoint leads to.
type plsTarget struct {
	id, groupID, fqdn string
}

// checkConnection checks one private link service connection: a name, an existing target
// and a group ID the target offers. Automatic connections are approved at once, manual ones
// stay pending.
func checkConnection(tx arm.Tx, pe string, c map[string]any, manual bool) (plsTarget, *arm.Error) {
	name := str(c["name"])
	if name == "" {
		return plsTarget{}, badRequest("InvalidRequestFormat", "Cannot parse the request.")
	}
	cid := subID(pe, "privateLinkServiceConnections", name)
	if manual {
		cid = subID(pe, "manualPrivateLinkServiceConnections", name)
	}
	c["id"], c["type"] = cid, typePLSConnection
	cp := jsonmap.Ensure(c, "properties")
	cp["provisioningState"] = "Succeeded"
	groups := jsonmap.StringList(cp["groupIds"])
	if len(groups) == 0 {
		return plsTarget{}, badRequest("MissingParameterOnPrivateLinkServiceConnection",
			"Private link service connection %s is missing required parameter 'group Id'.", cid)
	}
	targetID := str(cp["privateLinkServiceId"])
	target := tx.Get(targetID)
	if target == nil || arm.ParseID(targetID).Subscription == "" {
		return plsTarget{}, errInvalidReference(targetID, pe)
	}
	cp["privateLinkServiceId"] = target.ID
	t := plsTarget{id: target.ID, groupID: groups[0]}
	if strings.EqualFold(target.Type, typeStorageAccount) {
		for _, g := range groups {
			if !slices.Contains(storageGroupIDs, strings.ToLower(g)) {
				return plsTarget{}, badRequest("PrivateEndpointBadRequest",
					"Call to %s failed. Error message: Invalid groupId %s.", typeStorageAccount, g)
			}
		}
		t.groupID = strings.ToLower(groups[0])
		t.fqdn = target.Name() + "." + strings.TrimSuffix(t.groupID, "_secondary") + ".core.windows.net"
	}
	state := map[string]any{"status": "Approved", "description": "Auto-Approved", "actionsRequired": "None"}
	if manual {
		state = map[string]any{"status": "Pending", "description": str(cp["requestMessage"]), "actionsRequired": "None"}
	}
	cp["privateLinkServiceConnectionState"] = state
	return t, nil
}

// privateEndpointNIC creates or updates the endpoint's network interface, with a private
// address of the subnet (the one of a static ipConfigurations entry, else the one it had,
// else the lowest free), and returns the address and the interface's ID.
func privateEndpointNIC(tx arm.Tx, req *arm.PutRequest, subnet *arm.Resource, t plsTarget) (string, string, *arm.Error) {
	id, guid := req.ID.String(), resourceGUID(req.ID.String())
	nicName := str(jsonmap.Obj(req.Body, "properties")["customNetworkInterfaceName"])
	if nicName == "" {
		nicName = req.ID.Name + ".nic." + guid
	}
	var old *arm.Resource
	if req.Existing != nil {
		if ids := refIDs(obj(req.Existing.Body["properties"]), "networkInterfaces"); len(ids) > 0 {
			old = tx.Get(ids[0])
		}
	}
	nicID := arm.ID{Subscription: req.ID.Subscription, ResourceGroup: req.ID.ResourceGroup, Namespace: namespace,
		Types: []string{"networkInterfaces"}, Names: []string{nicName}, Name: nicName}.String()
	current := ""
	if old != nil {
		nicID = old.ID
		for _, c := range ipConfigsOf(old) {
			current = c.PrivateIP
		}
	}
	cfgName := "privateEndpointIpConfig." + guid
	cp := map[string]any{"privateIPAllocationMethod": "Dynamic"}
	for _, c := range objects(jsonmap.Ensure(req.Body, "properties"), "ipConfigurations") {
		if ip := str(obj(c["properties"])["privateIPAddress"]); ip != "" {
			cp = map[string]any{"privateIPAllocationMethod": "Static", "privateIPAddress": ip}
			break
		}
	}
	if err := assignPrivateIP(tx, nicID, subID(nicID, "ipConfigurations", cfgName), cp, subnet, current, ipPlan{}); err != nil {
		return "", "", err
	}
	cp["subnet"], cp["primary"] = ref(subnet.ID), true
	cp["provisioningState"] = "Succeeded"
	cp["privateLinkConnectionProperties"] = map[string]any{"groupId": t.groupID, "requiredMemberName": t.groupID, "fqdns": jsonmap.AnyList(nonEmpty(t.fqdn))}
	cfg := map[string]any{"name": cfgName, "id": subID(nicID, "ipConfigurations", cfgName), "type": typeNICIPConfig, "properties": cp}
	tx.Put(&arm.Resource{ID: nicID, Type: typeNIC, Body: map[string]any{
		"location": str(req.Body["location"]),
		"properties": map[string]any{
			"ipConfigurations": []any{cfg}, "privateEndpoint": ref(id), "nicType": "Standard",
			"enableAcceleratedNetworking": false, "enableIPForwarding": false,
			"dnsSettings":  map[string]any{"dnsServers": []any{}, "appliedDnsServers": []any{}},
			"resourceGuid": resourceGUID(nicID),
		},
	}})
	return str(cp["privateIPAddress"]), nicID, nil
}

// nonEmpty returns the strings that are not empty.
func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
