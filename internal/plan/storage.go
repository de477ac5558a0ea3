package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
)

// Generated storage names.
const (
	// storageAccountPrefix starts every generated storage account name; 18 hex digits follow.
	storageAccountPrefix = "strata"
	// DefaultContainer is the container strata creates for the node image's VHD.
	DefaultContainer = "strata-vhds"
)

// StorageAccountName is the generated name of a cluster's storage account: "strata" and the
// first 18 hex digits of the SHA-256 of the subscription, resource group and cluster name (24
// lowercase letters and digits, as Azure requires). Storage account names are global, so the
// hash makes a collision with another account practically impossible, and it never changes.
func StorageAccountName(subscription, resourceGroup, cluster string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(subscription) + "/" + strings.ToLower(resourceGroup) + "/" + cluster))
	return storageAccountPrefix + hex.EncodeToString(sum[:])[:24-len(storageAccountPrefix)]
}

// storageNames are the account, container and blob of the node image's VHD.
type storageNames struct {
	account, container, blob string
	accountAdopted           bool
	containerAdopted         bool
}

func (b *builder) storageNames() storageNames {
	s := storageNames{
		account:   StorageAccountName(b.az.SubscriptionID, b.az.ResourceGroup, b.name()),
		container: DefaultContainer,
		blob:      b.name() + "-os" + generationSuffix(b.in.ImageGeneration) + ".vhd",
	}
	if cs := b.az.Storage; cs != nil {
		s.account, s.accountAdopted = cs.Account, true
		if cs.Container != "" {
			s.container, s.containerAdopted = cs.Container, true
		}
	}
	return s
}

// storage adds the storage account and container (generated, or the user's, adopted), the
// copy of the OS layer's VHD into the container, and the managed image made from the copy.
// The user's account must be in the cluster's resource group.
func (b *builder) storage() error {
	sub, rg, loc := b.az.SubscriptionID, b.az.ResourceGroup, new(b.az.Location)
	s := b.storageNames()
	accountID := resourceID(sub, rg, "Microsoft.Storage", "storageAccounts", s.account)
	if s.accountAdopted {
		b.add(&Node{Key: keyStorageAccount, Kind: KindStorageAccount, ID: accountID,
			DependsOn: []string{keyResourceGroup}, Role: RoleStorage, Expect: existsOnly()})
	} else {
		b.add(&Node{Key: keyStorageAccount, Kind: KindStorageAccount, ID: accountID,
			DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleStorage,
			Spec: armstorage.AccountCreateParameters{
				Kind:     new(armstorage.KindStorageV2),
				Location: loc,
				SKU:      &armstorage.SKU{Name: new(armstorage.SKUNameStandardLRS)},
				Tags:     b.tags(RoleStorage),
				Properties: &armstorage.AccountPropertiesCreateParameters{
					AccessTier:             new(armstorage.AccessTierHot),
					AllowBlobPublicAccess:  new(false),
					EnableHTTPSTrafficOnly: new(true),
					MinimumTLSVersion:      new(armstorage.MinimumTLSVersionTLS12),
				},
			}})
	}
	cID := containerID(sub, rg, s.account, s.container)
	if s.containerAdopted {
		b.add(&Node{Key: keyStorageContainer, Kind: KindBlobContainer, ID: cID,
			DependsOn: []string{keyStorageAccount}, Role: RoleStorage, Expect: existsOnly()})
	} else {
		// Containers have metadata, not tags.
		b.add(&Node{Key: keyStorageContainer, Kind: KindBlobContainer, ID: cID,
			DependsOn: []string{keyStorageAccount}, Managed: true, Role: RoleStorage,
			Spec: armstorage.BlobContainer{
				Name:                new(s.container),
				ContainerProperties: &armstorage.ContainerProperties{PublicAccess: new(armstorage.PublicAccessNone)},
			}})
	}

	source := b.layers.vhdURL
	if source == "" {
		if b.in.Env.ImageBaseURL == "" {
			return fmt.Errorf("the OS layer names the blob %q but the environment has no image base URL", b.layers.vhd)
		}
		source = b.in.Env.ImageBaseURL + b.layers.vhd
	}
	vhdKey, imageKey := imageKeys(b.in.ImageGeneration)
	fingerprint := b.layers.imageFingerprint()
	b.add(&Node{Key: vhdKey, Kind: KindBlobCopy, ID: cID + "/blobs/" + s.blob,
		DependsOn: []string{keyStorageContainer}, Managed: true, Role: RoleStorage, Template: fingerprint,
		Spec: BlobCopy{SourceURL: source, Account: s.account, Container: s.container, Blob: s.blob}})
	b.add(&Node{Key: imageKey, Kind: KindImage, ID: b.imageID(), Template: fingerprint,
		DependsOn: []string{vhdKey}, Managed: true, Role: RoleImage,
		Spec: armcompute.Image{
			Location: loc, Tags: b.tags(RoleImage),
			Properties: &armcompute.ImageProperties{
				HyperVGeneration: new(armcompute.HyperVGenerationTypes(b.layers.hyperVGeneration)),
				StorageProfile: &armcompute.ImageStorageProfile{
					OSDisk: &armcompute.ImageOSDisk{
						OSType:  new(armcompute.OperatingSystemTypesLinux),
						OSState: new(armcompute.OperatingSystemStateTypesGeneralized),
						BlobURI: new(b.in.Env.BlobEndpoint(s.account) + s.container + "/" + s.blob),
						Caching: new(armcompute.CachingTypesReadWrite),
					},
				},
			},
		}})
	return nil
}

// imageID is the ARM ID of the nodes' managed image, of the input's image generation.
func (b *builder) imageID() string {
	return resourceID(b.az.SubscriptionID, b.az.ResourceGroup, "Microsoft.Compute", "images", b.name()+"-os-image"+generationSuffix(b.in.ImageGeneration))
}
