package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// shownItems is how many items of a list a table cell shows before "+N".
const shownItems = 3

// accessColumns returns the table columns of an access-control kind, or nil for another kind.
func accessColumns(kind string, name column) []column {
	switch kind {
	case v1alpha1.KindRole:
		return []column{name,
			{"PERMISSIONS", func(o v1alpha1.Object, _ time.Time) string { return firstItems(o.(*v1alpha1.Role).Spec.Permissions) }},
			ageColumn(),
		}
	case v1alpha1.KindTagFilter:
		return []column{name,
			{"EXPRESSION", func(o v1alpha1.Object, _ time.Time) string { return filterExpression(o.(*v1alpha1.TagFilter).Spec) }},
			ageColumn(),
		}
	case v1alpha1.KindUser:
		return []column{name,
			{"DISPLAY-NAME", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.User).Spec.DisplayName) }},
			{"EMAIL", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.User).Spec.Email) }},
			ageColumn(),
		}
	case v1alpha1.KindTeam:
		return []column{name,
			{"MEMBERS", func(o v1alpha1.Object, _ time.Time) string { return firstItems(o.(*v1alpha1.Team).Spec.Members) }},
			{"GROUPS", func(o v1alpha1.Object, _ time.Time) string {
				return strconv.Itoa(len(o.(*v1alpha1.Team).Spec.EntraGroups))
			}},
			ageColumn(),
		}
	case v1alpha1.KindRoleBinding:
		b := func(o v1alpha1.Object) *v1alpha1.RoleBinding { return o.(*v1alpha1.RoleBinding) }
		return []column{name,
			{"SUBJECT", func(o v1alpha1.Object, _ time.Time) string { return bindingSubject(b(o).Spec.Subject) }},
			{"ROLE", func(o v1alpha1.Object, _ time.Time) string { return orNone(b(o).Spec.Role) }},
			{"FILTER", func(o v1alpha1.Object, _ time.Time) string { return orNone(b(o).Spec.Filter) }},
			ageColumn(),
		}
	case v1alpha1.KindAPIKey:
		k := func(o v1alpha1.Object) *v1alpha1.APIKey { return o.(*v1alpha1.APIKey) }
		return []column{name,
			{"USER", func(o v1alpha1.Object, _ time.Time) string { return orNone(k(o).Spec.User) }},
			{"DESCRIPTION", func(o v1alpha1.Object, _ time.Time) string { return shortText(k(o).Spec.Description) }},
			{"EXPIRES", func(o v1alpha1.Object, now time.Time) string { return expiresIn(now, k(o).Spec.ExpiresAt) }},
			{"LAST-USED", func(o v1alpha1.Object, now time.Time) string { return lastUsed(now, k(o).Status.LastUsed) }},
			{"REVOKED", func(o v1alpha1.Object, _ time.Time) string { return strconv.FormatBool(k(o).Spec.Revoked) }},
			ageColumn(),
		}
	}
	return nil
}

// maxCellText is how many characters of a free text, such as a key's description, a table
// cell shows.
const maxCellText = 40

// shortText is a free text on one line, cut to maxCellText characters.
func shortText(s string) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > maxCellText {
		return string(r[:maxCellText-3]) + "..."
	}
	return orNone(s)
}

// expiresIn says when a key expires, from now: "in 29d", or "expired" once it has.
func expiresIn(now, at time.Time) string {
	switch {
	case at.IsZero():
		return none
	case !now.Before(at):
		return "expired"
	}
	return "in " + shortDuration(at.Sub(now))
}

// lastUsed is how long ago a key was last used, as an age, or <never>.
func lastUsed(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<never>"
	}
	return humanAge(now, t)
}

// accessWideColumns are the columns -o wide adds to an access-control kind's table.
func accessWideColumns(kind string) []column {
	switch kind {
	case v1alpha1.KindUser:
		return []column{{"DISABLED", func(o v1alpha1.Object, _ time.Time) string {
			return strconv.FormatBool(o.(*v1alpha1.User).Spec.Disabled)
		}}}
	case v1alpha1.KindTeam:
		return []column{{"ENTRA GROUPS", func(o v1alpha1.Object, _ time.Time) string {
			return orNone(strings.Join(o.(*v1alpha1.Team).Spec.EntraGroups, ","))
		}}}
	}
	return nil
}

// firstItems is a list's first items, comma-separated, and how many more there are.
func firstItems(items []string) string {
	if len(items) <= shownItems {
		return orNone(strings.Join(items, ","))
	}
	return fmt.Sprintf("%s +%d", strings.Join(items[:shownItems], ","), len(items)-shownItems)
}

// bindingSubject is a binding's subject as "user/NAME" or "team/NAME".
func bindingSubject(s v1alpha1.BindingSubject) string {
	switch {
	case s.User != "":
		return "user/" + s.User
	case s.Team != "":
		return "team/" + s.Team
	}
	return none
}

// filterExpression writes a filter as one expression: its clauses joined by AND or OR, e.g.
// "department:finance AND NOT env:prod".
func filterExpression(f v1alpha1.TagFilterSpec) string {
	clauses := make([]string, len(f.Filters))
	for i, c := range f.Filters {
		clauses[i] = clauseExpression(c)
	}
	return orNone(strings.Join(clauses, " "+strings.ToUpper(f.Conjunction)+" "))
}

// clauseExpression writes a clause as "key:value", "key:(a OR b)" for several values, with
// NOT before it when it is negated. The only operator, eq, goes without saying.
func clauseExpression(c v1alpha1.TagFilterClause) string {
	values := make([]string, len(c.Values))
	for i, v := range c.Values {
		values[i] = tagValue(v)
	}
	s := c.Key + ":" + strings.Join(values, " OR ")
	if len(values) > 1 {
		s = c.Key + ":(" + strings.Join(values, " OR ") + ")"
	}
	if c.Negation {
		s = "NOT " + s
	}
	return s
}

// tagValue is a tag value as an expression shows it: quoted when it is empty or holds a space,
// a parenthesis or a quote.
func tagValue(v string) string {
	if v == "" || strings.ContainsAny(v, " ()\"") {
		return strconv.Quote(v)
	}
	return v
}
