// Package storage serves the emulator's Microsoft.Storage resource types: storage accounts
// (with listKeys, regenerateKey and checkNameAvailability), their blob service and blob
// containers. Accounts and containers created or deleted through ARM are mirrored on the
// emulator's blob data plane through BlobAccounts.
package storage

import (
	"net/http"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// The resource types of this package.
const (
	TypeAccount     = "Microsoft.Storage/storageAccounts"
	TypeBlobService = "Microsoft.Storage/storageAccounts/blobServices"
	TypeContainer   = "Microsoft.Storage/storageAccounts/blobServices/containers"
)

// BlobAccounts is the blob data plane as the storage resource types drive it. The emulator's
// blob service implements it; CreateAccount also replaces the keys of an existing account
// (regenerateKey), and CreateContainer succeeds when the container already exists.
type BlobAccounts interface {
	CreateAccount(name string, keys [2]string)
	DeleteAccount(name string)
	CreateContainer(account, name string) error
	DeleteContainer(account, name string) error
}

// noBlobs is used when no blob service is wired: ARM state only.
type noBlobs struct{}

func (noBlobs) CreateAccount(string, [2]string)      {}
func (noBlobs) DeleteAccount(string)                 {}
func (noBlobs) CreateContainer(string, string) error { return nil }
func (noBlobs) DeleteContainer(string, string) error { return nil }

// Types returns the Microsoft.Storage resource types; blobs may be nil (no data plane).
func Types(blobs BlobAccounts) []arm.ResourceType {
	if blobs == nil {
		blobs = noBlobs{}
	}
	return []arm.ResourceType{accountType(blobs), blobServiceType(), containerType(blobs)}
}

// Routes returns the Microsoft.Storage endpoints that are not resources:
// checkNameAvailability.
func Routes(BlobAccounts) []arm.Route {
	return []arm.Route{
		{Method: http.MethodPost, Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability", Handle: checkNameAvailability},
	}
}
