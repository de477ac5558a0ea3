package network

import (
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// checkZones checks zones against the location: the region must offer availability zones
// and each zone must be one of them. what is "Microsoft.Network/publicIPAddresses/{name}"
// for the messages.
func checkZones(tx arm.Tx, zones []string, location, what string) *arm.Error {
	if len(zones) == 0 {
		return nil
	}
	info, ok := tx.Location(location)
	if !ok || len(info.Zones) == 0 {
		return errLocationHasNoZones(what, strings.ToLower(strings.ReplaceAll(location, " ", "")))
	}
	for _, z := range zones {
		if !slices.Contains(info.Zones, z) {
			return errInvalidZone(zones, what, info.Name, info.Zones)
		}
	}
	return nil
}

// checkZonesUnchanged refuses changing the zones of an existing resource.
func checkZonesUnchanged(existing *arm.Resource, zones []string, id string) *arm.Error {
	if existing == nil {
		return nil
	}
	was := jsonmap.StringList(existing.Body["zones"])
	if !sameSet(was, zones) {
		return errZonesChanged(id, was, zones)
	}
	return nil
}

// sameSet reports whether two string lists hold the same values, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
