package authz

import (
	"fmt"
	"slices"
	"strconv"
)

// The names of the built-in roles.
const (
	RoleAdmin         = "admin"
	RoleClusterAdmin  = "cluster-admin"
	RoleClusterEditor = "cluster-editor"
	RoleClusterViewer = "cluster-viewer"
	RoleProfileEditor = "profile-editor"
	RoleProfileViewer = "profile-viewer"
	RoleAccountAdmin  = "account-admin"
)

// Role is a named set of permissions: "*", "<kind>.*" or "<kind>.<verb>".
type Role struct {
	// Name is the role's metadata.name, which bindings refer to.
	Name string
	// Permissions are what the role allows, at least one.
	Permissions []string
}

// Validate checks the role's permissions (not its name). The error is a FieldErrors whose
// fields are "permissions" and "permissions[i]".
func (r Role) Validate() error {
	var errs FieldErrors
	if len(r.Permissions) == 0 {
		errs.add("permissions", "a role needs at least one permission")
	}
	for i, p := range r.Permissions {
		if err := ValidatePermission(p); err != nil {
			errs.add("permissions["+strconv.Itoa(i)+"]", "%s", err)
		}
	}
	return errs.err()
}

// has reports whether the role holds the requested permission, wildcards honoured.
func (r Role) has(permission string) bool {
	return slices.ContainsFunc(r.Permissions, func(held string) bool { return grants(held, permission) })
}

// BuiltinRoles returns the built-in roles, a fresh copy on each call. Every Policy has them;
// a custom role may not reuse their names.
//
//   - admin: everything;
//   - cluster-admin: every cluster verb, kubeconfig-admin included; use, get and list on cloud
//     accounts and cluster profiles; get and list on private cloud gateways;
//   - cluster-editor: get, list, create, update, delete and kubeconfig on clusters; use, get
//     and list on cloud accounts and cluster profiles;
//   - cluster-viewer: get and list on clusters;
//   - profile-editor: every cluster profile verb;
//   - profile-viewer: get, list and use on cluster profiles;
//   - account-admin: every cloud account and private cloud gateway verb.
func BuiltinRoles() []Role {
	uses := func(kinds ...string) []string {
		var out []string
		for _, k := range kinds {
			out = append(out, Perm(k, VerbUse), Perm(k, VerbGet), Perm(k, VerbList))
		}
		return out
	}
	return []Role{
		{RoleAdmin, []string{Wildcard}},
		{RoleClusterAdmin, slices.Concat(
			[]string{Perm(KindCluster, Wildcard)},
			uses(KindCloudAccount, KindClusterProfile),
			[]string{Perm(KindPrivateCloudGateway, VerbGet), Perm(KindPrivateCloudGateway, VerbList)},
		)},
		{RoleClusterEditor, slices.Concat(
			perms(KindCluster, VerbGet, VerbList, VerbCreate, VerbUpdate, VerbDelete, VerbKubeconfig),
			uses(KindCloudAccount, KindClusterProfile),
		)},
		{RoleClusterViewer, perms(KindCluster, VerbGet, VerbList)},
		{RoleProfileEditor, []string{Perm(KindClusterProfile, Wildcard)}},
		{RoleProfileViewer, perms(KindClusterProfile, VerbGet, VerbList, VerbUse)},
		{RoleAccountAdmin, []string{Perm(KindCloudAccount, Wildcard), Perm(KindPrivateCloudGateway, Wildcard)}},
	}
}

// perms returns the permissions of kind with each verb.
func perms(kind string, verbs ...string) []string {
	out := make([]string, len(verbs))
	for i, v := range verbs {
		out[i] = Perm(kind, v)
	}
	return out
}

// FieldError is one broken rule at one field of a role, filter or binding. Field is relative to
// the object's spec, e.g. "filters[0].operator".
type FieldError struct {
	Field   string
	Message string
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is every rule an object broke, in field order. The Validate methods return one,
// or nil when the object is valid.
type FieldErrors []FieldError

// Error joins the errors, one per line.
func (l FieldErrors) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

func (l *FieldErrors) add(field, format string, args ...any) {
	*l = append(*l, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns the list as an error, or nil when it is empty.
func (l FieldErrors) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
