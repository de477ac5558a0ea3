package storage

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// typeSubnet is the type of the subnets virtualNetworkRules name.
const typeSubnet = "Microsoft.Network/virtualNetworks/subnets"

// invalidValue is the storage RP's 400 for a property value it does not accept.
func invalidValue(name string, allowed ...string) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters",
		"Values for request parameters are invalid: %s. Allowed values are %s.", name, strings.Join(allowed, ", "))
}

// aclFailure is the storage RP's 400 for network rules it refuses.
func aclFailure(format string, args ...any) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "NetworkAclsValidationFailure", "Validation of network acls failure: "+format, args...)
}

// checkNetwork checks and normalizes properties.publicNetworkAccess (Enabled, Disabled,
// SecuredByPerimeter) and properties.networkAcls: defaultAction Allow or Deny, bypass,
// virtualNetworkRules naming existing subnets that have the Microsoft.Storage service
// endpoint, and ipRules of IPv4 addresses or ranges.
func checkNetwork(tx arm.Tx, props map[string]any) *arm.Error {
	if v, ok := props["publicNetworkAccess"]; ok && v != nil {
		pna := canonicalOf(jsonmap.Str(props, "publicNetworkAccess"), "Enabled", "Disabled", "SecuredByPerimeter")
		if pna == "" {
			return invalidValue("publicNetworkAccess", "Enabled", "Disabled", "SecuredByPerimeter")
		}
		props["publicNetworkAccess"] = pna
	}
	acls := jsonmap.Obj(props, "networkAcls")
	if acls == nil {
		return nil
	}
	action := canonicalOf(jsonmap.Str(acls, "defaultAction"), "Allow", "Deny")
	if action == "" {
		return invalidValue("networkAcls.defaultAction", "Allow", "Deny")
	}
	acls["defaultAction"] = action
	if jsonmap.Str(acls, "bypass") == "" {
		acls["bypass"] = "AzureServices"
	}
	for _, v := range jsonmap.List(acls, "virtualNetworkRules") {
		rule, _ := v.(map[string]any)
		if err := checkVNetRule(tx, rule); err != nil {
			return err
		}
	}
	for _, v := range jsonmap.List(acls, "ipRules") {
		rule, _ := v.(map[string]any)
		value := jsonmap.Str(rule, "value")
		if _, err := ParseIPRule(value); err != nil {
			return aclFailure("InvalidIpAddressOrRange: %s is not a valid IPv4 address or range.", value)
		}
		rule["action"] = "Allow"
	}
	if acls["virtualNetworkRules"] == nil {
		acls["virtualNetworkRules"] = []any{}
	}
	if acls["ipRules"] == nil {
		acls["ipRules"] = []any{}
	}
	return nil
}

// checkVNetRule checks one virtual network rule: an existing subnet with the
// Microsoft.Storage service endpoint.
func checkVNetRule(tx arm.Tx, rule map[string]any) *arm.Error {
	id := jsonmap.Str(rule, "id")
	pid := arm.ParseID(id)
	var subnet *arm.Resource
	if strings.EqualFold(pid.FullType(), typeSubnet) {
		subnet = tx.Get(id)
	}
	if subnet == nil {
		return aclFailure("SubnetsNotFound: Subnet %s was not found.", id)
	}
	rule["id"] = subnet.ID
	rule["action"] = "Allow"
	rule["state"] = "Succeeded"
	for _, v := range jsonmap.List(jsonmap.Obj(subnet.Body, "properties"), "serviceEndpoints") {
		se, _ := v.(map[string]any)
		if svc := jsonmap.Str(se, "service"); strings.EqualFold(svc, "Microsoft.Storage") || strings.EqualFold(svc, "Microsoft.Storage.Global") {
			return nil
		}
	}
	vnet := arm.ParseID(pid.Parent())
	return aclFailure("SubnetsHaveNoServiceEndpointsConfigured:Subnets %s of virtual network %s do not have ServiceEndpoints for Microsoft.Storage resources configured. Add Microsoft.Storage to subnet's ServiceEndpoints collection before trying to ACL Microsoft.Storage resources to these subnets..",
		subnet.Name(), vnet.String())
}

// ParseIPRule parses the value of a storage account IP rule: an IPv4 address or range in
// CIDR notation.
func ParseIPRule(value string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(value); err == nil && a.Is4() {
		return netip.PrefixFrom(a, 32), nil
	}
	p, err := netip.ParsePrefix(value)
	if err == nil && !p.Addr().Is4() {
		err = errors.New("not an IPv4 range")
	}
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// canonicalOf returns the allowed value equal to v in any case, or "".
func canonicalOf(v string, allowed ...string) string {
	i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, v) })
	if i < 0 {
		return ""
	}
	return allowed[i]
}

// typePrivateEndpoint is the type of the private endpoints that lead to accounts.
const typePrivateEndpoint = "Microsoft.Network/privateEndpoints"

// privateEndpointConnections are an account's private endpoint connections, as its GET
// shows them: one per connection of a private endpoint of the subscription to the account.
func privateEndpointConnections(tx arm.Tx, accountID string) []any {
	out := []any{}
	for _, pe := range tx.List("/subscriptions/"+arm.ParseID(accountID).Subscription, typePrivateEndpoint) {
		p := jsonmap.Obj(pe.Body, "properties")
		for _, key := range []string{"privateLinkServiceConnections", "manualPrivateLinkServiceConnections"} {
			for _, v := range jsonmap.List(p, key) {
				c, _ := v.(map[string]any)
				cp := jsonmap.Obj(c, "properties")
				if arm.Key(jsonmap.Str(cp, "privateLinkServiceId")) != arm.Key(accountID) {
					continue
				}
				out = append(out, map[string]any{
					"id":   accountID + "/privateEndpointConnections/" + pe.Name(),
					"name": pe.Name(),
					"type": TypeAccount + "/privateEndpointConnections",
					"properties": map[string]any{
						"privateEndpoint":                   map[string]any{"id": pe.ID},
						"privateLinkServiceConnectionState": jsonmap.DeepCopy(cp["privateLinkServiceConnectionState"]),
						"provisioningState":                 "Succeeded",
					},
				})
			}
		}
	}
	return out
}
