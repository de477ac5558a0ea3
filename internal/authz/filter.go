package authz

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The conjunctions and the operator of a Filter.
const (
	ConjunctionAnd = "and"
	ConjunctionOr  = "or"
	OperatorEq     = "eq"
)

// Filter is a tag filter in Palette's shape: clauses joined by a conjunction. A binding with a
// filter allows its role's permissions only on the objects whose tags the filter matches.
type Filter struct {
	// Name is the filter's metadata.name, which bindings refer to.
	Name string `json:"-"`
	// Conjunction is "and" (every clause matches) or "or" (some clause matches).
	Conjunction string `json:"conjunction"`
	// Filters are the clauses; there must be at least one.
	Filters []Clause `json:"filters"`
}

// Clause is one condition of a Filter on one tag key.
type Clause struct {
	// Key is the tag key.
	Key string `json:"key"`
	// Operator is "eq", the only operator.
	Operator string `json:"operator"`
	// Values are the accepted values: the clause matches when the object has the key with one
	// of them. A missing key never matches.
	Values []string `json:"values"`
	// Negation inverts the clause: it then matches when the key is missing or has none of the
	// values.
	Negation bool `json:"negation,omitempty"`
}

// Validate checks the filter's clauses (not its name). The error is a FieldErrors whose fields
// are "conjunction", "filters", and "filters[i].key", ".operator" and ".values".
func (f Filter) Validate() error {
	var errs FieldErrors
	if f.Conjunction != ConjunctionAnd && f.Conjunction != ConjunctionOr {
		errs.add("conjunction", "%q is not a conjunction: use %q or %q", f.Conjunction, ConjunctionAnd, ConjunctionOr)
	}
	if len(f.Filters) == 0 {
		errs.add("filters", "a filter needs at least one clause, e.g. {key: department, operator: eq, values: [finance]}")
	}
	for i, c := range f.Filters {
		p := "filters[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(c.Key) == "" {
			errs.add(p+".key", "required: the tag key the clause tests")
		}
		if c.Operator != OperatorEq {
			errs.add(p+".operator", "%q is not supported: the only operator is %q", c.Operator, OperatorEq)
		}
		if len(c.Values) == 0 {
			errs.add(p+".values", "a clause needs at least one value")
		}
	}
	return errs.err()
}

// Matches reports whether the filter matches an object with the tags. A nil map is an object
// with no tags.
func (f Filter) Matches(tags map[string]string) bool {
	if f.Conjunction == ConjunctionOr {
		return slices.ContainsFunc(f.Filters, func(c Clause) bool { return c.Matches(tags) })
	}
	for _, c := range f.Filters {
		if !c.Matches(tags) {
			return false
		}
	}
	return len(f.Filters) > 0
}

// Matches reports whether the clause matches an object with the tags: the key is present with
// one of the values, or, with Negation, it is not. A clause with an operator other than eq,
// which Validate refuses, never matches, negated or not.
func (c Clause) Matches(tags map[string]string) bool {
	if c.Operator != OperatorEq {
		return false
	}
	v, ok := tags[c.Key]
	hit := ok && slices.Contains(c.Values, v)
	return hit != c.Negation
}

// ParseTags turns a cluster's "key:value" tags (its spec.tags) into a map, splitting each on its
// first ':'. A tag without ':' has an empty value; of two tags with one key, the last wins. The
// map is never nil.
func ParseTags(tags []string) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, _ := strings.Cut(t, ":")
		out[k] = v
	}
	return out
}

// ObjectTags returns the tags filters are evaluated on for an object of the permission kind:
// a cluster's spec.tags (specTags, parsed by ParseTags), any other object's metadata.labels
// (a copy). The map is never nil.
func ObjectTags(kind string, specTags []string, labels map[string]string) map[string]string {
	if kind == KindCluster {
		return ParseTags(specTags)
	}
	out := make(map[string]string, len(labels))
	maps.Copy(out, labels)
	return out
}
