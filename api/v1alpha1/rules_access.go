package v1alpha1

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strata-dev/strata/internal/authz"
)

// validateRole checks a role's name and permissions: at least one, each valid for authz
// (authz.ValidatePermission) and given once.
func validateRole(o *Role, errs *ErrorList) {
	if IsBuiltinRole(o.Metadata.Name) {
		errs.Add("metadata.name", RuleReserved, "%q is the name of a built-in role (%s): bind it as it is, or give a custom role another name",
			o.Metadata.Name, builtinRoleNames())
	}
	p := Path("spec.permissions")
	if len(o.Spec.Permissions) == 0 {
		errs.Add(p, RuleRequired, "a role needs at least one permission, e.g. cluster.get, cluster.* or *")
	}
	for i, perm := range o.Spec.Permissions {
		checkPermission(errs, p.Index(i), perm)
	}
	checkEachOnce(errs, p, o.Spec.Permissions, exact)
}

// checkPermission checks one permission of a role with authz.ValidatePermission: a value that
// is not "<kind>.<verb>" or "*" breaks the format, an unknown kind or verb the enum.
func checkPermission(errs *ErrorList, p Path, perm string) {
	if !required(errs, p, perm) {
		return
	}
	err := authz.ValidatePermission(perm)
	switch {
	case err == nil:
	case perm != authz.Wildcard && !strings.Contains(perm, "."):
		errs.Add(p, RuleFormat, "%s", err)
	default:
		errs.Add(p, RuleEnum, "%s", err)
	}
}

// builtinRoleNames lists the built-in roles' names, comma-separated.
func builtinRoleNames() string {
	var names []string
	for _, r := range authz.BuiltinRoles() {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// filterRules are the rules broken at the fields authz.Filter.Validate reports, by the field's
// last name: a conjunction or an operator it does not know is outside the allowed values; no
// clause, a blank key or no value is a missing value.
var filterRules = map[string]Rule{
	"conjunction": RuleEnum,
	"operator":    RuleEnum,
	"filters":     RuleRequired,
	"key":         RuleRequired,
	"values":      RuleRequired,
}

// validateTagFilter checks a filter with authz's own rules (authz.Filter.Validate), so that
// what is stored is what authz evaluates, and the bounds of its lists.
func validateTagFilter(o *TagFilter, errs *ErrorList) {
	p := Path("spec")
	checkMaxItems(errs, p.Child("filters"), len(o.Spec.Filters), MaxFilterClauses, "strata's bound of clauses per filter")
	for i, c := range o.Spec.Filters {
		checkMaxItems(errs, p.Child("filters").Index(i).Child("values"), len(c.Values), MaxClauseValues, "strata's bound of values per clause")
	}
	var fes authz.FieldErrors
	if err := o.Authz().Validate(); errors.As(err, &fes) {
		for _, fe := range fes {
			errs.Add(p.Child(fe.Field), filterRule(fe.Field), "%s", fe.Message)
		}
	}
}

// filterRule is the rule broken at a field that authz.Filter.Validate reports, such as
// "filters[1].operator"; an unknown field breaks the format.
func filterRule(field string) Rule {
	last := field[strings.LastIndex(field, ".")+1:]
	if r, ok := filterRules[last]; ok {
		return r
	}
	return RuleFormat
}

// validateUser checks a user's display name and email address.
func validateUser(o *User, errs *ErrorList) {
	p := Path("spec")
	if n := utf8.RuneCountInString(o.Spec.DisplayName); n > MaxDisplayNameLength {
		errs.Add(p.Child("displayName"), RuleTooLong, "must be at most %d characters, as in Entra ID, got %d", MaxDisplayNameLength, n)
	}
	checkEmail(errs, p.Child("email"), o.Spec.Email)
}

// checkEmail checks an optional email address loosely: one '@' between a non-empty local part
// and a non-empty domain, no spaces, at most MaxEmailLength characters.
func checkEmail(errs *ErrorList, p Path, v string) {
	if v == "" {
		return
	}
	if len(v) > MaxEmailLength {
		errs.Add(p, RuleTooLong, "must be at most %d characters, got %d", MaxEmailLength, len(v))
		return
	}
	local, domain, _ := strings.Cut(v, "@")
	if strings.Count(v, "@") != 1 || local == "" || domain == "" || strings.ContainsFunc(v, unicode.IsSpace) {
		errs.Add(p, RuleFormat, "%q must be an email address: one '@' between a local part and a domain, without spaces", v)
	}
}

// validateTeam checks a team's members (user names) and Entra ID groups (object IDs), each
// given once.
func validateTeam(o *Team, errs *ErrorList) {
	p := Path("spec")
	members, groups := p.Child("members"), p.Child("entraGroups")
	checkMaxItems(errs, members, len(o.Spec.Members), MaxTeamMembers, "strata's bound of members per team")
	for i, m := range o.Spec.Members {
		checkName(errs, members.Index(i), m)
	}
	checkEachOnce(errs, members, o.Spec.Members, exact)
	checkMaxItems(errs, groups, len(o.Spec.EntraGroups), MaxTeamEntraGroups, "strata's bound of Entra ID groups per team")
	for i, g := range o.Spec.EntraGroups {
		checkGUID(errs, groups.Index(i), g)
	}
	checkEachOnce(errs, groups, o.Spec.EntraGroups, strings.ToLower)
}

// exact compares list items as they are written.
func exact(s string) string { return s }

// checkEachOnce reports each non-empty item of the list at p that repeats an earlier one, the
// two compared by what norm makes of them.
func checkEachOnce(errs *ErrorList, p Path, items []string, norm func(string) string) {
	first := make(map[string]int, len(items))
	for i, it := range items {
		if it == "" {
			continue
		}
		if j, seen := first[norm(it)]; seen {
			errs.Add(p.Index(i), RuleDuplicate, "%q is already listed at %s", it, p.Index(j))
			continue
		}
		first[norm(it)] = i
	}
}

// validateRoleBinding checks a binding's subject (exactly one of a user and a team), role and
// filter, and, with a Resolver, that each exists: a stored User, Team and TagFilter, and a
// built-in role or a stored Role.
func validateRoleBinding(ctx context.Context, o *RoleBinding, r Resolver, errs *ErrorList) {
	s := o.Spec
	sp := Path("spec.subject")
	switch {
	case s.Subject.User == "" && s.Subject.Team == "":
		errs.Add(sp, RuleRequired, "name the user or the team the role is granted to: subject: {user: NAME} or {team: NAME}")
	case s.Subject.User != "" && s.Subject.Team != "":
		errs.Add(sp, RuleCount, "a binding grants its role to exactly one of a user and a team: make one binding for each")
	case s.Subject.User != "":
		checkNamedRef(ctx, r, errs, sp.Child("user"), KindUser, s.Subject.User)
	default:
		checkNamedRef(ctx, r, errs, sp.Child("team"), KindTeam, s.Subject.Team)
	}
	if !IsBuiltinRole(s.Role) {
		checkNamedRef(ctx, r, errs, "spec.role", KindRole, s.Role)
	}
	if s.Filter != "" {
		checkNamedRef(ctx, r, errs, "spec.filter", KindTagFilter, s.Filter)
	}
}

// checkNamedRef checks a required reference by name to an object of kind: a valid name and,
// when it is one, an object that exists (checkExists).
func checkNamedRef(ctx context.Context, r Resolver, errs *ErrorList, p Path, kind, name string) {
	before := len(*errs)
	checkName(errs, p, name)
	if len(*errs) == before {
		checkExists(ctx, r, errs, p, kind, name)
	}
}
