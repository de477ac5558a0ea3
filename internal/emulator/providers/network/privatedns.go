package network

import (
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// Private DNS (Microsoft.Network/privateDnsZones): zones live in the location "global", their
// virtual network links name an existing VNet, and A record sets hold IPv4 addresses.
const (
	typePrivateDNSZone = namespace + "/privateDnsZones"
	typeVNetLink       = typePrivateDNSZone + "/virtualNetworkLinks"
	typeARecordSet     = typePrivateDNSZone + "/A"
	// globalLocation is the only location of private DNS zones and their links.
	globalLocation = "global"
	// defaultTTL is the TTL of a record set that names none.
	defaultTTL = 3600
)

// zoneNamePattern is a DNS name of at least two labels (letters, digits, '-' and '_', labels
// of at most 63 characters), optionally ending with a dot.
var zoneNamePattern = regexp.MustCompile(`^(?i)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$`)

// recordNamePattern is a relative record set name: "@" (the zone apex) or DNS labels, with
// an optional leading "*." wildcard.
var recordNamePattern = regexp.MustCompile(`^(?i)(@|(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*|\*)$`)

func privateDNSZoneType() arm.ResourceType {
	t := newType(typePrivateDNSZone, arm.NameRule{Min: 1, Max: 253, Pattern: zoneNamePattern,
		Describe: "The name must be a DNS name of at least two labels."}, false)
	// The location is "global", which no subscription lists: Prepare checks it.
	t.Located = false
	t.Prepare = preparePrivateDNSZone
	t.Render = renderPrivateDNSZone
	return t
}

func vnetLinkType() arm.ResourceType {
	t := newType(typeVNetLink, nameRule(1, 80), true)
	t.Prepare = prepareVNetLink
	return t
}

func aRecordSetType() arm.ResourceType {
	t := newType(typeARecordSet, arm.NameRule{Min: 1, Max: 253, Pattern: recordNamePattern,
		Describe: "The name must be '@' or a relative DNS name."}, true)
	// Record sets are written synchronously (RecordSetsClient.CreateOrUpdate is no poller).
	t.Create = arm.LRO{Mode: arm.Sync, Status: http.StatusCreated}
	t.Update = arm.LRO{Mode: arm.Sync, Status: http.StatusOK}
	t.Delete = arm.LRO{Mode: arm.Sync, Status: http.StatusOK}
	t.Prepare = prepareARecordSet
	return t
}

// checkGlobal requires the location "global" of a private DNS resource and stores it so.
func checkGlobal(body map[string]any, typ string, required bool) *arm.Error {
	loc := str(body["location"])
	switch {
	case loc == "" && required:
		return badRequest("LocationRequired", "The location property is required for this definition.")
	case loc != "" && !strings.EqualFold(loc, globalLocation):
		return badRequest("LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is 'global'.", loc, typ)
	}
	body["location"] = globalLocation
	return nil
}

// preparePrivateDNSZone checks the location and fills in the zone's read-only limits.
func preparePrivateDNSZone(_ arm.Tx, req *arm.PutRequest) *arm.Error {
	if err := checkGlobal(req.Body, typePrivateDNSZone, true); err != nil {
		return err
	}
	p := jsonmap.Ensure(req.Body, "properties")
	for _, k := range []string{"numberOfRecordSets", "numberOfVirtualNetworkLinks", "numberOfVirtualNetworkLinksWithRegistration"} {
		delete(p, k)
	}
	p["maxNumberOfRecordSets"] = 25000
	p["maxNumberOfVirtualNetworkLinks"] = 1000
	p["maxNumberOfVirtualNetworkLinksWithRegistration"] = 100
	p["internalId"] = resourceGUID(req.ID.String())
	return nil
}

// renderPrivateDNSZone counts the zone's record sets (with the SOA Azure keeps) and links.
func renderPrivateDNSZone(tx arm.Tx, r *arm.Resource) map[string]any {
	body, p := renderBase(r)
	links := children(tx, r.ID, typeVNetLink)
	registering := 0
	for _, l := range links {
		if b, _ := obj(l.Body["properties"])["registrationEnabled"].(bool); b {
			registering++
		}
	}
	p["numberOfRecordSets"] = 1 + len(children(tx, r.ID, typeARecordSet))
	p["numberOfVirtualNetworkLinks"] = len(links)
	p["numberOfVirtualNetworkLinksWithRegistration"] = registering
	return body
}

// prepareVNetLink requires an existing virtual network and fills in the link's state.
func prepareVNetLink(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	if err := checkGlobal(req.Body, typeVNetLink, false); err != nil {
		return err
	}
	p := jsonmap.Ensure(req.Body, "properties")
	vnetID := refID(p, "virtualNetwork")
	vnet := getOfType(tx, vnetID, typeVNet)
	if vnet == nil {
		return badRequest("BadRequest", "Virtual network resource not found for '%s'", vnetID)
	}
	if req.Existing != nil && !sameID(refID(obj(req.Existing.Body["properties"]), "virtualNetwork"), vnet.ID) {
		return badRequest("BadRequest", "The virtual network of virtual network link '%s' cannot be changed.", req.ID.Name)
	}
	if _, ok := p["registrationEnabled"].(bool); !ok && p["registrationEnabled"] != nil {
		return badRequest("BadRequest", "The specified virtual network link registration setting is invalid.")
	}
	p["virtualNetwork"] = ref(vnet.ID)
	defaultTo(p, "registrationEnabled", false)
	defaultTo(p, "resolutionPolicy", "Default")
	p["virtualNetworkLinkState"] = "Completed"
	return nil
}

// prepareARecordSet checks the A records (IPv4 addresses) and the TTL, and fills in the
// record set's fqdn.
func prepareARecordSet(_ arm.Tx, req *arm.PutRequest) *arm.Error {
	delete(req.Body, "location")
	p := jsonmap.Ensure(req.Body, "properties")
	ttl := float64(defaultTTL)
	if v, ok := p["ttl"]; ok && v != nil {
		n, isNum := num(v)
		if !isNum || n < 0 || n > 2147483647 || n != float64(int64(n)) {
			return badRequest("BadRequest", "The value '%v' of the record set TTL is invalid. It must be between 0 and 2147483647.", v)
		}
		ttl = n
	}
	p["ttl"] = ttl
	for _, rec := range objects(p, "aRecords") {
		ip := str(rec["ipv4Address"])
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			return badRequest("BadRequest", "The IPv4 address '%s' of an A record is invalid.", ip)
		}
	}
	defaultTo(p, "aRecords", []any{})
	zone := strings.TrimSuffix(arm.ParseID(req.ID.Parent()).Name, ".")
	fqdn := zone + "."
	if req.ID.Name != "@" {
		fqdn = req.ID.Name + "." + fqdn
	}
	p["fqdn"] = strings.ToLower(fqdn)
	p["isAutoRegistered"] = false
	return nil
}
