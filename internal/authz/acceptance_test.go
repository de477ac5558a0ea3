package authz

import (
	"slices"
	"strings"
	"testing"
)

// The four principals of issue 14's acceptance: an admin; a cluster editor with filter
// department:finance; a viewer (through a team) with env:prod AND NOT department:finance; a
// user with no grant.
var (
	alice = Principal{Name: "alice"}
	bob   = Principal{Name: "bob"}
	carol = Principal{Name: "carol", Teams: []string{"viewers"}}
	dave  = Principal{Name: "dave", Teams: []string{"interns"}}
)

func acceptancePolicy(t *testing.T) *Policy {
	return mustPolicy(t, nil, []Filter{financeFilter, prodFilter}, []Binding{
		{Name: "admins", Subject: Subject{User: "alice"}, Role: RoleAdmin},
		{Name: "finance-editors", Subject: Subject{User: "bob"}, Role: RoleClusterEditor, Filter: "finance"},
		{Name: "prod-viewers", Subject: Subject{Team: "viewers"}, Role: RoleClusterViewer, Filter: "prod-not-finance"},
	})
}

// The objects of the matrix, by their tags: matching, not matching and missing tags for each
// principal's filter.
var acceptanceObjects = []struct {
	name string
	tags map[string]string
}{
	{"finance-prod", map[string]string{"department": "finance", "env": "prod"}},
	{"hr-prod", map[string]string{"department": "hr", "env": "prod"}},
	{"prod-untagged-department", map[string]string{"env": "prod"}},
	{"finance-dev", map[string]string{"department": "finance", "env": "dev"}},
	{"untagged", nil},
}

func TestAcceptanceMatrix(t *testing.T) {
	p := acceptancePolicy(t)
	editor := []string{"cluster.get", "cluster.list", "cluster.create", "cluster.update", "cluster.delete", "cluster.kubeconfig",
		"cloudAccount.use", "cloudAccount.get", "cloudAccount.list", "clusterProfile.use", "clusterProfile.get", "clusterProfile.list"}
	tests := []struct {
		pr      Principal
		perms   []string // the permissions allowed, unless all
		all     bool     // every permission is allowed
		objects []string // the objects they are allowed on
		binding string
	}{
		{alice, nil, true, []string{"finance-prod", "hr-prod", "prod-untagged-department", "finance-dev", "untagged"}, "admins"},
		{bob, editor, false, []string{"finance-prod", "finance-dev"}, "finance-editors"},
		{carol, []string{"cluster.get", "cluster.list"}, false, []string{"hr-prod", "prod-untagged-department"}, "prod-viewers"},
		{dave, nil, false, nil, ""},
	}
	cells := 0
	for _, tt := range tests {
		t.Run(tt.pr.Name, func(t *testing.T) {
			for _, kind := range Kinds() {
				for _, verb := range Verbs(kind) {
					perm := Perm(kind, verb)
					granted := tt.all || slices.Contains(tt.perms, perm)
					for _, o := range acceptanceObjects {
						cells++
						want := granted && slices.Contains(tt.objects, o.name)
						d := p.Decide(tt.pr, Request{Permission: perm, Tags: o.tags})
						checkDecision(t, d, want, tt.binding, perm+" on "+o.name)
						if verb == VerbGet && p.CanSee(tt.pr, kind, o.tags) != want {
							t.Errorf("CanSee(%s, %s) != %v", kind, o.name, want)
						}
					}
					kindWide := p.Decide(tt.pr, Request{Permission: perm, KindWide: true})
					checkDecision(t, kindWide, granted, tt.binding, perm+" kind-wide")
					if verb == VerbList && p.CanList(tt.pr, kind) != granted {
						t.Errorf("CanList(%s) != %v", kind, granted)
					}
				}
			}
		})
	}
	if want := 4 * 58 * len(acceptanceObjects); cells != want {
		t.Errorf("%d cells, want %d", cells, want)
	}
}

func checkDecision(t *testing.T, d Decision, want bool, binding, what string) {
	t.Helper()
	if d.Allowed != want {
		t.Errorf("%s: allowed %v, want %v (%s)", what, d.Allowed, want, d.Reason)
		return
	}
	if want && (d.Binding != binding || !strings.Contains(d.Reason, "binding "+binding+" allows")) {
		t.Errorf("%s: decided by %q (%s), want %q", what, d.Binding, d.Reason, binding)
	}
	if !want && (d.Binding != "" || !strings.HasPrefix(d.Reason, "no binding grants")) {
		t.Errorf("%s: refused with binding %q, reason %q", what, d.Binding, d.Reason)
	}
}

func TestAcceptanceTagEscalation(t *testing.T) {
	p := acceptancePolicy(t)
	finance := map[string]string{"department": "finance", "env": "prod"}
	hr := map[string]string{"department": "hr", "env": "prod"}
	tests := []struct {
		name     string
		pr       Principal
		perm     string
		old, new map[string]string
		wantErr  string
	}{
		{"editor retags finance to hr", bob, "cluster.update", finance, hr,
			"tag department:hr is outside every filter that lets you update clusters"},
		{"editor creates untagged", bob, "cluster.create", nil, nil,
			"tag department is missing: every filter that lets you create clusters needs it"},
		{"editor creates finance", bob, "cluster.create", nil, finance, ""},
		{"editor updates finance, stays finance", bob, "cluster.update", finance, map[string]string{"department": "finance"}, ""},
		{"admin retags finance to hr", alice, "cluster.update", finance, hr, ""},
		{"admin creates untagged", alice, "cluster.create", nil, nil, ""},
		{"viewer cannot create", carol, "cluster.create", nil, hr, "no binding grants cluster.create"},
		{"no grant", dave, "cluster.create", nil, finance, "no binding grants cluster.create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, p.CheckWrite(tt.pr, tt.perm, tt.old, tt.new), tt.wantErr)
		})
	}
}

func TestUnscoped(t *testing.T) {
	p := acceptancePolicy(t)
	tests := []struct {
		pr   Principal
		perm string
		want bool
	}{
		{alice, "cluster.get", true},
		{bob, "cluster.get", false}, // only through the finance filter
		{carol, "cluster.get", false},
		{dave, "cluster.get", false},
		{bob, "cloudAccount.get", false},
	}
	for _, tt := range tests {
		if got := p.Unscoped(tt.pr, tt.perm); got != tt.want {
			t.Errorf("Unscoped(%s, %s) = %v, want %v", tt.pr.Name, tt.perm, got, tt.want)
		}
	}
}
