package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// The store keeps the references between objects and refuses, in the transaction of the write,
// what would break them; this file turns its refusals into the answers validation and the
// in-use check give.

// writeRefused maps the store's refusal of a write of obj to its answer: 422 Invalid for a
// reference to an object that does not exist or is being deleted, 409 InUse for the deletion
// of an object others refer to. It returns nil for any other error.
func writeRefused(obj v1alpha1.Object, err error) *apiError {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	var re *store.ReferenceError
	if errors.As(err, &re) {
		errs := referenceErrors(obj, re)
		return &apiError{code: http.StatusUnprocessableEntity, reason: ReasonInvalid,
			message: fmt.Sprintf("%s %q is invalid: %s", kind, key, countErrors(len(errs))),
			errors:  errs}
	}
	var ie *store.InUseError
	if errors.As(err, &ie) && ie.SpecFrozen {
		return profileInUse(kind, key, ie.Referrers)
	}
	if errors.As(err, &ie) {
		return conflict(ReasonInUse, "%s %q is in use by %s: delete them or change their references first", kind, key, describeRefs(ie.Referrers))
	}
	return nil
}

// referenceErrors lists a not-found error at the field of each broken reference of obj, as
// validation words a reference to an object that does not exist.
func referenceErrors(obj v1alpha1.Object, re *store.ReferenceError) v1alpha1.ErrorList {
	var errs v1alpha1.ErrorList
	for _, r := range re.Missing {
		errs.Add(referenceField(obj, r), v1alpha1.RuleNotFound, "%s %q does not exist", r.Kind, r.Key)
	}
	for _, r := range re.Deleting {
		errs.Add(referenceField(obj, r), v1alpha1.RuleNotFound, "%s %q is being deleted", r.Kind, r.Key)
	}
	return errs
}

// referenceField is the field of obj that holds the reference r (see v1alpha1.References).
func referenceField(obj v1alpha1.Object, r v1alpha1.Ref) v1alpha1.Path {
	switch o := obj.(type) {
	case *v1alpha1.CloudAccount:
		return "spec.gateway"
	case *v1alpha1.Cluster:
		if r.Kind == v1alpha1.KindCloudAccount {
			return "spec.cloudAccount"
		}
		for i, p := range o.Spec.Profiles {
			if v1alpha1.ProfileKey(p.Name, p.Version) == r.Key {
				return v1alpha1.Path("spec.profiles").Index(i)
			}
		}
		return "spec.profiles"
	case *v1alpha1.RoleBinding:
		return bindingField(r)
	case *v1alpha1.APIKey:
		return "spec.user"
	}
	return "spec"
}

// bindingField is the field of a RoleBinding that holds a reference to an object of r's kind.
func bindingField(r v1alpha1.Ref) v1alpha1.Path {
	switch r.Kind {
	case v1alpha1.KindUser:
		return "spec.subject.user"
	case v1alpha1.KindTeam:
		return "spec.subject.team"
	case v1alpha1.KindRole:
		return "spec.role"
	case v1alpha1.KindTagFilter:
		return "spec.filter"
	}
	return "spec"
}

// describeRefs names at most ten objects, as `Kind "key"`.
func describeRefs(refs []v1alpha1.Ref) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = fmt.Sprintf("%s %q", r.Kind, r.Key)
	}
	return describe(names)
}

// describe lists at most ten names.
func describe(names []string) string {
	const shown = 10
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}

// referrers names the objects that refer to kind/key.
func (s *Server) referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	users, err := s.store.Referrers(ctx, kind, key)
	if err != nil {
		return nil, internal(err, "find the users of %s %q", kind, key)
	}
	return users, nil
}

// profileInUse is the answer to a change of the spec of a profile version that clusters pin.
func profileInUse(kind, key string, users []v1alpha1.Ref) *apiError {
	return conflict(ReasonInUse, "%s %q is pinned by %s: the spec of a profile version in use cannot change; publish a new version (a new spec.version) and move the clusters to it", kind, key, describeRefs(users))
}
