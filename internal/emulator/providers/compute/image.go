package compute

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// typeStorageAccount is the type whose blob endpoints may hold an image's VHD.
const typeStorageAccount = "Microsoft.Storage/storageAccounts"

func imageType() arm.ResourceType {
	return arm.ResourceType{
		Type:    TypeImage,
		Name:    diskNameRule, // images follow the disks' naming rule
		Located: true,
		// "image.create" is the latency-model entry: Azure takes tens of seconds to import a VHD.
		Create:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusCreated, Operation: "image.create"},
		Update:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK},
		Delete:    arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "image.delete"},
		PatchTags: true,
		Prepare:   prepareImage,
	}
}

// blobAccount returns the storage account of this subscription whose blob endpoint the URI
// points into, or nil. The emulator's ARM engine cannot see blobs, so an image only checks
// that the URI is an https URL into an existing account's blob endpoint.
func blobAccount(tx arm.Tx, subscription, uri string) *arm.Resource {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	lower := strings.ToLower(uri)
	for _, acct := range tx.List("/subscriptions/"+subscription, typeStorageAccount) {
		eps := []string{tx.BlobEndpoint(acct.Name()), jsonmap.Str(jsonmap.Obj(acct.Body, "properties", "primaryEndpoints"), "blob")}
		for _, ep := range eps {
			if ep != "" && strings.HasPrefix(lower, strings.ToLower(ep)) && len(uri) > len(ep) {
				return acct
			}
		}
	}
	return nil
}

// prepareImage validates and completes an image PUT (from a VHD blob, a managed disk or a VM).
func prepareImage(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	body := req.Body
	if req.Existing != nil {
		jsonmap.Underlay(body, req.Existing.Body)
		return nil
	}
	props := jsonmap.Ensure(body, "properties")
	if src := jsonmap.Str(jsonmap.Obj(props, "sourceVirtualMachine"), "id"); src != "" {
		vm := tx.Get(src)
		if vm == nil || !strings.EqualFold(vm.Type, TypeVirtualMachine) {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", src)
		}
		if jsonmap.Str(props, "hyperVGeneration") == "" {
			props["hyperVGeneration"] = "V1"
		}
		return nil
	}
	osDisk := jsonmap.Obj(props, "storageProfile", "osDisk")
	if osDisk == nil {
		return missingParam("storageProfile.osDisk")
	}
	osType := jsonmap.Str(osDisk, "osType")
	if !strings.EqualFold(osType, "Linux") && !strings.EqualFold(osType, "Windows") {
		return missingParam("osDisk.osType")
	}
	state := jsonmap.Str(osDisk, "osState")
	if !strings.EqualFold(state, "Generalized") && !strings.EqualFold(state, "Specialized") {
		return missingParam("osDisk.osState")
	}
	switch {
	case jsonmap.Str(osDisk, "blobUri") != "":
		uri := jsonmap.Str(osDisk, "blobUri")
		if blobAccount(tx, req.ID.Subscription, uri) == nil {
			return invalidParam("osDisk.blobUri",
				"The blob URI %s is not a blob in a storage account of subscription %s: the image source must be a blob of an existing storage account.", uri, req.ID.Subscription)
		}
	case jsonmap.Str(jsonmap.Obj(osDisk, "managedDisk"), "id") != "":
		id := jsonmap.Str(jsonmap.Obj(osDisk, "managedDisk"), "id")
		d := tx.Get(id)
		if d == nil || !strings.EqualFold(d.Type, TypeDisk) {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Disk %s not found.", id)
		}
		if _, ok := osDisk["diskSizeGB"]; !ok {
			osDisk["diskSizeGB"] = jsonmap.Obj(d.Body, "properties")["diskSizeGB"]
		}
	case jsonmap.Str(jsonmap.Obj(osDisk, "snapshot"), "id") != "":
		id := jsonmap.Str(jsonmap.Obj(osDisk, "snapshot"), "id")
		if tx.Get(id) == nil {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", id)
		}
	default:
		return invalidParam("osDisk", "One of blobUri, managedDisk or snapshot must be specified for the OS disk of an image.")
	}
	if _, ok := osDisk["diskSizeGB"]; !ok {
		osDisk["diskSizeGB"] = 30 // the VHD is not visible to the ARM engine; 30 GB like a marketplace Linux image
	}
	if jsonmap.Str(osDisk, "caching") == "" {
		osDisk["caching"] = "ReadWrite"
	}
	storage := jsonmap.Obj(props, "storageProfile")
	if jsonmap.List(storage, "dataDisks") == nil {
		storage["dataDisks"] = []any{}
	}
	if _, ok := storage["zoneResilient"]; !ok {
		storage["zoneResilient"] = false
	}
	if jsonmap.Str(props, "hyperVGeneration") == "" {
		props["hyperVGeneration"] = "V1"
	}
	return nil
}
