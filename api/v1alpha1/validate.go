package v1alpha1

import "context"

// Validate checks every rule of a new object (after Default) and returns all broken rules at
// once, each with its field path. With a non-nil Resolver it also checks that the objects it
// refers to exist and fit; a nil Resolver skips those checks.
func Validate(ctx context.Context, obj Object, r Resolver) ErrorList {
	var errs ErrorList
	validateMeta(obj, &errs)
	switch o := obj.(type) {
	case *CloudAccount:
		validateCloudAccount(ctx, o, r, &errs)
	case *PrivateCloudGateway:
		validateGateway(o, &errs)
	case *ClusterProfile:
		validateProfile(o, &errs)
	case *Cluster:
		validateCluster(ctx, o, r, &errs)
	}
	return errs
}

// ValidateUpdate checks a replacement of old by obj: every rule of Validate, plus the fields that
// cannot change after creation. The Resolver also serves the profiles old pinned, to compare the
// managed control plane before and after.
func ValidateUpdate(ctx context.Context, old, obj Object, r Resolver) ErrorList {
	errs := Validate(ctx, obj, r)
	validateImmutable(ctx, old, obj, r, &errs)
	return errs
}
