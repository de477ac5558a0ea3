package v1alpha1

import (
	"context"
	"reflect"
)

// Validate checks every rule of a new object (after Default) and returns all broken rules at
// once, each with its field path. With a non-nil Resolver it also checks that the objects it
// refers to exist and fit; a nil Resolver skips those checks.
func Validate(ctx context.Context, obj Object, r Resolver) ErrorList {
	return validate(ctx, obj, r, nil)
}

// ValidateUpdate checks a replacement of old by obj: every rule of Validate, plus the fields that
// cannot change after creation. old is the stored object, secret included, so that an update
// may leave the client secret out to keep it. The Resolver also serves the profiles old pinned,
// to compare the managed control plane before and after.
func ValidateUpdate(ctx context.Context, old, obj Object, r Resolver) ErrorList {
	errs := validate(ctx, obj, r, old)
	if o, ok := obj.(*Cluster); ok {
		if prev, ok := old.(*Cluster); ok {
			validateClusterUpdate(ctx, prev, o, r, &errs)
		}
	}
	return errs
}

func validate(ctx context.Context, obj Object, r Resolver, old Object) ErrorList {
	var errs ErrorList
	validateMeta(obj, &errs)
	switch o := obj.(type) {
	case *CloudAccount:
		prev, _ := old.(*CloudAccount)
		validateCloudAccount(ctx, o, r, prev, &errs)
	case *PrivateCloudGateway:
		validateGateway(o, &errs)
	case *ClusterProfile:
		validateProfile(o, &errs)
	case *Cluster:
		validateCluster(ctx, o, r, &errs)
	}
	return errs
}

// validateClusterUpdate refuses changes to the fields fixed at creation, and the managed
// control plane changes AKS does not allow.
func validateClusterUpdate(ctx context.Context, old, o *Cluster, r Resolver, errs *ErrorList) {
	immutable := func(p Path, before, after any) {
		if !reflect.DeepEqual(before, after) {
			errs.Add(p, RuleImmutable, "cannot change after the cluster is created; create a new cluster instead")
		}
	}
	immutable("spec.cloudAccount", old.Spec.CloudAccount, o.Spec.CloudAccount)
	immutable("spec.azure.type", old.Spec.Azure.Type, o.Spec.Azure.Type)
	immutable("spec.azure.subscriptionID", old.Spec.Azure.SubscriptionID, o.Spec.Azure.SubscriptionID)
	immutable("spec.azure.resourceGroup", old.Spec.Azure.ResourceGroup, o.Spec.Azure.ResourceGroup)
	immutable("spec.azure.location", old.Spec.Azure.Location, o.Spec.Azure.Location)
	immutable("spec.azure.placement", old.Spec.Azure.Placement, o.Spec.Azure.Placement)
	immutable("spec.azure.storage", old.Spec.Azure.Storage, o.Spec.Azure.Storage)
	if o.Spec.Azure.Type != ClusterTypeAKS || r == nil {
		return
	}
	before, _ := EffectiveManagedControlPlane(ctx, old, r)
	after, path := EffectiveManagedControlPlane(ctx, o, r)
	if before == nil || before.AADProfile == nil || !before.AADProfile.Managed {
		return
	}
	if path == "" {
		path = "spec.profiles"
	}
	mp := path.Child("managedControlPlane").Child("aadProfile")
	switch {
	case after == nil || after.AADProfile == nil:
		errs.Add(mp, RuleImmutable, "field cannot be nil, cannot disable AADProfile: Entra ID integration cannot be turned off once on")
	case !after.AADProfile.Managed:
		errs.Add(mp.Child("managed"), RuleImmutable, "cannot set AADProfile.Managed to false: Entra ID integration cannot be turned off once on")
	}
}

// EffectiveManagedControlPlane returns the managedControlPlane of an AKS cluster: its kubernetes
// layer's values with the cluster's overrides merged over them. The path names the overrides of
// that layer. It returns nil when the block is absent, invalid, or its profile cannot be found.
func EffectiveManagedControlPlane(ctx context.Context, c *Cluster, r Resolver) (*ManagedControlPlane, Path) {
	for i, ref := range c.Spec.Profiles {
		obj, err := r.Lookup(ctx, KindClusterProfile, ProfileKey(ref.Name, ref.Version))
		prof, ok := obj.(*ClusterProfile)
		if err != nil || !ok {
			continue
		}
		for _, l := range prof.Spec.Layers {
			if l.Type != LayerKubernetes {
				continue
			}
			path := Path("spec.profiles").Index(i).Child("values").Key(l.Name)
			base, err := ParseValues(l.Values)
			if err != nil {
				return nil, path
			}
			override, err := ParseValues(ref.Values[l.Name])
			if err != nil {
				return nil, path
			}
			var discard ErrorList
			return ParseManagedControlPlane(&discard, path, MergeValues(base, override)), path
		}
	}
	return nil, ""
}
