package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// accessObjects are the objects of docs/access.md's example, in dependency order: a custom role,
// a filter, two users, a team and two bindings (one of a built-in role).
const accessObjects = `apiVersion: strata.dev/v1alpha1
kind: Role
metadata: {name: cluster-operator, labels: {owner: platform}}
spec:
  permissions: [cluster.get, cluster.list, cluster.update, cluster.kubeconfig]
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
kind: User
metadata: {name: alice}
spec: {displayName: Alice Martin, email: alice@example.com}
---
apiVersion: strata.dev/v1alpha1
kind: User
metadata: {name: bob}
spec: {disabled: true}
---
apiVersion: strata.dev/v1alpha1
kind: Team
metadata: {name: platform}
spec:
  members: [alice, bob]
  entraGroups: [0b9a3f1e-7c2d-4e5f-8a6b-9c0d1e2f3a4b]
---
apiVersion: strata.dev/v1alpha1
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
`

// applyAccessObjects PUTs each of accessObjects and returns them, decoded and defaulted.
func applyAccessObjects(t *testing.T, ts *testServer) []v1alpha1.Object {
	t.Helper()
	objs, err := v1alpha1.Decode([]byte(accessObjects))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		v1alpha1.Default(obj)
		if r := ts.apply(obj, ""); r.code != http.StatusCreated || r.header.Get(ApplyResultHeader) != ApplyCreated {
			t.Fatalf("apply %s %s: %d %s", obj.GetTypeMeta().Kind, obj.Key(), r.code, r.body)
		}
	}
	return objs
}

// TestAccessObjectsOverHTTP applies users, teams, roles, filters and bindings over the real API
// on each store, reads them back one by one and listed, applies them again unchanged, watches
// them change, and deletes them in reverse order once nothing refers to them.
func TestAccessObjectsOverHTTP(t *testing.T) {
	for _, sto := range testStores {
		t.Run(sto.name, func(t *testing.T) {
			ts := newTestServerOn(t, sto.open(t))
			objs := applyAccessObjects(t, ts)
			for _, obj := range objs {
				kind := obj.GetTypeMeta().Kind
				got := ts.get(kind, obj.Key(), http.StatusOK).object(t, kind)
				if a, b := specOf(t, got), specOf(t, obj); a != b {
					t.Errorf("%s %s read back with spec %s, applied %s", kind, obj.Key(), a, b)
				}
				if got.GetMetadata().UID == "" || got.GetMetadata().Generation != 1 {
					t.Errorf("%s %s: metadata %+v", kind, obj.Key(), *got.GetMetadata())
				}
				if r := ts.apply(obj, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyUnchanged {
					t.Errorf("apply %s %s again: %d %s %s", kind, obj.Key(), r.code, r.header.Get(ApplyResultHeader), r.body)
				}
			}
			for kind, want := range map[string][]string{
				v1alpha1.KindRole: {"cluster-operator"}, v1alpha1.KindTagFilter: {"finance-not-prod"},
				v1alpha1.KindUser: {"alice", "bob"}, v1alpha1.KindTeam: {"platform"},
				v1alpha1.KindRoleBinding: {"alice-finance", "platform-viewers"},
			} {
				if got := listNames(t, ts, kind); !slices.Equal(got, want) {
					t.Errorf("list %s: %v, want %v", v1alpha1.Plural(kind), got, want)
				}
			}
			filter := ts.get(v1alpha1.KindTagFilter, "finance-not-prod", http.StatusOK).object(t, v1alpha1.KindTagFilter).(*v1alpha1.TagFilter)
			if f := filter.Spec; f.Conjunction != "and" || f.Filters[0].Operator != "eq" || !f.Filters[1].Negation {
				t.Errorf("filter defaults not stored: %+v", f)
			}

			ws := ts.startWatch(t, v1alpha1.KindUser, "&resourceVersion="+ts.listVersion(t, v1alpha1.KindUser))
			bob := objs[3].(*v1alpha1.User)
			bob.Spec.Disabled = false
			if r := ts.apply(bob, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
				t.Fatalf("enable bob: %d %s", r.code, r.body)
			}
			if got := ws.next(1); !strings.HasPrefix(got[0], "MODIFIED User bob@") {
				t.Errorf("user watch: %v", got)
			}

			for i := len(objs) - 1; i >= 0; i-- {
				if r := ts.do(http.MethodDelete, objPath(objs[i]), nil, ""); r.code != http.StatusOK {
					t.Errorf("delete %s %s: %d %s", objs[i].GetTypeMeta().Kind, objs[i].Key(), r.code, r.body)
				}
			}
			for _, kind := range v1alpha1.Kinds {
				if got := listNames(t, ts, kind); len(got) != 0 {
					t.Errorf("%s left after the deletes: %v", v1alpha1.Plural(kind), got)
				}
			}
		})
	}
}

// TestAccessReferencesInUse checks that a role, a filter, a user and a team that a binding
// refers to cannot be deleted (409 InUse naming the binding, as for the other kinds), and can
// once the binding is gone; and that a binding to an object that does not exist is refused
// with the field that names it.
func TestAccessReferencesInUse(t *testing.T) {
	ts := newTestServer(t)
	objs := applyAccessObjects(t, ts)
	inUse := []struct {
		kind, key, by string
	}{
		{v1alpha1.KindRole, "cluster-operator", `RoleBinding "alice-finance"`},
		{v1alpha1.KindTagFilter, "finance-not-prod", `RoleBinding "alice-finance"`},
		{v1alpha1.KindUser, "alice", `RoleBinding "alice-finance"`},
		{v1alpha1.KindTeam, "platform", `RoleBinding "platform-viewers"`},
	}
	for _, tc := range inUse {
		r := ts.do(http.MethodDelete, kindPath(tc.kind)+"/"+tc.key, nil, "")
		st := r.status(t)
		if r.code != http.StatusConflict || st.Reason != ReasonInUse {
			t.Fatalf("delete %s %s in use: %d %s", tc.kind, tc.key, r.code, r.body)
		}
		mustContain(t, "message", st.Message, `is in use by `+tc.by)
		ts.get(tc.kind, tc.key, http.StatusOK)
	}
	// A user no binding names goes at once, although a team lists it.
	if r := ts.do(http.MethodDelete, kindPath(v1alpha1.KindUser)+"/bob", nil, ""); r.code != http.StatusOK {
		t.Fatalf("delete bob: %d %s", r.code, r.body)
	}

	binding := objs[5].(*v1alpha1.RoleBinding)
	binding.Metadata.Name = "to-nobody"
	binding.Spec.Subject.User = "bob"
	binding.Spec.Role = "cluster-operators"
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindRoleBinding), encode(t, binding), "application/json")
	if st := r.status(t); r.code != http.StatusUnprocessableEntity || !hasError(st, "spec.subject.user", v1alpha1.RuleNotFound) ||
		!hasError(st, "spec.role", v1alpha1.RuleNotFound) || len(st.Errors) != 2 {
		t.Fatalf("binding to a deleted user and a missing role: %d %s", r.code, r.body)
	}

	for _, b := range []string{"alice-finance", "platform-viewers"} {
		if r := ts.do(http.MethodDelete, kindPath(v1alpha1.KindRoleBinding)+"/"+b, nil, ""); r.code != http.StatusOK {
			t.Fatalf("delete binding %s: %d %s", b, r.code, r.body)
		}
	}
	for _, tc := range inUse {
		if r := ts.do(http.MethodDelete, kindPath(tc.kind)+"/"+tc.key, nil, ""); r.code != http.StatusOK {
			t.Errorf("delete %s %s once no binding refers to it: %d %s", tc.kind, tc.key, r.code, r.body)
		}
	}
}

// specOf is the JSON of an object's spec.
func specOf(t *testing.T, obj v1alpha1.Object) string {
	t.Helper()
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	data, err := json.Marshal(obj)
	if err != nil || json.Unmarshal(data, &doc) != nil {
		t.Fatalf("spec of %s: %v", obj.Key(), err)
	}
	return string(doc.Spec)
}

// listNames lists kind over the API and returns the names, in the order listed.
func listNames(t *testing.T, ts *testServer, kind string) []string {
	t.Helper()
	r := ts.do(http.MethodGet, kindPath(kind), nil, "")
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || r.code != http.StatusOK {
		t.Fatalf("list %s: %d %s", kind, r.code, r.body)
	}
	names := []string{}
	for _, it := range list.Items {
		names = append(names, it.Metadata.Name)
	}
	return names
}
