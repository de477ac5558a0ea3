package v1alpha1

import (
	"context"
	"errors"
)

// ErrNotFound is returned by a Resolver when the object does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnresolvable is returned by a Resolver that cannot tell whether the object exists, such as
// the offline validator for an object that is not in the files it was given. Validation then
// skips the checks that need that object.
var ErrUnresolvable = errors.New("cannot be resolved here")

// Resolver finds the objects that another object refers to. Key is the object's Key: a name, or
// "name@version" for a ClusterProfile.
type Resolver interface {
	Lookup(ctx context.Context, kind, key string) (Object, error)
}

// Ref is a reference from one object to another.
type Ref struct {
	Kind string
	Key  string
}

// References lists the objects obj refers to: a Cluster's cloud account and profile versions, a
// CloudAccount's gateway, a RoleBinding's user or team, role (unless built in) and filter, an
// APIKey's user. The server refuses to delete an object that any other refers to.
func References(obj Object) []Ref {
	switch o := obj.(type) {
	case *CloudAccount:
		if o.Spec.Gateway != "" {
			return []Ref{{Kind: KindPrivateCloudGateway, Key: o.Spec.Gateway}}
		}
	case *Cluster:
		refs := []Ref{{Kind: KindCloudAccount, Key: o.Spec.CloudAccount}}
		for _, p := range o.Spec.Profiles {
			refs = append(refs, Ref{Kind: KindClusterProfile, Key: ProfileKey(p.Name, p.Version)})
		}
		return refs
	case *RoleBinding:
		return bindingRefs(o)
	case *APIKey:
		if o.Spec.User != "" {
			return []Ref{{Kind: KindUser, Key: o.Spec.User}}
		}
	}
	return nil
}
