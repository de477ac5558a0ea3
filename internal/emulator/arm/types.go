// Package arm is the emulator's Azure Resource Manager engine: routing by resource ID (case
// insensitive), the resource store, naming and tag rules, ETags, long-running operations,
// throttling, fault injection, request counters and persistence. Resource types are plugged in
// with Register; the engine knows nothing of networks, VMs or storage.
//
// This file is the contract between the engine and the resource-type packages
// (internal/emulator/providers/...). Change it only with care: several packages build on it.
package arm

import (
	"net/http"
	"regexp"
)

// Resource is one ARM resource as the emulator keeps it.
type Resource struct {
	// ID is the resource ID with the casing its creator used, e.g.
	// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{n}.
	ID string
	// Type is the full type, e.g. Microsoft.Network/virtualNetworks/subnets.
	Type string
	// Body is the resource as GET returns it: id, name, type, location, tags, properties, and
	// whatever else the type keeps (sku, zones, kind, identity, etag...). The engine owns id,
	// name, type, etag and properties.provisioningState; a type's hooks own the rest.
	Body map[string]any
}

// Name returns the last segment of the resource ID.
func (r *Resource) Name() string { return ParseID(r.ID).Name }

// Properties returns Body["properties"], creating it when absent.
func (r *Resource) Properties() map[string]any {
	p, ok := r.Body["properties"].(map[string]any)
	if !ok {
		p = map[string]any{}
		r.Body["properties"] = p
	}
	return p
}

// LROMode is how a write completes.
type LROMode int

// The long-running operation styles of Azure's resource providers.
const (
	// Sync: the answer is final (200/201 for PUT, 200/204 for DELETE).
	Sync LROMode = iota
	// AsyncOperation: 201/200 (PUT) or 202 (DELETE) with an Azure-AsyncOperation header whose
	// operation URL reports InProgress, then Succeeded or Failed (network, compute, AKS).
	AsyncOperation
	// Location: 202 with a Location header that answers 202 while running and then 200 with
	// the resource (PUT; storage accounts) or 200/204 (DELETE; resource groups, AKS).
	Location
)

// LRO says how one write of a type completes.
type LRO struct {
	Mode LROMode
	// Status is the initial status code: for a PUT that creates, 201 or 200 (Location mode:
	// 202); for a DELETE, 200, 202 or 204. Zero picks the usual one for the mode.
	Status int
	// Operation names the latency-model entry that times this write, e.g. "vm.create".
	// Empty uses "<type>.create", "<type>.update" or "<type>.delete".
	Operation string
}

// NameRule is Azure's naming rule of a type.
type NameRule struct {
	Min, Max int
	// Pattern the whole name must match.
	Pattern *regexp.Regexp
	// Code is the error code of a broken rule: InvalidResourceName (default),
	// AccountNameInvalid (storage accounts), ...
	Code string
	// Describe is the rule in words, appended to the message, e.g. "The name can be up to 80
	// characters long. It must begin with a word character, and it must end with a word
	// character or with '_'. The name may contain word characters or '.', '-', '_'."
	Describe string
	// ReservedWords applies Azure's reserved-word check (ReservedResourceName) to names that
	// become public DNS labels.
	ReservedWords bool
}

// TagRule limits a type's tags. Zero values mean Azure's defaults: 50 tags, names of 512
// characters, values of 256.
type TagRule struct {
	MaxTags, MaxNameLength, MaxValueLength int
}

// Scope is where a type's resources live.
type Scope int

// Scopes.
const (
	// ResourceGroupScope: /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}...
	ResourceGroupScope Scope = iota
	// SubscriptionScope: /subscriptions/{s}/resourceGroups/{name} (resource groups themselves).
	SubscriptionScope
)

// ResourceType describes one resource type the emulator serves. For a child type
// (virtualNetworks/subnets) the parent must exist, or the engine answers 404
// ParentResourceNotFound; deleting a parent deletes its children; every collection is listable.
type ResourceType struct {
	// Type is the full type, e.g. Microsoft.Network/virtualNetworks or
	// Microsoft.Network/virtualNetworks/subnets.
	Type  string
	Scope Scope
	Name  NameRule
	Tags  TagRule
	// GloballyUnique names are unique across the whole emulated cloud, not only the resource
	// group (storage accounts): a taken name gets the code GlobalNameTakenCode.
	GloballyUnique      bool
	GlobalNameTakenCode string
	// ETag: the engine keeps an etag, returns it, and honours If-Match / If-None-Match.
	ETag bool
	// Located types need a location in the body that the subscription offers (children inherit
	// their parent's and need none).
	Located bool
	// Create, Update and Delete say how each write completes.
	Create, Update, Delete LRO
	// PatchTags: PATCH with {"tags": {...}} replaces the tags (the Tags operation of most types).
	PatchTags bool

	// Prepare checks and completes the body of a PUT before it is stored: references, address
	// ranges, zones and sizes, defaults and read-only properties. existing is nil on create.
	// It runs under the cloud's lock and may read other resources through tx, and may write
	// others (e.g. a VNet's inline subnets become child resources). Returning an error refuses
	// the PUT and changes nothing.
	Prepare func(tx Tx, req *PutRequest) *Error
	// CheckDelete refuses deleting a resource still in use (InUseSubnetCannotBeDeleted...).
	CheckDelete func(tx Tx, r *Resource) *Error
	// AfterDelete runs once a delete completed, e.g. to drop back-references in other resources.
	AfterDelete func(tx Tx, r *Resource)
	// Actions are the POST operations on one resource: /{id}/{action} (listKeys,
	// listClusterAdminCredential...).
	Actions map[string]Action
	// Render, when set, adjusts the body a GET or list returns (computed properties such as a
	// VNet's inline subnets). It must not change r.
	Render func(tx Tx, r *Resource) map[string]any
}

// PutRequest is a PUT of one resource.
type PutRequest struct {
	ID ID
	// Body is the request body, to be completed by Prepare; the engine then stores it (after
	// setting id, name, type, etag and provisioningState).
	Body map[string]any
	// Existing is the stored resource on update, nil on create.
	Existing *Resource
	// Header is the request's header (If-Match and the like are handled by the engine).
	Header http.Header
}

// Action is a POST operation on a resource. It returns the status and the JSON body to send.
type Action func(tx Tx, r *Resource, body map[string]any) (int, any, *Error)

// Route is an extra ARM endpoint that is not a resource: a subscription-level collection or
// operation such as GET /subscriptions/{s}/providers/Microsoft.Compute/skus or POST
// .../Microsoft.Storage/checkNameAvailability. Pattern is matched case-insensitively against
// the path with "{name}" segments captured into Request.Params.
type Route struct {
	Method  string
	Pattern string
	Handle  func(tx Tx, req *RouteRequest) (int, any, *Error)
	// ReadOnly marks a route that reads only although it is not a GET (a POST query such as
	// Resource Graph's): it does not advance the sequence that seeds generated values.
	ReadOnly bool
}

// RouteRequest is a call to a Route.
type RouteRequest struct {
	Params map[string]string
	Query  map[string][]string
	Body   map[string]any
	// Tenant is the caller's tenant ID (empty when the engine authenticates no one).
	Tenant string
	// Principal is the caller (zero when the engine authenticates no one).
	Principal Principal
	// Header is the answer's header, for routes that add their own (quota headers); it is
	// sent with errors too.
	Header http.Header
}

// Tx is the view of the cloud a hook gets, under the engine's lock.
type Tx interface {
	// Get returns the resource with the ID (any casing), or nil.
	Get(id string) *Resource
	// List returns the direct children of parentID of the given full type (e.g. all subnets
	// of a VNet, all VNets of a resource group), in creation order. An empty parentID with a
	// subscription-scoped ID prefix lists across the subscription.
	List(scopeID, typ string) []*Resource
	// Put stores a resource as is (for side effects such as inline children); the engine sets
	// id, name and type from the ID, and keeps provisioningState Succeeded.
	Put(r *Resource)
	// Delete removes a resource and its children at once, with no checks.
	Delete(id string)
	// Location returns a location the emulator offers (any casing), or false.
	Location(name string) (LocationInfo, bool)
	// BlobEndpoint is the base URL of the blob service for a storage account, ending with "/".
	BlobEndpoint(account string) string
	// Seed returns a deterministic random source for this request (from the emulator's seed).
	Seed() uint64
}

// Viewer is implemented by a Tx that can show resources without copying them, for a hook that
// only reads many of them (the IP configurations of every NIC of a subscription, when one NIC
// is written).
type Viewer interface {
	// View calls fn with each resource List(scopeID, typ) returns, in no particular order and
	// not copied: fn must neither change a resource nor keep it.
	View(scopeID, typ string, fn func(*Resource))
}

// Memoizer is implemented by a Tx whose view does not change while it lives (the render of the
// whole cloud for a Resource Graph query): a hook may keep what it derives from the cloud
// (an index of every NIC's IP configurations, say) for the other renders of that Tx, under a
// key that names what it computed and from which scope.
type Memoizer interface {
	// Memo returns what compute returned the first time it was called for key in this Tx.
	Memo(key string, compute func() any) any
}

// LocationInfo is one Azure region as the emulator offers it.
type LocationInfo struct {
	Name        string   // westeurope
	DisplayName string   // West Europe
	Zones       []string // "1", "2", "3", or none
}

// Error is an ARM error answer: {"error": {"code", "message", "target", "details"}}.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []*Error
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: sprintf(format, args...)}
}
