package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
)

// ownerFacts is what decides whether an existing resource is this cluster's.
type ownerFacts struct {
	// Recorded: the inventory holds the resource as managed.
	Recorded bool
	// Tag is the resource's owner tag (v1alpha1.TagOwner), Tagged whether it has one.
	Tag    string
	Tagged bool
	// Want is this cluster's owner tag value.
	Want string
	// ParentRecorded: the resource lives in (or, for an OS disk, is attached to) a resource
	// the inventory holds as managed. Only for kinds whose ownership follows a parent's.
	ParentRecorded bool
}

// owned decides whether strata may write to an existing resource of a managed node: one it
// created or found to be this cluster's in this cluster's life (the inventory holds it), one
// carrying this cluster's owner tag (made by strata for this cluster, its inventory entry
// lost), or one inside a resource of this cluster (a subnet of its VNet, a container of its
// storage account, a pool of its AKS cluster, the OS disk of its VM). Anything else — no owner
// tag, another cluster's, a child of someone else's resource — is not.
func owned(f ownerFacts) bool {
	switch {
	case f.Recorded:
		return true
	case f.Tagged && f.Want != "" && f.Tag == f.Want:
		return true
	}
	return f.ParentRecorded
}

// claim records n in the inventory once its resource is known to be this cluster's: absent
// (exists false: strata is about to create it), or existing and owned (f; parent is the
// resource whose ownership it follows, if any). An existing resource that is not the
// cluster's is a *ConflictError, and nothing is recorded.
func claim(ctx context.Context, n *plan.Node, inv Inventory, exists bool, f ownerFacts, parent string) error {
	if exists && !owned(f) {
		return conflictOf(n, f, parent)
	}
	if err := inv.Claim(ctx, n); err != nil {
		return fmt.Errorf("azure: %s %s: recording it in the inventory: %w", n.Kind, n.ID, err)
	}
	return nil
}

// parentID is the ID of the resource id is a child of, or "".
func parentID(id *arm.ResourceID) string {
	if id == nil || id.Parent == nil {
		return ""
	}
	return id.Parent.String()
}

// ownerTag returns a resource's owner tag; tag names are case-insensitive.
func ownerTag(tags map[string]*string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, v1alpha1.TagOwner) && v != nil {
			return *v, true
		}
	}
	return "", false
}

// ConflictError says a resource strata would create for a cluster already exists and is not
// the cluster's: strata neither writes nor deletes it, and does not record it.
type ConflictError struct {
	Kind plan.Kind
	ID   string
	// Owner is the resource's owner tag (v1alpha1.TagOwner), when Tagged.
	Owner  string
	Tagged bool
	// Parent, for kinds without tags of their own, is the resource it lives in, which is
	// not this cluster's either.
	Parent string
}

func (e *ConflictError) Error() string {
	why := fmt.Sprintf("it has no %s tag", v1alpha1.TagOwner)
	switch {
	case e.Tagged:
		why = fmt.Sprintf("its %s tag is %q, another owner's", v1alpha1.TagOwner, e.Owner)
	case e.Parent != "":
		why = fmt.Sprintf("it is part of %s, which strata did not create for this cluster", e.Parent)
	}
	return fmt.Sprintf("%s %s already exists and is not this cluster's (%s): strata neither writes nor deletes it (remove or rename it, or give the cluster another name)", e.Kind, e.ID, why)
}

// conflictOf returns the error for a resource that owned refused.
func conflictOf(n *plan.Node, f ownerFacts, parent string) *ConflictError {
	e := &ConflictError{Kind: n.Kind, ID: n.ID, Owner: f.Tag, Tagged: f.Tagged}
	if !f.Tagged {
		e.Parent = parent
	}
	return e
}
