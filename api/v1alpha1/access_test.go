package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
	"github.com/strata-dev/strata/internal/authz"
)

// TestAccessLimits checks the bounds of the access-control kinds' lists and texts, too large to
// keep in testdata/invalid.yaml, at the bound and beyond it.
func TestAccessLimits(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	list := func(n int, item func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = item(i)
		}
		return out
	}
	clause := func(i int) any { return map[string]any{"key": fmt.Sprintf("k%d", i), "values": []any{"v"}} }
	value := func(i int) any { return fmt.Sprintf("v%d", i) }
	member := func(i int) any { return fmt.Sprintf("user-%d", i) }
	group := func(i int) any { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	spec := func(kv ...any) map[string]any {
		s := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			s[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"spec": s}
	}
	tests := []struct {
		name  string
		base  string
		patch map[string]any
		want  []string
	}{
		{"filter clauses at the bound", "TagFilter/finance", spec("filters", list(v1alpha1.MaxFilterClauses, clause)), nil},
		{"filter clauses beyond the bound", "TagFilter/finance", spec("filters", list(v1alpha1.MaxFilterClauses+1, clause)), []string{"spec.filters too-many"}},
		{"clause values beyond the bound", "TagFilter/finance",
			spec("filters", []any{map[string]any{"key": "k", "values": list(v1alpha1.MaxClauseValues+1, value)}}), []string{"spec.filters[0].values too-many"}},
		{"team members at the bound", "Team/platform", spec("members", list(v1alpha1.MaxTeamMembers, member)), nil},
		{"team members beyond the bound", "Team/platform", spec("members", list(v1alpha1.MaxTeamMembers+1, member)), []string{"spec.members too-many"}},
		{"team groups beyond the bound", "Team/platform", spec("entraGroups", list(v1alpha1.MaxTeamEntraGroups+1, group)), []string{"spec.entraGroups too-many"}},
		{"display name at the bound, in characters", "User/alice", spec("displayName", strings.Repeat("é", v1alpha1.MaxDisplayNameLength)), nil},
		{"display name beyond the bound", "User/alice", spec("displayName", strings.Repeat("a", v1alpha1.MaxDisplayNameLength+1)), []string{"spec.displayName too-long"}},
		{"email beyond the bound", "User/alice", spec("email", strings.Repeat("a", v1alpha1.MaxEmailLength)+"@x"), []string{"spec.email too-long"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: tc.patch}.Apply(t, f))
			if errs != nil {
				t.Fatal(errs)
			}
			v1alpha1.Default(obj)
			if got := fieldRules(v1alpha1.Validate(context.Background(), obj, f)); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTagFilterRulesAreAuthz checks that a TagFilter breaks, field for field, the rules that
// authz.Filter.Validate applies to the filter it becomes, and names the rule of each.
func TestTagFilterRulesAreAuthz(t *testing.T) {
	tests := []struct {
		name string
		spec v1alpha1.TagFilterSpec
		want []string
	}{
		{"valid", v1alpha1.TagFilterSpec{Conjunction: "or", Filters: []v1alpha1.TagFilterClause{{Key: "env", Operator: "eq", Values: []string{""}, Negation: true}}}, nil},
		{"conjunction", v1alpha1.TagFilterSpec{Conjunction: "nor", Filters: []v1alpha1.TagFilterClause{{Key: "env", Operator: "eq", Values: []string{"prod"}}}},
			[]string{"spec.conjunction enum"}},
		{"no clause", v1alpha1.TagFilterSpec{Conjunction: "and"}, []string{"spec.filters required"}},
		{"second clause", v1alpha1.TagFilterSpec{Conjunction: "and", Filters: []v1alpha1.TagFilterClause{
			{Key: "env", Operator: "eq", Values: []string{"prod"}}, {Key: "", Operator: "EQ"},
		}}, []string{"spec.filters[1].key required", "spec.filters[1].operator enum", "spec.filters[1].values required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := v1alpha1.New(v1alpha1.KindTagFilter).(*v1alpha1.TagFilter)
			o.Metadata.Name, o.Spec = "f", tc.spec
			got := fieldRules(v1alpha1.Validate(context.Background(), o, nil))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
			var fromAuthz []string
			if err := o.Authz().Validate(); err != nil {
				for _, fe := range err.(authz.FieldErrors) {
					fromAuthz = append(fromAuthz, "spec."+fe.Field)
				}
			}
			var fields []string
			for _, fr := range got {
				fields = append(fields, strings.Fields(fr)[0])
			}
			slices.Sort(fromAuthz)
			if !slices.Equal(fields, fromAuthz) {
				t.Errorf("fields %q, authz reports %q", fields, fromAuthz)
			}
		})
	}
}

// TestAccessDefaults checks a filter's defaults (Palette's): conjunction and, operator eq.
func TestAccessDefaults(t *testing.T) {
	o := &v1alpha1.TagFilter{Spec: v1alpha1.TagFilterSpec{Filters: []v1alpha1.TagFilterClause{{Key: "a"}, {Key: "b", Operator: "ne"}}}}
	v1alpha1.Default(o)
	v1alpha1.Default(o)
	if o.Spec.Conjunction != "and" || o.Spec.Filters[0].Operator != "eq" || o.Spec.Filters[1].Operator != "ne" {
		t.Errorf("filter defaults: %+v", o.Spec)
	}
}

// TestBindingReferences checks what a binding refers to, and so what cannot be deleted while
// it exists: its user or team, its role unless built in, and its filter.
func TestBindingReferences(t *testing.T) {
	tests := []struct {
		name string
		spec v1alpha1.RoleBindingSpec
		want []v1alpha1.Ref
	}{
		{"user, custom role and filter", v1alpha1.RoleBindingSpec{Subject: v1alpha1.BindingSubject{User: "alice"}, Role: "operator", Filter: "finance"},
			[]v1alpha1.Ref{{Kind: v1alpha1.KindUser, Key: "alice"}, {Kind: v1alpha1.KindRole, Key: "operator"}, {Kind: v1alpha1.KindTagFilter, Key: "finance"}}},
		{"team and built-in role", v1alpha1.RoleBindingSpec{Subject: v1alpha1.BindingSubject{Team: "platform"}, Role: authz.RoleClusterViewer},
			[]v1alpha1.Ref{{Kind: v1alpha1.KindTeam, Key: "platform"}}},
		{"nothing named", v1alpha1.RoleBindingSpec{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := v1alpha1.References(&v1alpha1.RoleBinding{Spec: tc.spec}); !slices.Equal(got, tc.want) {
				t.Errorf("References = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBuiltinRolesNeedNoRole binds every built-in role with a resolver that holds no Role.
func TestBuiltinRolesNeedNoRole(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	for _, r := range authz.BuiltinRoles() {
		if !v1alpha1.IsBuiltinRole(r.Name) {
			t.Errorf("%s is not reported built in", r.Name)
		}
		b := v1alpha1.New(v1alpha1.KindRoleBinding).(*v1alpha1.RoleBinding)
		b.Metadata.Name = "b"
		b.Spec = v1alpha1.RoleBindingSpec{Subject: v1alpha1.BindingSubject{User: "alice"}, Role: r.Name}
		if errs := v1alpha1.Validate(context.Background(), b, f); len(errs) > 0 {
			t.Errorf("binding of %s: %v", r.Name, errs)
		}
	}
	if v1alpha1.IsBuiltinRole("cluster-operator") {
		t.Error("a custom role's name is reported built in")
	}
}

// TestAccessAuthz checks that the fixtures become the authz objects they say.
func TestAccessAuthz(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	get := func(id string) v1alpha1.Object {
		fx, ok := f.Get(id)
		if !ok {
			t.Fatalf("no fixture %s", id)
		}
		return fx.Object
	}
	role := get("Role/cluster-operator").(*v1alpha1.Role).Authz()
	filter := get("TagFilter/finance").(*v1alpha1.TagFilter).Authz()
	binding := get("RoleBinding/alice-operator").(*v1alpha1.RoleBinding).Authz()
	if _, err := authz.NewPolicy([]authz.Role{role}, []authz.Filter{filter}, []authz.Binding{binding}); err != nil {
		t.Fatalf("the fixtures make no policy: %v", err)
	}
	for _, tc := range []struct {
		tags map[string]string
		want bool
	}{
		{map[string]string{"department": "finance"}, true},
		{map[string]string{"department": "finance", "env": "prod"}, false},
		{map[string]string{"department": "hr"}, false},
	} {
		if got := filter.Matches(tc.tags); got != tc.want {
			t.Errorf("filter finance matches %v: %v, want %v", tc.tags, got, tc.want)
		}
	}
}

// TestAccessDocExamples validates the YAML examples of docs/access.md against each other.
func TestAccessDocExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "access.md"))
	if err != nil {
		t.Fatal(err)
	}
	var all v1alpha1test.Fixtures
	kinds := map[string]bool{}
	for _, block := range strings.Split(string(data), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		objs, err := v1alpha1.Decode([]byte(block))
		if err != nil {
			t.Fatalf("%v\n%s", err, block)
		}
		for _, o := range objs {
			v1alpha1.Default(o)
			kinds[o.GetTypeMeta().Kind] = true
			all = append(all, v1alpha1test.Fixture{ID: o.GetTypeMeta().Kind + "/" + o.Key(), Object: o})
		}
	}
	for _, k := range []string{v1alpha1.KindRole, v1alpha1.KindTagFilter, v1alpha1.KindUser, v1alpha1.KindTeam, v1alpha1.KindRoleBinding, v1alpha1.KindAPIKey} {
		if !kinds[k] {
			t.Errorf("docs/access.md has no example of kind %s", k)
		}
	}
	for _, fx := range all {
		if errs := v1alpha1.Validate(context.Background(), fx.Object, all); len(errs) > 0 {
			t.Errorf("%s: %v", fx.ID, errs)
		}
	}
}
