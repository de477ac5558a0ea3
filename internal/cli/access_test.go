package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// accessYAML holds one object of each access-control kind and a second binding, in no
// particular order: apply sends them in dependency order.
const accessYAML = `apiVersion: strata.dev/v1alpha1
kind: RoleBinding
metadata: {name: alice-finance}
spec:
  subject: {user: alice}
  role: cluster-operator
  filter: finance-not-prod
---
apiVersion: strata.dev/v1alpha1
kind: RoleBinding
metadata: {name: platform-viewers}
spec:
  subject: {team: platform}
  role: cluster-viewer
---
apiVersion: strata.dev/v1alpha1
kind: Team
metadata: {name: platform}
spec:
  members: [alice, bob, carol, dave, erin]
  entraGroups: [0b9a3f1e-7c2d-4e5f-8a6b-9c0d1e2f3a4b, 1c0b4a2f-8d3e-4f60-9b7c-0d1e2f3a4b5c]
---
apiVersion: strata.dev/v1alpha1
kind: User
metadata: {name: alice}
spec: {displayName: Alice Martin, email: alice@example.com}
---
apiVersion: strata.dev/v1alpha1
kind: TagFilter
metadata: {name: finance-not-prod}
spec:
  filters:
  - {key: department, values: [finance]}
  - {key: env, values: [prod], negation: true}
---
apiVersion: strata.dev/v1alpha1
kind: Role
metadata: {name: cluster-operator}
spec:
  permissions: [cluster.get, cluster.list, cluster.update, cluster.kubeconfig]
`

func TestResolveAccessKinds(t *testing.T) {
	cases := map[string]string{
		"role": v1alpha1.KindRole, "Roles": v1alpha1.KindRole,
		"tagfilter": v1alpha1.KindTagFilter, "tagfilters": v1alpha1.KindTagFilter, "filter": v1alpha1.KindTagFilter, "filters": v1alpha1.KindTagFilter,
		"user": v1alpha1.KindUser, "users": v1alpha1.KindUser,
		"team": v1alpha1.KindTeam, "teams": v1alpha1.KindTeam,
		"rolebinding": v1alpha1.KindRoleBinding, "RoleBindings": v1alpha1.KindRoleBinding, "binding": v1alpha1.KindRoleBinding, "bindings": v1alpha1.KindRoleBinding,
	}
	for in, want := range cases {
		if got, err := ResolveKind(in); err != nil || got != want {
			t.Errorf("ResolveKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestPrintAccessTables(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, accessYAML, now.Add(-3*time.Minute))
	tests := []struct {
		kind string
		wide bool
		want string
	}{
		{v1alpha1.KindRole, false, "" +
			"NAME               PERMISSIONS                                  AGE\n" +
			"cluster-operator   cluster.get,cluster.list,cluster.update +1   3m\n"},
		{v1alpha1.KindTagFilter, false, "" +
			"NAME               EXPRESSION                            AGE\n" +
			"finance-not-prod   department:finance AND NOT env:prod   3m\n"},
		{v1alpha1.KindUser, true, "" +
			"NAME    DISPLAY-NAME   EMAIL               AGE   DISABLED\n" +
			"alice   Alice Martin   alice@example.com   3m    false\n"},
		{v1alpha1.KindTeam, false, "" +
			"NAME       MEMBERS              GROUPS   AGE\n" +
			"platform   alice,bob,carol +2   2        3m\n"},
		{v1alpha1.KindRoleBinding, false, "" +
			"NAME               SUBJECT         ROLE               FILTER             AGE\n" +
			"alice-finance      user/alice      cluster-operator   finance-not-prod   3m\n" +
			"platform-viewers   team/platform   cluster-viewer     <none>             3m\n"},
	}
	for _, tc := range tests {
		var ofKind []v1alpha1.Object
		for _, o := range objs {
			if o.GetTypeMeta().Kind == tc.kind {
				ofKind = append(ofKind, o)
			}
		}
		var b bytes.Buffer
		if err := printTable(&b, tc.kind, ofKind, now, tc.wide); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s table:\n%s\nwant:\n%s", tc.kind, b.String(), tc.want)
		}
	}
}

func TestFilterExpression(t *testing.T) {
	clause := func(key string, negation bool, values ...string) v1alpha1.TagFilterClause {
		return v1alpha1.TagFilterClause{Key: key, Operator: "eq", Values: values, Negation: negation}
	}
	tests := []struct {
		spec v1alpha1.TagFilterSpec
		want string
	}{
		{v1alpha1.TagFilterSpec{Conjunction: "and", Filters: []v1alpha1.TagFilterClause{clause("department", false, "finance"), clause("env", true, "prod")}},
			"department:finance AND NOT env:prod"},
		{v1alpha1.TagFilterSpec{Conjunction: "or", Filters: []v1alpha1.TagFilterClause{clause("env", false, "prod", "staging"), clause("owner", true, "")}},
			`env:(prod OR staging) OR NOT owner:""`},
		{v1alpha1.TagFilterSpec{Conjunction: "and", Filters: []v1alpha1.TagFilterClause{clause("team", false, "a b")}}, `team:"a b"`},
		{v1alpha1.TagFilterSpec{Conjunction: "and"}, "<none>"},
	}
	for _, tc := range tests {
		if got := filterExpression(tc.spec); got != tc.want {
			t.Errorf("filterExpression(%+v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// TestAccessVerbs applies, gets, describes and deletes access-control objects through a real
// server: a role in use by a binding is not deleted, and deleting by file goes in reverse
// dependency order.
func TestAccessVerbs(t *testing.T) {
	srv, _ := apiServer(t)
	file := writeFile(t, t.TempDir(), "access.yaml", accessYAML)
	code, out, errOut := run(t, "", "--server", srv, "apply", "-f", file)
	wantApplied := "role/cluster-operator created\ntagfilter/finance-not-prod created\nuser/alice created\nteam/platform created\n" +
		"rolebinding/alice-finance created\nrolebinding/platform-viewers created\n"
	if code != 0 || out != wantApplied {
		t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want [][]string // rows, AGE cells left out
	}{
		{[]string{"get", "roles"}, [][]string{{"NAME", "PERMISSIONS", "AGE"}, {"cluster-operator", "cluster.get,cluster.list,cluster.update", "+1"}}},
		{[]string{"get", "filters"}, [][]string{{"NAME", "EXPRESSION", "AGE"}, {"finance-not-prod", "department:finance", "AND", "NOT", "env:prod"}}},
		{[]string{"get", "bindings", "alice-finance"}, [][]string{{"NAME", "SUBJECT", "ROLE", "FILTER", "AGE"}, {"alice-finance", "user/alice", "cluster-operator", "finance-not-prod"}}},
		{[]string{"get", "teams"}, [][]string{{"NAME", "MEMBERS", "GROUPS", "AGE"}, {"platform", "alice,bob,carol", "+2", "2"}}},
	} {
		code, out, errOut := run(t, "", append([]string{"--server", srv}, tc.args...)...)
		got := fields(out)
		if code != 0 || len(got) != len(tc.want) {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, out, errOut)
		}
		for i := range got {
			if row := got[i]; i > 0 && strings.Join(row[:len(row)-1], " ") != strings.Join(tc.want[i], " ") {
				t.Errorf("%v line %d = %q, want %q and an age", tc.args, i, row, tc.want[i])
			} else if i == 0 && strings.Join(row, " ") != strings.Join(tc.want[0], " ") {
				t.Errorf("%v headers = %q, want %q", tc.args, row, tc.want[0])
			}
		}
	}

	code, out, errOut = run(t, "", "--server", srv, "describe", "filter", "finance-not-prod")
	for _, want := range []string{"Kind:               TagFilter\n", "Expression:         department:finance AND NOT env:prod\n",
		"Spec:\n  conjunction: and\n  filters:\n    - key: department\n      operator: eq\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe filter: exit %d, lacks %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
		}
	}

	code, _, errOut = run(t, "", "--server", srv, "delete", "role", "cluster-operator")
	if code != 1 || !strings.Contains(errOut, `Role "cluster-operator" is in use by RoleBinding "alice-finance"`) {
		t.Errorf("delete a role in use: exit %d\nstderr:\n%s", code, errOut)
	}
	code, out, errOut = run(t, "", "--server", srv, "delete", "-f", file)
	wantDeleted := "rolebinding/alice-finance deleted\nrolebinding/platform-viewers deleted\nteam/platform deleted\nuser/alice deleted\n" +
		"tagfilter/finance-not-prod deleted\nrole/cluster-operator deleted\n"
	if code != 0 || out != wantDeleted {
		t.Errorf("delete -f: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
