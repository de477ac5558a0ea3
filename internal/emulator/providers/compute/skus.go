package compute

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// Size is one virtual machine size the emulator offers, with the capabilities the resource
// SKU list reports for it (values as Azure publishes them).
type Size struct {
	Name             string // Standard_D2s_v3
	Family           string // standardDSv3Family
	VCPUs            int
	MemoryGB         float64
	MaxDataDiskCount int
	MaxNICs          int
	ACUs             int
	GPUs             int
	PremiumIO        bool
	AcceleratedNet   bool
}

// sizes is the emulator's VM size catalogue, offered in every location.
var sizes = []Size{
	{Name: "Standard_B2s", Family: "standardBSFamily", VCPUs: 2, MemoryGB: 4, MaxDataDiskCount: 4, MaxNICs: 3, ACUs: 0, PremiumIO: true},
	{Name: "Standard_DS2_v2", Family: "standardDSv2Family", VCPUs: 2, MemoryGB: 7, MaxDataDiskCount: 8, MaxNICs: 2, ACUs: 210, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D2_v3", Family: "standardDv3Family", VCPUs: 2, MemoryGB: 8, MaxDataDiskCount: 4, MaxNICs: 2, ACUs: 160, AcceleratedNet: true},
	{Name: "Standard_D2s_v3", Family: "standardDSv3Family", VCPUs: 2, MemoryGB: 8, MaxDataDiskCount: 4, MaxNICs: 2, ACUs: 160, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D4s_v3", Family: "standardDSv3Family", VCPUs: 4, MemoryGB: 16, MaxDataDiskCount: 8, MaxNICs: 2, ACUs: 160, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D8s_v3", Family: "standardDSv3Family", VCPUs: 8, MemoryGB: 32, MaxDataDiskCount: 16, MaxNICs: 4, ACUs: 160, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D2s_v5", Family: "standardDSv5Family", VCPUs: 2, MemoryGB: 8, MaxDataDiskCount: 4, MaxNICs: 2, ACUs: 195, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D4s_v5", Family: "standardDSv5Family", VCPUs: 4, MemoryGB: 16, MaxDataDiskCount: 8, MaxNICs: 2, ACUs: 195, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_D8s_v5", Family: "standardDSv5Family", VCPUs: 8, MemoryGB: 32, MaxDataDiskCount: 16, MaxNICs: 4, ACUs: 195, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_E4s_v3", Family: "standardESv3Family", VCPUs: 4, MemoryGB: 32, MaxDataDiskCount: 8, MaxNICs: 2, ACUs: 160, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_F4s_v2", Family: "standardFSv2Family", VCPUs: 4, MemoryGB: 8, MaxDataDiskCount: 8, MaxNICs: 2, ACUs: 195, PremiumIO: true, AcceleratedNet: true},
	{Name: "Standard_NC6s_v3", Family: "standardNCSv3Family", VCPUs: 6, MemoryGB: 112, MaxDataDiskCount: 12, MaxNICs: 4, ACUs: 0, GPUs: 1, PremiumIO: true},
}

// Restriction says that a size is not offered (to this subscription) in some zones of a
// location; deploying there fails with SkuNotAvailable.
type Restriction struct {
	Size     string
	Location string
	Zones    []string
}

// restrictions: the GPU size is not offered in zone 3 of West Europe and East US, so that
// zone checks can be exercised.
var restrictions = []Restriction{
	{Size: "Standard_NC6s_v3", Location: "westeurope", Zones: []string{"3"}},
	{Size: "Standard_NC6s_v3", Location: "eastus", Zones: []string{"3"}},
}

// Sizes returns the VM sizes the emulator offers, in every location it offers.
func Sizes() []Size { return slices.Clone(sizes) }

// Restrictions returns the zonal restrictions of the size catalogue.
func Restrictions() []Restriction { return slices.Clone(restrictions) }

// LookupSize finds a size by name, case-insensitively.
func LookupSize(name string) (Size, bool) {
	for _, s := range sizes {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Size{}, false
}

// RestrictedZones returns the zones of location in which size is not offered.
func RestrictedZones(size, location string) []string {
	var out []string
	for _, r := range restrictions {
		if strings.EqualFold(r.Size, size) && strings.EqualFold(r.Location, location) {
			out = append(out, r.Zones...)
		}
	}
	return out
}

// ZoneOffered reports whether size can be deployed in zone of a location with the given
// zones ("" = no zone: always offered when the size exists).
func ZoneOffered(size, location string, locationZones []string, zone string) bool {
	if _, ok := LookupSize(size); !ok {
		return false
	}
	if zone == "" {
		return true
	}
	return slices.Contains(locationZones, zone) && !slices.Contains(RestrictedZones(size, location), zone)
}

// SizeNames returns the names of all sizes, comma-separated as Azure lists "the valid sizes".
func SizeNames() string {
	names := make([]string, len(sizes))
	for i, s := range sizes {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

// diskSKU is one managed disk type the emulator offers.
type diskSKU struct {
	Name, Tier string
	MaxSizeGiB int
	Zonal      bool // LRS types can be placed in a zone; ZRS types span zones
}

var diskSKUs = []diskSKU{
	{Name: "Standard_LRS", Tier: "Standard", MaxSizeGiB: 32767, Zonal: true},
	{Name: "StandardSSD_LRS", Tier: "Standard", MaxSizeGiB: 32767, Zonal: true},
	{Name: "Premium_LRS", Tier: "Premium", MaxSizeGiB: 32767, Zonal: true},
	{Name: "StandardSSD_ZRS", Tier: "Standard", MaxSizeGiB: 32767},
	{Name: "Premium_ZRS", Tier: "Premium", MaxSizeGiB: 32767},
}

// lookupDiskSKU finds a disk SKU by name, case-insensitively.
func lookupDiskSKU(name string) (diskSKU, bool) {
	for _, d := range diskSKUs {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return diskSKU{}, false
}

// candidateLocations are the public Azure regions; the SKU list reports those the emulator
// offers (arm.Tx has no way to enumerate locations, only to look one up).
var candidateLocations = []string{
	"eastus", "eastus2", "southcentralus", "westus2", "westus3", "australiaeast", "southeastasia",
	"northeurope", "swedencentral", "uksouth", "westeurope", "centralus", "southafricanorth",
	"centralindia", "eastasia", "japaneast", "koreacentral", "canadacentral", "francecentral",
	"germanywestcentral", "italynorth", "norwayeast", "polandcentral", "switzerlandnorth",
	"uaenorth", "brazilsouth", "israelcentral", "qatarcentral", "mexicocentral", "spaincentral",
	"northcentralus", "westus", "westcentralus", "ukwest", "japanwest", "koreasouth",
	"australiasoutheast", "australiacentral", "canadaeast", "francesouth", "germanynorth",
	"norwaywest", "switzerlandwest", "southindia", "westindia", "brazilsoutheast", "uaecentral",
	"southafricawest", "eastus2euap", "centraluseuap", "newzealandnorth", "indonesiacentral",
	"malaysiawest", "chilecentral", "austriaeast", "belgiumcentral", "denmarkeast",
}

// offeredLocations returns the emulator's locations, in candidateLocations order.
func offeredLocations(tx arm.Tx) []arm.LocationInfo {
	var out []arm.LocationInfo
	for _, name := range candidateLocations {
		if l, ok := tx.Location(name); ok {
			out = append(out, l)
		}
	}
	return out
}

// skuFilter matches the one $filter Azure supports on the SKU list: location eq '<loc>'.
var skuFilter = regexp.MustCompile(`(?i)^\s*location\s+eq\s+'([^']+)'\s*$`)

func capability(name, value string) map[string]any {
	return map[string]any{"name": name, "value": value}
}

func yesNo(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// vmSKU renders one VM size in one location as Azure's resource SKU list does.
func vmSKU(s Size, loc arm.LocationInfo) map[string]any {
	caps := []any{
		capability("MaxResourceVolumeMB", strconv.Itoa(s.VCPUs*8192)),
		capability("OSVhdSizeMB", "1047552"),
		capability("vCPUs", strconv.Itoa(s.VCPUs)),
		capability("MemoryPreservingMaintenanceSupported", "True"),
		capability("HyperVGenerations", "V1,V2"),
		capability("MemoryGB", strconv.FormatFloat(s.MemoryGB, 'f', -1, 64)),
		capability("MaxDataDiskCount", strconv.Itoa(s.MaxDataDiskCount)),
		capability("CpuArchitectureType", "x64"),
		capability("LowPriorityCapable", "True"),
		capability("PremiumIO", yesNo(s.PremiumIO)),
		capability("VMDeploymentTypes", "IaaS"),
		capability("vCPUsAvailable", strconv.Itoa(s.VCPUs)),
		capability("vCPUsPerCore", "2"),
		capability("EphemeralOSDiskSupported", yesNo(s.PremiumIO)),
		capability("EncryptionAtHostSupported", "True"),
		capability("AcceleratedNetworkingEnabled", yesNo(s.AcceleratedNet)),
		capability("RdmaEnabled", "False"),
		capability("MaxNetworkInterfaces", strconv.Itoa(s.MaxNICs)),
	}
	if s.ACUs > 0 {
		caps = append(caps, capability("ACUs", strconv.Itoa(s.ACUs)))
	}
	if s.GPUs > 0 {
		caps = append(caps, capability("GPUs", strconv.Itoa(s.GPUs)))
	}
	restr := []any{}
	if z := RestrictedZones(s.Name, loc.Name); len(z) > 0 && len(loc.Zones) > 0 {
		restr = append(restr, map[string]any{
			"type":            "Zone",
			"values":          []any{loc.Name},
			"restrictionInfo": map[string]any{"locations": []any{loc.Name}, "zones": jsonmap.AnyList(z)},
			"reasonCode":      "NotAvailableForSubscription",
		})
	}
	return map[string]any{
		"resourceType": "virtualMachines",
		"name":         s.Name,
		"tier":         "Standard",
		"size":         strings.TrimPrefix(s.Name, "Standard_"),
		"family":       s.Family,
		"locations":    []any{loc.Name},
		"locationInfo": []any{map[string]any{"location": loc.Name, "zones": jsonmap.AnyList(loc.Zones), "zoneDetails": []any{}}},
		"capabilities": caps,
		"restrictions": restr,
	}
}

// diskSKUEntry renders one managed disk SKU in one location.
func diskSKUEntry(d diskSKU, loc arm.LocationInfo) map[string]any {
	zones := []any{}
	if d.Zonal {
		zones = jsonmap.AnyList(loc.Zones)
	}
	return map[string]any{
		"resourceType": "disks",
		"name":         d.Name,
		"tier":         d.Tier,
		"locations":    []any{loc.Name},
		"locationInfo": []any{map[string]any{"location": loc.Name, "zones": zones, "zoneDetails": []any{}}},
		"capabilities": []any{
			capability("MaxSizeGiB", strconv.Itoa(d.MaxSizeGiB)),
			capability("MinSizeGiB", "0"),
			capability("MaxIOps", "20000"),
			capability("MinIOps", "120"),
			capability("MaxBandwidthMBps", "900"),
			capability("MinBandwidthMBps", "25"),
		},
		"restrictions": []any{},
	}
}

// listSKUs answers GET /subscriptions/{s}/providers/Microsoft.Compute/skus.
func listSKUs(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	locs := offeredLocations(tx)
	if f := first(req.Query["$filter"]); f != "" {
		m := skuFilter.FindStringSubmatch(f)
		if m == nil {
			return 0, nil, arm.Errorf(400, "InvalidFilterInQueryString",
				"The filter '%s' is not supported. Only location eq '<location>' is supported.", f)
		}
		l, ok := tx.Location(m[1])
		if !ok {
			return 200, map[string]any{"value": []any{}}, nil
		}
		locs = []arm.LocationInfo{l}
	}
	value := []any{}
	for _, loc := range locs {
		for _, s := range sizes {
			value = append(value, vmSKU(s, loc))
		}
		for _, d := range diskSKUs {
			value = append(value, diskSKUEntry(d, loc))
		}
	}
	return 200, map[string]any{"value": value}, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
