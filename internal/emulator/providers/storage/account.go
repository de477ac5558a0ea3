package storage

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// hiddenKey holds an account's keys in its stored body; Render strips it.
const hiddenKey = "_emulator"

// accountNamePattern is the storage account naming rule: 3–24 lowercase letters and digits.
var accountNamePattern = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// accountNameRule makes the engine answer 400 AccountNameInvalid with Azure's message:
// "{n} is not a valid storage account name. Storage account name must be between 3 and 24
// characters in length and use numbers and lower-case letters only."
var accountNameRule = arm.NameRule{
	Min: 3, Max: 24,
	Pattern:  accountNamePattern,
	Code:     "AccountNameInvalid",
	Describe: "Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.",
}

// invalidNameMessage is the message of AccountNameInvalid, shared with checkNameAvailability.
func invalidNameMessage(name string) string {
	return name + " is not a valid storage account name. " + accountNameRule.Describe
}

// takenMessage is the message of StorageAccountAlreadyTaken and of AlreadyExists.
func takenMessage(name string) string {
	return "The storage account named " + name + " is already taken."
}

func accountType(blobs BlobAccounts) arm.ResourceType {
	return arm.ResourceType{
		Type:                TypeAccount,
		Name:                accountNameRule,
		Tags:                arm.TagRule{MaxNameLength: 128},
		GloballyUnique:      true,
		GlobalNameTakenCode: "StorageAccountAlreadyTaken",
		Located:             true,
		// The storage RP answers a create with 202 + Location and an empty body; the
		// Location URL answers 202, then 200 with the account.
		Create:      arm.LRO{Mode: arm.Location, Status: http.StatusAccepted, Operation: "storage.create"},
		Update:      arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		Delete:      arm.LRO{Mode: arm.Sync, Status: http.StatusOK},
		PatchTags:   true,
		Prepare:     func(tx arm.Tx, req *arm.PutRequest) *arm.Error { return prepareAccount(tx, req, blobs) },
		AfterDelete: func(_ arm.Tx, r *arm.Resource) { blobs.DeleteAccount(r.Name()) },
		Render:      renderAccount,
		Actions: map[string]arm.Action{
			"listKeys": listKeys,
			"regenerateKey": func(tx arm.Tx, r *arm.Resource, body map[string]any) (int, any, *arm.Error) {
				return regenerateKey(tx, r, body, blobs)
			},
		},
	}
}

// newKey draws one account key: base64 of 64 bytes from the request's random source, mixed
// with the account name and the key's name, so that keys depend on the emulator seed.
func newKey(seed uint64, account, keyName string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(account) + "/" + keyName))
	r := arm.NewRand(seed^h.Sum64(), 0x73746f72616765)
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// keysOf returns an account's two keys.
func keysOf(r *arm.Resource) [2]string {
	h := jsonmap.Obj(r.Body, hiddenKey)
	return [2]string{jsonmap.Str(h, "key1"), jsonmap.Str(h, "key2")}
}

// findAccount returns the storage account named name anywhere in the emulated cloud
// (scope "" lists everything), other than self.
func findAccount(tx arm.Tx, scope, name, self string) *arm.Resource {
	for _, a := range tx.List(scope, TypeAccount) {
		if strings.EqualFold(a.Name(), name) && !strings.EqualFold(a.ID, self) {
			return a
		}
	}
	return nil
}

// prepareAccount validates and completes a storage account PUT.
func prepareAccount(tx arm.Tx, req *arm.PutRequest, blobs BlobAccounts) *arm.Error {
	body := req.Body
	id := req.ID
	name := id.Name
	if req.Existing != nil {
		// (The engine refuses a change of location with InvalidResourceLocation.)
		// An update keeps what the request leaves out (the RP's create-or-update semantics).
		jsonmap.Underlay(body, req.Existing.Body)
		// Read-only properties a GET-modify-PUT sends back stay as they were.
		oldProps, props := jsonmap.Obj(req.Existing.Body, "properties"), jsonmap.Ensure(body, "properties")
		for _, k := range []string{"primaryEndpoints", "primaryLocation", "statusOfPrimary", "creationTime", "keyCreationTime"} {
			if v, ok := oldProps[k]; ok {
				props[k] = jsonmap.DeepCopy(v)
			}
		}
		if err := checkNetwork(tx, props); err != nil {
			return err
		}
		completeAccount(body)
		return nil
	}
	if err := checkNetwork(tx, jsonmap.Ensure(body, "properties")); err != nil {
		return err
	}
	if other := findAccount(tx, "/subscriptions/"+id.Subscription, name, id.String()); other != nil {
		return arm.Errorf(http.StatusConflict, "StorageAccountInAnotherResourceGroup",
			"The account %s is already in another resource group in this subscription.", name)
	}
	if other := findAccount(tx, "", name, id.String()); other != nil {
		return arm.Errorf(http.StatusConflict, "StorageAccountAlreadyTaken", "%s", takenMessage(name))
	}
	loc, _ := tx.Location(jsonmap.Str(body, "location"))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	seed := tx.Seed()
	keys := [2]string{newKey(seed, name, "key1"), newKey(seed, name, "key2")}
	body[hiddenKey] = map[string]any{"key1": keys[0], "key2": keys[1]}

	props := jsonmap.Ensure(body, "properties")
	props["primaryEndpoints"] = map[string]any{"blob": tx.BlobEndpoint(name)}
	props["primaryLocation"] = loc.Name
	props["statusOfPrimary"] = "available"
	props["creationTime"] = now
	props["keyCreationTime"] = map[string]any{"key1": now, "key2": now}
	completeAccount(body)

	blobServiceID := id.Child("blobServices", "default").String()
	tx.Put(&arm.Resource{ID: blobServiceID, Type: TypeBlobService, Body: defaultBlobService(body)})
	blobs.CreateAccount(name, keys)
	return nil
}

// completeAccount defaults the SKU, the kind and the properties Azure fills in.
func completeAccount(body map[string]any) {
	sku := jsonmap.Ensure(body, "sku")
	if jsonmap.Str(sku, "name") == "" {
		sku["name"] = "Standard_LRS"
	}
	sku["tier"] = "Standard"
	if strings.HasPrefix(strings.ToLower(jsonmap.Str(sku, "name")), "premium") {
		sku["tier"] = "Premium"
	}
	if jsonmap.Str(body, "kind") == "" {
		body["kind"] = "StorageV2"
	}
	props := jsonmap.Ensure(body, "properties")
	defaults := map[string]any{
		"supportsHttpsTrafficOnly": true,
		"minimumTlsVersion":        "TLS1_2",
		"allowBlobPublicAccess":    false,
		"isHnsEnabled":             false,
		"networkAcls": map[string]any{"bypass": "AzureServices", "virtualNetworkRules": []any{},
			"ipRules": []any{}, "defaultAction": "Allow"},
		"encryption": map[string]any{"keySource": "Microsoft.Storage", "services": map[string]any{
			"blob": map[string]any{"enabled": true, "keyType": "Account"},
			"file": map[string]any{"enabled": true, "keyType": "Account"},
		}},
	}
	switch k := jsonmap.Str(body, "kind"); k {
	case "StorageV2", "BlobStorage":
		defaults["accessTier"] = "Hot"
	}
	for k, v := range defaults {
		if _, ok := props[k]; !ok {
			props[k] = v
		}
	}
}

// renderAccount hides the keys and shows the private endpoint connections.
func renderAccount(tx arm.Tx, r *arm.Resource) map[string]any {
	b := jsonmap.CopyMap(r.Body)
	delete(b, hiddenKey)
	jsonmap.Ensure(b, "properties")["privateEndpointConnections"] = privateEndpointConnections(tx, r.ID)
	return b
}

// keyList is the answer of listKeys and regenerateKey.
func keyList(r *arm.Resource) map[string]any {
	keys := keysOf(r)
	created := jsonmap.Obj(r.Body, "properties", "keyCreationTime")
	out := []any{}
	for i, k := range keys {
		n := fmt.Sprintf("key%d", i+1)
		out = append(out, map[string]any{"keyName": n, "value": k, "permissions": "FULL", "creationTime": jsonmap.Str(created, n)})
	}
	return map[string]any{"keys": out}
}

// listKeys answers POST .../storageAccounts/{n}/listKeys.
func listKeys(_ arm.Tx, r *arm.Resource, _ map[string]any) (int, any, *arm.Error) {
	if st := jsonmap.Str(jsonmap.Obj(r.Body, "properties"), "provisioningState"); st != "" && !strings.EqualFold(st, "Succeeded") {
		return 0, nil, arm.Errorf(http.StatusConflict, "StorageAccountIsNotProvisioned",
			"The storage account provisioning state must be 'Succeeded' before executing the operation.")
	}
	return http.StatusOK, keyList(r), nil
}

// regenerateKey answers POST .../storageAccounts/{n}/regenerateKey with {"keyName": "key1"}.
func regenerateKey(tx arm.Tx, r *arm.Resource, body map[string]any, blobs BlobAccounts) (int, any, *arm.Error) {
	keyName := strings.ToLower(jsonmap.Str(body, "keyName"))
	if keyName != "key1" && keyName != "key2" {
		return 0, nil, arm.Errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters",
			"Values for request parameters are invalid: keyName. Allowed values are key1 and key2.")
	}
	c := &arm.Resource{ID: r.ID, Type: r.Type, Body: jsonmap.CopyMap(r.Body)}
	jsonmap.Ensure(c.Body, hiddenKey)[keyName] = newKey(tx.Seed(), r.Name(), keyName)
	jsonmap.Ensure(jsonmap.Ensure(c.Body, "properties"), "keyCreationTime")[keyName] = time.Now().UTC().Format(time.RFC3339Nano)
	tx.Put(c)
	blobs.CreateAccount(c.Name(), keysOf(c))
	return http.StatusOK, keyList(c), nil
}

// checkNameAvailability answers POST /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability.
func checkNameAvailability(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	name := jsonmap.Str(req.Body, "name")
	if t := jsonmap.Str(req.Body, "type"); t != "" && !strings.EqualFold(t, TypeAccount) {
		return 0, nil, arm.Errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters",
			"Values for request parameters are invalid: type. The only supported type is %s.", TypeAccount)
	}
	switch {
	case !accountNamePattern.MatchString(name):
		return http.StatusOK, map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid", "message": invalidNameMessage(name)}, nil
	case findAccount(tx, "", name, "") != nil:
		return http.StatusOK, map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": takenMessage(name)}, nil
	}
	return http.StatusOK, map[string]any{"nameAvailable": true}, nil
}
