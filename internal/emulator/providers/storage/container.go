package storage

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// containerChars is the blob container alphabet: lowercase letters, digits and single
// hyphens between them.
var containerChars = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// specialContainers are the names Azure reserves for the root, static website and logs.
var specialContainers = map[string]bool{"$root": true, "$web": true, "$logs": true}

// checkContainerName applies the blob container naming rule with the storage RP's answers.
func checkContainerName(name string) *arm.Error {
	if specialContainers[name] {
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return arm.Errorf(http.StatusBadRequest, "ContainerOperationFailure", "The specified resource name length is not within the permissible limits.")
	}
	if !containerChars.MatchString(name) {
		// Azure's message has this typo.
		return arm.Errorf(http.StatusBadRequest, "ContainerOperationFailure", "The specifed resource name contains invalid characters.")
	}
	return nil
}

// blobServiceNameRule: an account has one blob service, named "default".
var blobServiceNameRule = arm.NameRule{
	Min: 7, Max: 7, Pattern: regexp.MustCompile(`^default$`),
	Describe: "The name of a blob service must be 'default'.",
}

func blobServiceType() arm.ResourceType {
	return arm.ResourceType{
		Type:    TypeBlobService,
		Name:    blobServiceNameRule,
		Create:  arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Update:  arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Delete:  arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Prepare: prepareBlobService,
	}
}

// defaultBlobService is the blob service an account starts with.
func defaultBlobService(account map[string]any) map[string]any {
	return map[string]any{
		"sku": jsonmap.CopyMap(jsonmap.Obj(account, "sku")),
		"properties": map[string]any{
			"cors":                  map[string]any{"corsRules": []any{}},
			"deleteRetentionPolicy": map[string]any{"enabled": false, "allowPermanentDelete": false},
		},
	}
}

// prepareBlobService keeps the blob service's defaults under what a PUT sets.
func prepareBlobService(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	base := defaultBlobService(nil)
	if acct := tx.Get(req.ID.Parent()); acct != nil {
		base = defaultBlobService(acct.Body)
	}
	if req.Existing != nil {
		base = req.Existing.Body
	}
	jsonmap.Underlay(req.Body, base)
	return nil
}

func containerType(blobs BlobAccounts) arm.ResourceType {
	return arm.ResourceType{
		Type: TypeContainer,
		// The container rule (ContainerOperationFailure) is applied by Prepare; the engine
		// only refuses what no name may hold.
		Name:        arm.NameRule{},
		ETag:        true,
		PatchTags:   true, // BlobContainers.Update is a PATCH of the properties
		Create:      arm.LRO{Mode: arm.Sync, Status: http.StatusCreated},
		Update:      arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Delete:      arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Prepare:     func(tx arm.Tx, req *arm.PutRequest) *arm.Error { return prepareContainer(tx, req, blobs) },
		AfterDelete: func(_ arm.Tx, r *arm.Resource) { _ = blobs.DeleteContainer(accountOf(r.ID), r.Name()) },
	}
}

// accountOf returns the account name in a container's ID.
func accountOf(containerID string) string {
	id := arm.ParseID(containerID)
	if len(id.Names) == 0 {
		return ""
	}
	return id.Names[0]
}

// prepareContainer validates and completes a blob container PUT and creates the container
// on the blob service.
func prepareContainer(tx arm.Tx, req *arm.PutRequest, blobs BlobAccounts) *arm.Error {
	name := req.ID.Name
	if err := checkContainerName(name); err != nil {
		return err
	}
	acct := tx.Get(arm.ParseID(req.ID.Parent()).Parent())
	if acct == nil {
		return arm.Errorf(http.StatusNotFound, "ParentResourceNotFound",
			"Can not perform requested operation on nested resource. Parent resource '%s' not found.", accountOf(req.ID.String()))
	}
	if st := jsonmap.Str(jsonmap.Obj(acct.Body, "properties"), "provisioningState"); st != "" && !strings.EqualFold(st, "Succeeded") {
		return arm.Errorf(http.StatusConflict, "StorageAccountIsNotProvisioned",
			"The storage account provisioning state must be 'Succeeded' before executing the operation.")
	}
	props := jsonmap.Ensure(req.Body, "properties")
	if req.Existing != nil {
		jsonmap.Underlay(props, jsonmap.Obj(req.Existing.Body, "properties"))
	}
	access := jsonmap.Str(props, "publicAccess")
	switch {
	case access == "", strings.EqualFold(access, "None"):
		props["publicAccess"] = "None"
	case strings.EqualFold(access, "Blob"), strings.EqualFold(access, "Container"):
		if !jsonmap.Bool(jsonmap.Obj(acct.Body, "properties"), "allowBlobPublicAccess", false) {
			return arm.Errorf(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
		}
		props["publicAccess"] = strings.ToUpper(access[:1]) + strings.ToLower(access[1:])
	default:
		return arm.Errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters",
			"Values for request parameters are invalid: publicAccess. Allowed values are None, Blob and Container.")
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	defaults := map[string]any{
		"leaseStatus": "Unlocked", "leaseState": "Available", "hasImmutabilityPolicy": false,
		"hasLegalHold": false, "defaultEncryptionScope": "$account-encryption-key",
		"denyEncryptionScopeOverride": false, "deleted": false, "remainingRetentionDays": 0,
	}
	for k, v := range defaults {
		if _, ok := props[k]; !ok {
			props[k] = v
		}
	}
	props["lastModifiedTime"] = now
	if req.Existing == nil {
		if err := blobs.CreateContainer(acct.Name(), name); err != nil {
			return arm.Errorf(http.StatusConflict, "ContainerOperationFailure", "Creating container %s on the blob service: %v", name, err)
		}
	}
	return nil
}
