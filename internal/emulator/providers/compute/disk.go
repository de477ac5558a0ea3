package compute

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// diskNameRule: 1–80 characters, alphanumerics, '_', '-' and '.', starting with an
// alphanumeric and ending with an alphanumeric or '_' (resource-name-rules, Microsoft.Compute/disks).
var diskNameRule = arm.NameRule{
	Min: 1, Max: 80,
	Pattern:  regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$`),
	Describe: "The name can be up to 80 characters long. It must begin with an alphanumeric character and end with an alphanumeric character or '_', and may contain alphanumerics, '_', '.' and '-'.",
}

func diskType() arm.ResourceType {
	return arm.ResourceType{
		Type:    TypeDisk,
		Name:    diskNameRule,
		Located: true,
		// The disk RP answers a PUT with 202 and an operation (the SDK accepts 200 or 202, never 201).
		Create:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "disk.create"},
		Update:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK},
		Delete:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "disk.delete"},
		PatchTags:   true,
		Prepare:     prepareDisk,
		CheckDelete: checkDeleteDisk,
	}
}

// diskTierFor returns the performance tier of a premium SSD of that size (P4...P80).
func diskTierFor(sizeGB int64) string {
	tiers := []struct {
		max  int64
		name string
	}{{4, "P1"}, {8, "P2"}, {16, "P3"}, {32, "P4"}, {64, "P6"}, {128, "P10"}, {256, "P15"}, {512, "P20"},
		{1024, "P30"}, {2048, "P40"}, {4096, "P50"}, {8192, "P60"}, {16384, "P70"}}
	for _, t := range tiers {
		if sizeGB <= t.max {
			return t.name
		}
	}
	return "P80"
}

// completeDisk fills the read-only properties of a new disk.
func completeDisk(body map[string]any, sku diskSKU, sizeGB int64, rnd *rand.Rand, now string) {
	body["sku"] = map[string]any{"name": sku.Name, "tier": sku.Tier}
	p := jsonmap.Ensure(body, "properties")
	p["diskSizeGB"] = sizeGB
	p["diskSizeBytes"] = sizeGB << 30
	p["uniqueId"] = arm.RandomGUID(rnd)
	p["timeCreated"] = now
	p["encryption"] = map[string]any{"type": "EncryptionAtRestWithPlatformKey"}
	p["networkAccessPolicy"] = "AllowAll"
	p["publicNetworkAccess"] = "Enabled"
	if _, ok := p["diskState"]; !ok {
		p["diskState"] = "Unattached"
	}
	if strings.HasPrefix(sku.Name, "Premium") {
		p["tier"] = diskTierFor(sizeGB)
	}
	if !strings.HasPrefix(sku.Name, "Standard_") {
		p["diskIOPSReadWrite"] = 500
		p["diskMBpsReadWrite"] = 100
	}
}

// newDiskResource builds a managed disk created for a VM (OS disk or empty data disk).
func newDiskResource(id, location string, zones []string, sku diskSKU, sizeGB int64, osType string, creation map[string]any, vmID string, rnd *rand.Rand, now string) *arm.Resource {
	body := map[string]any{
		"location":   location,
		"managedBy":  vmID,
		"properties": map[string]any{"creationData": creation, "diskState": "Attached", "provisioningState": "Succeeded"},
	}
	if osType != "" {
		body["properties"].(map[string]any)["osType"] = osType
		body["properties"].(map[string]any)["hyperVGeneration"] = "V2"
	}
	if len(zones) > 0 && sku.Zonal {
		body["zones"] = jsonmap.AnyList(zones)
	}
	completeDisk(body, sku, sizeGB, rnd, now)
	return &arm.Resource{ID: id, Type: TypeDisk, Body: body}
}

// prepareDisk validates and completes a disk PUT.
func prepareDisk(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	body := req.Body
	if req.Existing != nil {
		if z, ok := body["zones"]; ok && !slices.Equal(jsonmap.StringList(z), jsonmap.StringList(req.Existing.Body["zones"])) {
			return changeNotAllowed("zones")
		}
		oldGB, _ := jsonmap.Num(jsonmap.Obj(req.Existing.Body, "properties")["diskSizeGB"])
		if n, ok := jsonmap.Num(jsonmap.Obj(body, "properties")["diskSizeGB"]); ok && n < oldGB {
			return invalidParam("diskSizeGB", "Disk size can only be increased: the disk is %d GB and %d GB was requested.", oldGB, n)
		}
		jsonmap.Underlay(body, req.Existing.Body)
		if n, ok := jsonmap.Num(jsonmap.Obj(body, "properties")["diskSizeGB"]); ok {
			jsonmap.Obj(body, "properties")["diskSizeBytes"] = n << 30
		}
		return nil
	}
	props := jsonmap.Ensure(body, "properties")
	loc, _ := tx.Location(jsonmap.Str(body, "location"))
	skuName := jsonmap.Str(jsonmap.Obj(body, "sku"), "name")
	if skuName == "" {
		skuName = "Standard_LRS"
	}
	sku, ok := lookupDiskSKU(skuName)
	if !ok {
		return invalidParam("sku.name", "The value '%s' of parameter 'sku.name' is not valid.", skuName)
	}
	zones := jsonmap.StringList(body["zones"])
	if len(zones) > 1 {
		return invalidParam("zones", "The value of parameter zones is invalid: a disk can be placed in one zone only.")
	}
	if len(zones) == 1 {
		if !sku.Zonal {
			return invalidParam("zones", "Zone-redundant disks (%s) cannot be placed in a zone.", sku.Name)
		}
		if !slices.Contains(loc.Zones, zones[0]) {
			return invalidParam("zones", "The zone(s) '%s' for resource '%s' is not supported. The supported zones for location '%s' are '%s'.",
				zones[0], req.ID.String(), loc.Name, strings.Join(loc.Zones, ","))
		}
	}
	creation := jsonmap.Obj(props, "creationData")
	if creation == nil {
		return missingParam("creationData")
	}
	sizeGB, hasSize := jsonmap.Num(props["diskSizeGB"])
	switch opt := jsonmap.Str(creation, "createOption"); strings.ToLower(opt) {
	case "empty":
		if !hasSize || sizeGB <= 0 {
			return missingParam("diskSizeGB")
		}
	case "fromimage":
		id := jsonmap.Str(jsonmap.Obj(creation, "imageReference"), "id")
		if id == "" {
			return missingParam("creationData.imageReference.id")
		}
		if !hasSize {
			sizeGB = 30
			if img := tx.Get(id); img != nil && strings.EqualFold(img.Type, TypeImage) {
				if n, ok := jsonmap.Num(jsonmap.Obj(img.Body, "properties", "storageProfile", "osDisk")["diskSizeGB"]); ok && n > 0 {
					sizeGB = n
				}
			}
		}
	case "copy":
		src := jsonmap.Str(creation, "sourceResourceId")
		d := tx.Get(src)
		if d == nil {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", src)
		}
		if !hasSize {
			sizeGB, _ = jsonmap.Num(jsonmap.Obj(d.Body, "properties")["diskSizeGB"])
		}
	case "import", "upload":
		if !hasSize {
			sizeGB = 30
		}
	case "":
		return missingParam("creationData.createOption")
	default:
		return invalidParam("creationData.createOption", "The value '%s' of parameter 'creationData.createOption' is not valid.", opt)
	}
	if int(sizeGB) > sku.MaxSizeGiB {
		return invalidParam("diskSizeGB", "Disk size %d GB is larger than the maximum of %d GB for %s.", sizeGB, sku.MaxSizeGiB, sku.Name)
	}
	completeDisk(body, sku, sizeGB, arm.NewRand(tx.Seed(), 0x636f6d70757465), time.Now().UTC().Format(time.RFC3339Nano))
	return nil
}

// checkDeleteDisk refuses deleting an attached disk.
func checkDeleteDisk(_ arm.Tx, r *arm.Resource) *arm.Error {
	if by := jsonmap.Str(r.Body, "managedBy"); by != "" {
		return arm.Errorf(http.StatusConflict, "OperationNotAllowed", "Disk %s is attached to VM %s.", r.Name(), by)
	}
	return nil
}
