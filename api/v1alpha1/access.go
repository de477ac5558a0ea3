package v1alpha1

import "github.com/strata-dev/strata/internal/authz"

// The access-control kinds (Role, TagFilter, User, Team, RoleBinding) are stored, validated and
// listed like the other kinds; nothing enforces them yet. docs/access.md describes them.

// Role is a named set of permissions, "<kind>.<verb>", "<kind>.*" or "*", as authz defines
// them. The built-in roles (authz.BuiltinRoles) are not stored: a custom role may not take their
// names.
type Role struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     RoleSpec   `json:"spec"`
	Status   Status     `json:"status,omitzero"`
}

// RoleSpec is what a Role allows.
type RoleSpec struct {
	// Permissions are at least one permission, each once.
	Permissions []string `json:"permissions"`
}

// Key returns the object's name.
func (o *Role) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *Role) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *Role) GetStatus() *Status { return &o.Status }

// Authz returns the role as authz decides with it.
func (o *Role) Authz() authz.Role {
	return authz.Role{Name: o.Metadata.Name, Permissions: o.Spec.Permissions}
}

// IsBuiltinRole reports whether name is the name of a built-in role, which a RoleBinding may
// name without a stored Role.
func IsBuiltinRole(name string) bool {
	for _, r := range authz.BuiltinRoles() {
		if r.Name == name {
			return true
		}
	}
	return false
}

// TagFilter is a tag filter in Palette's shape: clauses on tag keys joined by a conjunction. A
// RoleBinding with a filter grants its role on the objects whose tags the filter matches.
type TagFilter struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta    `json:"metadata"`
	Spec     TagFilterSpec `json:"spec"`
	Status   Status        `json:"status,omitzero"`
}

// TagFilterSpec is a filter's clauses and how they combine.
type TagFilterSpec struct {
	// Conjunction is "and" (default: every clause matches) or "or" (some clause matches).
	Conjunction string `json:"conjunction"`
	// Filters are the clauses, at least one.
	Filters []TagFilterClause `json:"filters"`
}

// TagFilterClause is one condition on one tag key.
type TagFilterClause struct {
	// Key is the tag key.
	Key string `json:"key"`
	// Operator is "eq" (default), the only operator.
	Operator string `json:"operator"`
	// Values are the accepted values, at least one: the clause matches an object that has
	// the key with one of them.
	Values []string `json:"values"`
	// Negation inverts the clause: it then matches an object without the key or with none
	// of the values.
	Negation bool `json:"negation,omitempty"`
}

// Key returns the object's name.
func (o *TagFilter) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *TagFilter) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *TagFilter) GetStatus() *Status { return &o.Status }

// Authz returns the filter as authz evaluates it.
func (o *TagFilter) Authz() authz.Filter {
	f := authz.Filter{Name: o.Metadata.Name, Conjunction: o.Spec.Conjunction}
	for _, c := range o.Spec.Filters {
		f.Filters = append(f.Filters, authz.Clause{Key: c.Key, Operator: c.Operator, Values: c.Values, Negation: c.Negation})
	}
	return f
}

// User is a local user of strata. Its credentials (password, API keys) are not part of it.
type User struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     UserSpec   `json:"spec"`
	Status   Status     `json:"status,omitzero"`
}

// UserSpec describes a user.
type UserSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	// Email is optional; it is checked loosely (one '@' between two non-empty parts).
	Email string `json:"email,omitempty"`
	// Disabled marks a user who may not sign in, once strata authenticates users.
	Disabled bool `json:"disabled,omitempty"`
}

// Key returns the object's name.
func (o *User) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *User) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *User) GetStatus() *Status { return &o.Status }

// Team is a group of users, by name, and of the Entra ID groups whose members belong to it.
type Team struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     TeamSpec   `json:"spec"`
	Status   Status     `json:"status,omitzero"`
}

// TeamSpec is a team's members.
type TeamSpec struct {
	// Members are user names. They are not references: a name that no User has yet is kept.
	Members []string `json:"members,omitempty"`
	// EntraGroups are the object IDs (GUIDs) of Entra ID groups whose members belong to the
	// team when they sign in with Entra ID.
	EntraGroups []string `json:"entraGroups,omitempty"`
}

// Key returns the object's name.
func (o *Team) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *Team) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *Team) GetStatus() *Status { return &o.Status }

// RoleBinding grants a role to a user or a team, on the objects its filter matches or, without
// a filter, on every object.
type RoleBinding struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta      `json:"metadata"`
	Spec     RoleBindingSpec `json:"spec"`
	Status   Status          `json:"status,omitzero"`
}

// RoleBindingSpec is whom a binding grants what, and where.
type RoleBindingSpec struct {
	Subject BindingSubject `json:"subject"`
	// Role names a built-in role or a stored Role.
	Role string `json:"role"`
	// Filter names a stored TagFilter; empty grants the role on every object.
	Filter string `json:"filter,omitempty"`
}

// BindingSubject is exactly one of a stored User and a stored Team.
type BindingSubject struct {
	User string `json:"user,omitempty"`
	Team string `json:"team,omitempty"`
}

// Key returns the object's name.
func (o *RoleBinding) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *RoleBinding) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *RoleBinding) GetStatus() *Status { return &o.Status }

// Authz returns the binding as authz decides with it.
func (o *RoleBinding) Authz() authz.Binding {
	return authz.Binding{
		Name:    o.Metadata.Name,
		Subject: authz.Subject{User: o.Spec.Subject.User, Team: o.Spec.Subject.Team},
		Role:    o.Spec.Role,
		Filter:  o.Spec.Filter,
	}
}

// bindingRefs are the objects a binding refers to: its subject, its role unless built in, and
// its filter.
func bindingRefs(o *RoleBinding) []Ref {
	var refs []Ref
	if o.Spec.Subject.User != "" {
		refs = append(refs, Ref{Kind: KindUser, Key: o.Spec.Subject.User})
	}
	if o.Spec.Subject.Team != "" {
		refs = append(refs, Ref{Kind: KindTeam, Key: o.Spec.Subject.Team})
	}
	if o.Spec.Role != "" && !IsBuiltinRole(o.Spec.Role) {
		refs = append(refs, Ref{Kind: KindRole, Key: o.Spec.Role})
	}
	if o.Spec.Filter != "" {
		refs = append(refs, Ref{Kind: KindTagFilter, Key: o.Spec.Filter})
	}
	return refs
}
