// Package azure is strata's only way to Azure: an SDK client factory built from a CloudAccount
// (credentials, the account's cloud endpoints and CA bundle, a per-subscription rate limiter,
// Retry-After honoured) and one service per plan.Kind that makes a plan node real.
//
// This file is the contract between the services and the reconciler (internal/controller).
package azure

import (
	"context"
	"time"

	"github.com/strata-dev/strata/internal/plan"
)

// ResumeTokens keeps the SDK pollers' resume tokens by node key, so that a restarted reconciler
// resumes polling a long-running operation instead of sending its request again. The reconciler
// persists them in the cluster's inventory.
type ResumeTokens interface {
	// Token returns the node's saved token, or "".
	Token(key string) string
	// SaveToken persists a token (an empty one clears it) before the service waits on the
	// operation.
	SaveToken(ctx context.Context, key, token string) error
}

// Inventory is the reconciler's record of a cluster's Azure resources, which the services
// read and extend: the resume tokens of operations in flight, and which resources strata
// manages for the cluster. Before strata writes to a resource that exists and that the
// inventory does not hold, it checks the resource is this cluster's (see ConflictError).
type Inventory interface {
	ResumeTokens
	// Owner is the value of this cluster's owner tag (v1alpha1.TagOwner): its UID.
	Owner() string
	// Manages reports whether the inventory holds the resource ID (compared
	// case-insensitively) as managed: strata created it, or found it to be this cluster's,
	// in this cluster's life.
	Manages(id string) bool
	// Claim records a managed node in the inventory once it is known to be this cluster's:
	// before the first write to its resource, so that a crash after the write leaves its ID
	// behind for deletion, and when an existing resource was found to be this cluster's.
	Claim(ctx context.Context, n *plan.Node) error
}

// Result is what Apply did.
type Result struct {
	// Wrote is true when a write was sent (or resumed); false when the live resource was
	// already as desired, or the node is adopted.
	Wrote bool
	// Observed is what the read that found nothing to write saw (nil otherwise), so that the
	// caller need not read the resource again to Observe it.
	Observed *Observation
}

// Observation is the live state of a node's resource.
type Observation struct {
	Exists bool
	// UpToDate: the live resource is as the node desires (tags included); for adopted nodes,
	// as Expect describes.
	UpToDate bool
	// Running is set for virtual machines whose power state is running, and AKS clusters and
	// agent pools that run and whose last operation succeeded.
	Running bool
	// ControlPlane is what Azure reports of an AKS cluster's control plane (nil for other
	// kinds).
	ControlPlane *ControlPlaneObservation
	// Address is the IP address Azure assigned to a public IP address (empty for other kinds,
	// and until one is assigned).
	Address string
}

// ControlPlaneObservation is an AKS control plane as Azure reports it.
type ControlPlaneObservation struct {
	KubernetesVersion string // currentKubernetesVersion
	PowerState        string // Running, Stopped
	ProvisioningState string
	FQDN              string
	SKUTier           string
	UpgradeChannel    string
	// EffectiveNoProxy is what the cluster's nodes and pods reach without its HTTP proxy, as
	// AKS computes it (the noProxy strata sent and AKS's additions); empty without a proxy, or
	// when Azure does not report it. Read only: never compared with the plan.
	EffectiveNoProxy []string
}

// Applier makes plan nodes real. Implementations dispatch on Node.Kind.
type Applier interface {
	// Apply reads the live resource, computes the body from desired and existing, sends
	// nothing when it is already right, else creates or updates it and waits for the
	// long-running operation (resuming a saved one). An existing resource that is not this
	// cluster's is a *ConflictError, and nothing is written. Adopted nodes are only
	// verified: a missing resource or a mismatch with Expect is an error naming it.
	Apply(ctx context.Context, n *plan.Node, inv Inventory) (Result, error)
	// Delete removes a managed node's resource and waits until it is gone; an absent
	// resource is not an error, and one that carries another cluster's owner tag is left
	// alone. It refuses adopted nodes.
	Delete(ctx context.Context, n *plan.Node, inv Inventory) error
	// Observe reads the live resource without writing.
	Observe(ctx context.Context, n *plan.Node) (Observation, error)
}

// Estimator is an Applier that can tell how long Azure takes to create a resource of a kind:
// the median of the recent creates it waited for, 0 when it has seen none.
type Estimator interface {
	Estimate(kind plan.Kind) time.Duration
}
