package compute

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
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
	p := ensure(body, "properties")
	p["diskSizeGB"] = sizeGB
	p["diskSizeBytes"] = sizeGB << 30
	p["uniqueId"] = guid(rnd)
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
		body["zones"] = anyList(zones)
	}
	completeDisk(body, sku, sizeGB, rnd, now)
	return &arm.Resource{ID: id, Type: TypeDisk, Body: body}
}

// prepareDisk validates and completes a disk PUT.
func prepareDisk(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	body := req.Body
	if req.Existing != nil {
		if z, ok := body["zones"]; ok && !slices.Equal(stringList(z), stringList(req.Existing.Body["zones"])) {
			return changeNotAllowed("zones")
		}
		oldGB, _ := num(obj(req.Existing.Body, "properties")["diskSizeGB"])
		if n, ok := num(obj(body, "properties")["diskSizeGB"]); ok && n < oldGB {
			return invalidParam("diskSizeGB", "Disk size can only be increased: the disk is %d GB and %d GB was requested.", oldGB, n)
		}
		merged := copyMap(req.Existing.Body)
		merge(merged, body)
		clear(body)
		for k, v := range merged {
			body[k] = v
		}
		if n, ok := num(obj(body, "properties")["diskSizeGB"]); ok {
			obj(body, "properties")["diskSizeBytes"] = n << 30
		}
		return nil
	}
	props := ensure(body, "properties")
	loc, _ := tx.Location(str(body, "location"))
	skuName := str(obj(body, "sku"), "name")
	if skuName == "" {
		skuName = "Standard_LRS"
	}
	sku, ok := lookupDiskSKU(skuName)
	if !ok {
		return invalidParam("sku.name", "The value '%s' of parameter 'sku.name' is not valid.", skuName)
	}
	zones := stringList(body["zones"])
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
	creation := obj(props, "creationData")
	if creation == nil {
		return missingParam("creationData")
	}
	sizeGB, hasSize := num(props["diskSizeGB"])
	switch opt := str(creation, "createOption"); strings.ToLower(opt) {
	case "empty":
		if !hasSize || sizeGB <= 0 {
			return missingParam("diskSizeGB")
		}
	case "fromimage":
		id := str(obj(creation, "imageReference"), "id")
		if id == "" {
			return missingParam("creationData.imageReference.id")
		}
		if !hasSize {
			sizeGB = 30
			if img := tx.Get(id); img != nil && strings.EqualFold(img.Type, TypeImage) {
				if n, ok := num(obj(img.Body, "properties", "storageProfile", "osDisk")["diskSizeGB"]); ok && n > 0 {
					sizeGB = n
				}
			}
		}
	case "copy":
		src := str(creation, "sourceResourceId")
		d := tx.Get(src)
		if d == nil {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", src)
		}
		if !hasSize {
			sizeGB, _ = num(obj(d.Body, "properties")["diskSizeGB"])
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
	completeDisk(body, sku, sizeGB, newRand(tx.Seed()), time.Now().UTC().Format(time.RFC3339Nano))
	return nil
}

// checkDeleteDisk refuses deleting an attached disk.
func checkDeleteDisk(_ arm.Tx, r *arm.Resource) *arm.Error {
	if by := str(r.Body, "managedBy"); by != "" {
		return arm.Errorf(http.StatusConflict, "OperationNotAllowed", "Disk %s is attached to VM %s.", r.Name(), by)
	}
	return nil
}
