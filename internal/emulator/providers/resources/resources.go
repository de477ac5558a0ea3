// Package resources serves the emulator's Microsoft.Resources surface: subscriptions,
// locations, resource providers and resource groups.
package resources

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Directory is what the routes need from the engine: the subscriptions, regions and types
// it offers. *arm.Engine implements it, without taking its lock.
type Directory interface {
	Subscriptions() []arm.Subscription
	Locations() []arm.LocationInfo
	ResourceTypes() []string
}

// rgName is Azure's rule for resource group names: 1-90 alphanumerics, '_', '-', '.', '(' and
// ')', not ending with '.'.
var rgName = regexp.MustCompile(`^[-\w._()]*[-\w_()]$`)

// Types returns the resource group type. Creating or updating a group is synchronous
// (201/200); deleting it answers 202 with a Location and removes everything in it once the
// operation ends.
func Types() []arm.ResourceType {
	return []arm.ResourceType{{
		Type:  arm.TypeResourceGroup,
		Scope: arm.SubscriptionScope,
		Name: arm.NameRule{Min: 1, Max: 90, Pattern: rgName,
			Describe: "The name can be up to 90 characters long. It can contain alphanumeric characters, underscores, parentheses, hyphens and periods, and it cannot end with a period."},
		Located:   true,
		PatchTags: true,
		Create:    arm.LRO{Mode: arm.Sync, Status: http.StatusCreated},
		Update:    arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Delete:    arm.LRO{Mode: arm.Location, Status: http.StatusAccepted, Operation: "Microsoft.Resources/resourceGroups.delete"},
		Prepare: func(_ arm.Tx, req *arm.PutRequest) *arm.Error {
			// Only managedBy and tags are kept from the request besides the location.
			b := map[string]any{"location": req.Body["location"], "properties": map[string]any{}}
			if t, ok := req.Body["tags"]; ok && t != nil {
				b["tags"] = t
			}
			if m, ok := req.Body["managedBy"].(string); ok && m != "" {
				b["managedBy"] = m
			} else if req.Existing != nil {
				if m, ok := req.Existing.Body["managedBy"]; ok {
					b["managedBy"] = m
				}
			}
			req.Body = b
			return nil
		},
	}}
}

// Routes returns the subscription, location and provider endpoints.
func Routes(dir Directory) []arm.Route {
	sub := func(tenant, id string) (arm.Subscription, *arm.Error) {
		for _, s := range dir.Subscriptions() {
			if strings.EqualFold(s.ID, id) && (tenant == "" || strings.EqualFold(s.TenantID, tenant)) {
				return s, nil
			}
		}
		return arm.Subscription{}, arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
	}
	return []arm.Route{
		{Method: http.MethodGet, Pattern: "/subscriptions", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			out := []any{}
			for _, s := range dir.Subscriptions() {
				if req.Tenant == "" || strings.EqualFold(s.TenantID, req.Tenant) {
					out = append(out, subscriptionBody(s))
				}
			}
			return http.StatusOK, map[string]any{"value": out}, nil
		}},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			s, err := sub(req.Tenant, req.Params["subscriptionId"])
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, subscriptionBody(s), nil
		}},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/locations", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			s, err := sub(req.Tenant, req.Params["subscriptionId"])
			if err != nil {
				return 0, nil, err
			}
			out := []any{}
			for _, l := range dir.Locations() {
				out = append(out, locationBody(s.ID, l))
			}
			return http.StatusOK, map[string]any{"value": out}, nil
		}},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			out := []any{}
			for _, ns := range namespaces(dir) {
				out = append(out, providerBody(req.Params["subscriptionId"], ns, dir))
			}
			return http.StatusOK, map[string]any{"value": out}, nil
		}},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers/{namespace}", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			return provider(req, dir)
		}},
		{Method: http.MethodPost, Pattern: "/subscriptions/{subscriptionId}/providers/{namespace}/register", Handle: func(_ arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
			return provider(req, dir)
		}},
	}
}

func provider(req *arm.RouteRequest, dir Directory) (int, any, *arm.Error) {
	want := req.Params["namespace"]
	for _, ns := range namespaces(dir) {
		if strings.EqualFold(ns, want) {
			return http.StatusOK, providerBody(req.Params["subscriptionId"], ns, dir), nil
		}
	}
	return 0, nil, arm.Errorf(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", want)
}

func namespaces(dir Directory) []string {
	var out []string
	for _, t := range dir.ResourceTypes() {
		ns, _, _ := strings.Cut(t, "/")
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

func subscriptionBody(s arm.Subscription) map[string]any {
	return map[string]any{
		"id":             "/subscriptions/" + s.ID,
		"subscriptionId": s.ID,
		"tenantId":       s.TenantID,
		"displayName":    s.DisplayName,
		"state":          "Enabled",
		"subscriptionPolicies": map[string]any{
			"locationPlacementId": "Public_2014-09-01",
			"quotaId":             "PayAsYouGo_2014-09-01",
			"spendingLimit":       "Off",
		},
		"authorizationSource": "RoleBased",
	}
}

// geography of the default regions, for the location metadata.
var geography = map[string][2]string{
	"westeurope":    {"Europe", "Netherlands"},
	"northeurope":   {"Europe", "Ireland"},
	"eastus":        {"US", "Virginia"},
	"eastus2":       {"US", "Virginia"},
	"westus2":       {"US", "Washington"},
	"westcentralus": {"US", "Wyoming"},
}

func locationBody(sub string, l arm.LocationInfo) map[string]any {
	geo := geography[l.Name]
	if geo[0] == "" {
		geo = [2]string{"Emulated", "Emulated"}
	}
	b := map[string]any{
		"id":                  fmt.Sprintf("/subscriptions/%s/locations/%s", sub, l.Name),
		"name":                l.Name,
		"type":                "Region",
		"displayName":         l.DisplayName,
		"regionalDisplayName": "(" + geo[0] + ") " + l.DisplayName,
		"metadata": map[string]any{
			"regionType":       "Physical",
			"regionCategory":   "Recommended",
			"geography":        geo[0],
			"geographyGroup":   geo[0],
			"physicalLocation": geo[1],
		},
	}
	if len(l.Zones) > 0 {
		var maps []any
		for _, z := range l.Zones {
			maps = append(maps, map[string]any{"logicalZone": z, "physicalZone": l.Name + "-az" + z})
		}
		b["availabilityZoneMappings"] = maps
	}
	return b
}

func providerBody(sub, ns string, dir Directory) map[string]any {
	var types []any
	var locs, zoneLocs []string
	for _, l := range dir.Locations() {
		locs = append(locs, l.DisplayName)
		if len(l.Zones) > 0 {
			zoneLocs = append(zoneLocs, l.DisplayName)
		}
	}
	for _, t := range dir.ResourceTypes() {
		tns, rest, _ := strings.Cut(t, "/")
		if !strings.EqualFold(tns, ns) {
			continue
		}
		rt := map[string]any{"resourceType": rest, "locations": locs, "apiVersions": []string{}}
		if len(zoneLocs) > 0 {
			var zm []any
			for _, l := range dir.Locations() {
				if len(l.Zones) > 0 {
					zm = append(zm, map[string]any{"location": l.DisplayName, "zones": l.Zones})
				}
			}
			rt["zoneMappings"] = zm
		}
		types = append(types, rt)
	}
	return map[string]any{
		"id":                 fmt.Sprintf("/subscriptions/%s/providers/%s", sub, ns),
		"namespace":          ns,
		"registrationState":  "Registered",
		"registrationPolicy": "RegistrationRequired",
		"resourceTypes":      types,
	}
}
