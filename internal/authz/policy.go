package authz

import (
	"errors"
	"fmt"
	"slices"
)

// Principal is who makes a request: a user and the teams it belongs to.
type Principal struct {
	Name  string
	Teams []string
}

// Subject is whom a binding grants its role to: exactly one of User and Team.
type Subject struct {
	User string `json:"user,omitempty"`
	Team string `json:"team,omitempty"`
}

// Binding grants a role to a user or a team: on the objects its filter matches or, without a
// filter, on every object.
type Binding struct {
	// Name is the binding's metadata.name, which decisions name.
	Name    string
	Subject Subject
	// Role is the name of a built-in or custom role.
	Role string
	// Filter is the name of a filter, or empty for every object.
	Filter string
}

// Validate checks the binding's subject and role (not its name, nor that the role and filter
// exist: NewPolicy does). The error is a FieldErrors whose fields are "subject" and "role".
func (b Binding) Validate() error {
	var errs FieldErrors
	if (b.Subject.User == "") == (b.Subject.Team == "") {
		errs.add("subject", "a binding names exactly one of user and team")
	}
	if b.Role == "" {
		errs.add("role", "required: the name of a role")
	}
	return errs.err()
}

// appliesTo reports whether the binding's subject is the principal or one of its teams.
func (b Binding) appliesTo(pr Principal) bool {
	if b.Subject.User != "" {
		return b.Subject.User == pr.Name
	}
	return b.Subject.Team != "" && slices.Contains(pr.Teams, b.Subject.Team)
}

// Policy is a validated set of roles, filters and bindings, which answers who may do what. It
// is immutable and safe for concurrent use.
type Policy struct {
	roles    map[string]Role
	filters  map[string]Filter
	bindings []Binding
}

// NewPolicy builds a policy from the custom roles, the filters and the bindings, in the order
// given (a decision names the first binding that allows, those without a filter first). The
// built-in roles are always there. It refuses invalid objects, two objects of a kind with one
// name, a custom role named like a built-in one, and a binding naming an unknown role or filter;
// the error names each.
func NewPolicy(roles []Role, filters []Filter, bindings []Binding) (*Policy, error) {
	p := &Policy{roles: map[string]Role{}, filters: map[string]Filter{}}
	for _, r := range BuiltinRoles() {
		p.roles[r.Name] = r
	}
	errs := slices.Concat(p.addRoles(roles), p.addFilters(filters), p.addBindings(bindings))
	if len(errs) > 0 {
		return nil, fmt.Errorf("access policy: %w", errors.Join(errs...))
	}
	return p, nil
}

func (p *Policy) addRoles(roles []Role) []error {
	var errs []error
	builtin := map[string]bool{}
	for _, r := range BuiltinRoles() {
		builtin[r.Name] = true
	}
	for _, r := range roles {
		_, taken := p.roles[r.Name]
		err := checkName(r.Name, taken, r.Validate())
		if builtin[r.Name] {
			err = errors.New("a built-in role has this name")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("role %q: %w", r.Name, err))
			continue
		}
		p.roles[r.Name] = r
	}
	return errs
}

func (p *Policy) addFilters(filters []Filter) []error {
	var errs []error
	for _, f := range filters {
		_, taken := p.filters[f.Name]
		if err := checkName(f.Name, taken, f.Validate()); err != nil {
			errs = append(errs, fmt.Errorf("filter %q: %w", f.Name, err))
			continue
		}
		p.filters[f.Name] = f
	}
	return errs
}

func (p *Policy) addBindings(bindings []Binding) []error {
	var errs []error
	names := map[string]bool{}
	for _, b := range bindings {
		err := checkName(b.Name, names[b.Name], b.Validate())
		if _, ok := p.roles[b.Role]; err == nil && !ok {
			err = fmt.Errorf("role %q does not exist", b.Role)
		}
		if _, ok := p.filters[b.Filter]; err == nil && b.Filter != "" && !ok {
			err = fmt.Errorf("filter %q does not exist", b.Filter)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("binding %q: %w", b.Name, err))
			continue
		}
		names[b.Name] = true
		p.bindings = append(p.bindings, b)
	}
	// Unscoped bindings first, so that a decision names the broadest grant.
	slices.SortStableFunc(p.bindings, func(a, b Binding) int {
		return boolRank(a.Filter != "") - boolRank(b.Filter != "")
	})
	return errs
}

// checkName returns the error of an object named name: no name, a name already taken, or
// invalid, in that order.
func checkName(name string, taken bool, invalid error) error {
	switch {
	case name == "":
		return errors.New("a name is required")
	case taken:
		return errors.New("defined twice")
	}
	return invalid
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Request is what a principal asks to do.
type Request struct {
	// Permission is "<kind>.<verb>", without wildcard.
	Permission string
	// Tags are the object's tags (see ObjectTags); nil is an object with no tags.
	Tags map[string]string
	// KindWide asks about the kind as a whole rather than one object, as list does: it is
	// allowed when any binding allows the permission, whatever its filter. Tags are ignored.
	KindWide bool
}

// Decision is the answer to a Request.
type Decision struct {
	Allowed bool
	// Binding is the name of the binding that allowed the request, or empty.
	Binding string
	// Reason says why in plain words, e.g. "binding finance-editors allows cluster.update on
	// objects matching filter finance" or "no binding grants cluster.update".
	Reason string
}

// Decide answers whether the principal may make the request. A request with an invalid
// permission is refused, with the error as its reason.
func (p *Policy) Decide(pr Principal, req Request) Decision {
	kind, verb, err := parseRequested(req.Permission)
	if err != nil {
		return Decision{Reason: err.Error()}
	}
	granting := p.granting(pr, req.Permission)
	if len(granting) == 0 {
		return Decision{Reason: "no binding grants " + req.Permission}
	}
	if req.KindWide {
		return allowedBy(granting[0], req.Permission)
	}
	if b, ok := p.firstAllowing(granting, req.Tags); ok {
		return allowedBy(b, req.Permission)
	}
	_, why := p.blame(kind, verb, granting, req.Tags)
	return Decision{Reason: fmt.Sprintf("no binding grants %s on this object: %s", req.Permission, why)}
}

// CanSee reports whether the principal may get an object of the kind with the tags, to filter
// lists and watches: an object it may not see is answered as absent.
func (p *Policy) CanSee(pr Principal, kind string, tags map[string]string) bool {
	return p.Decide(pr, Request{Permission: Perm(kind, VerbGet), Tags: tags}).Allowed
}

// CanList reports whether the principal may list the kind at all: whether some binding,
// scoped or not, allows list on it. The list is then filtered with CanSee.
func (p *Policy) CanList(pr Principal, kind string) bool {
	return p.Decide(pr, Request{Permission: Perm(kind, VerbList), KindWide: true}).Allowed
}

// granting returns the principal's bindings whose role holds the permission, in policy order.
func (p *Policy) granting(pr Principal, permission string) []Binding {
	var out []Binding
	for _, b := range p.bindings {
		if b.appliesTo(pr) && p.roles[b.Role].has(permission) {
			out = append(out, b)
		}
	}
	return out
}

// firstAllowing returns the first binding whose filter, if any, matches the tags.
func (p *Policy) firstAllowing(bindings []Binding, tags map[string]string) (Binding, bool) {
	for _, b := range bindings {
		if b.Filter == "" || p.filters[b.Filter].Matches(tags) {
			return b, true
		}
	}
	return Binding{}, false
}

func allowedBy(b Binding, permission string) Decision {
	d := Decision{Allowed: true, Binding: b.Name}
	if b.Filter == "" {
		d.Reason = fmt.Sprintf("binding %s allows %s on every object", b.Name, permission)
	} else {
		d.Reason = fmt.Sprintf("binding %s allows %s on objects matching filter %s", b.Name, permission, b.Filter)
	}
	return d
}

// Unscoped reports whether a binding without a filter grants the principal the permission:
// what a question about no object in particular (a deleted object's events, say) needs.
func (p *Policy) Unscoped(pr Principal, permission string) bool {
	g := p.granting(pr, permission)
	return len(g) > 0 && g[0].Filter == ""
}

// BindingsOf returns the names of the bindings that apply to the principal, directly or by one
// of its teams, in the order the policy decides in (bindings without a filter first).
func (p *Policy) BindingsOf(pr Principal) []string {
	var out []string
	for _, b := range p.bindings {
		if b.appliesTo(pr) {
			out = append(out, b.Name)
		}
	}
	return out
}
