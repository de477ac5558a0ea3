package authz

import (
	"slices"
	"testing"
)

var (
	financeFilter = Filter{Name: "finance", Conjunction: "and", Filters: []Clause{eq("department", "finance")}}
	hrFilter      = Filter{Name: "hr", Conjunction: "and", Filters: []Clause{eq("department", "hr")}}
	prodFilter    = Filter{Name: "prod-not-finance", Conjunction: "and",
		Filters: []Clause{eq("env", "prod"), not(eq("department", "finance"))}}
)

func mustPolicy(t *testing.T, roles []Role, filters []Filter, bindings []Binding) *Policy {
	t.Helper()
	p, err := NewPolicy(roles, filters, bindings)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

func TestNewPolicyErrors(t *testing.T) {
	user := Subject{User: "bob"}
	tests := []struct {
		name     string
		roles    []Role
		filters  []Filter
		bindings []Binding
		wantErr  string
	}{
		{"ok", []Role{{Name: "auditor", Permissions: []string{"audit.*"}}}, []Filter{financeFilter},
			[]Binding{{Name: "b", Subject: user, Role: "auditor"}, {Name: "c", Subject: user, Role: RoleClusterEditor, Filter: "finance"}}, ""},
		{"unknown role", nil, nil, []Binding{{Name: "b", Subject: user, Role: "cluster-editr"}},
			`binding "b": role "cluster-editr" does not exist`},
		{"unknown filter", nil, nil, []Binding{{Name: "b", Subject: user, Role: RoleAdmin, Filter: "finanse"}},
			`binding "b": filter "finanse" does not exist`},
		{"binding without subject", nil, nil, []Binding{{Name: "b", Role: RoleAdmin}},
			`binding "b": subject: a binding names exactly one of user and team`},
		{"binding with two subjects", nil, nil, []Binding{{Name: "b", Subject: Subject{User: "a", Team: "t"}, Role: RoleAdmin}},
			"exactly one of user and team"},
		{"binding without role", nil, nil, []Binding{{Name: "b", Subject: user}}, `binding "b": role: required`},
		{"binding without name", nil, nil, []Binding{{Subject: user, Role: RoleAdmin}}, `binding "": a name is required`},
		{"binding twice", nil, nil, []Binding{{Name: "b", Subject: user, Role: RoleAdmin}, {Name: "b", Subject: user, Role: RoleAdmin}},
			`binding "b": defined twice`},
		{"role named like a built-in", []Role{{Name: RoleAdmin, Permissions: []string{"cluster.get"}}}, nil, nil,
			`role "admin": a built-in role has this name`},
		{"role twice", []Role{{Name: "r", Permissions: []string{"cluster.get"}}, {Name: "r", Permissions: []string{"cluster.get"}}}, nil, nil,
			`role "r": defined twice`},
		{"invalid role", []Role{{Name: "r", Permissions: []string{"clustr.get"}}}, nil, nil,
			`role "r": permissions[0]: permission "clustr.get": unknown kind "clustr"`},
		{"invalid filter", nil, []Filter{{Name: "f", Conjunction: "and", Filters: []Clause{{Key: "env", Operator: "ne", Values: []string{"x"}}}}}, nil,
			`filter "f": filters[0].operator: "ne" is not supported`},
		{"empty filter", nil, []Filter{{Name: "f", Conjunction: "and"}}, nil, `filter "f": filters: a filter needs at least one clause`},
		{"filter twice", nil, []Filter{financeFilter, financeFilter}, nil, `filter "finance": defined twice`},
		{"binding to an invalid role", []Role{{Name: "r"}}, nil, []Binding{{Name: "b", Subject: user, Role: "r"}},
			`binding "b": role "r" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.roles, tt.filters, tt.bindings)
			checkErr(t, err, tt.wantErr)
			if (p == nil) != (err != nil) {
				t.Errorf("policy %v with error %v", p, err)
			}
		})
	}
}

func TestDecideUnionAndReasons(t *testing.T) {
	p := mustPolicy(t,
		[]Role{{Name: "kubeconfig-only", Permissions: []string{"cluster.kubeconfig"}}},
		[]Filter{financeFilter, hrFilter, prodFilter},
		[]Binding{
			{Name: "finance-editors", Subject: Subject{Team: "finance"}, Role: RoleClusterEditor, Filter: "finance"},
			{Name: "hr-viewers", Subject: Subject{User: "erin"}, Role: RoleClusterViewer, Filter: "hr"},
			{Name: "erin-kubeconfig", Subject: Subject{User: "erin"}, Role: "kubeconfig-only"},
			{Name: "root", Subject: Subject{User: "root"}, Role: RoleAdmin},
		})
	erin := Principal{Name: "erin", Teams: []string{"finance"}}
	fin := map[string]string{"department": "finance"}
	hr := map[string]string{"department": "hr"}
	legal := map[string]string{"department": "legal"}
	tests := []struct {
		name        string
		pr          Principal
		req         Request
		wantAllowed bool
		wantBinding string
		wantReason  string
	}{
		{"team binding", erin, Request{Permission: "cluster.update", Tags: fin}, true, "finance-editors",
			"binding finance-editors allows cluster.update on objects matching filter finance"},
		{"user binding", erin, Request{Permission: "cluster.get", Tags: hr}, true, "hr-viewers",
			"binding hr-viewers allows cluster.get on objects matching filter hr"},
		{"union: other binding's filter", erin, Request{Permission: "cluster.get", Tags: fin}, true, "finance-editors", ""},
		{"union: unscoped binding", erin, Request{Permission: "cluster.kubeconfig", Tags: legal}, true, "erin-kubeconfig",
			"binding erin-kubeconfig allows cluster.kubeconfig on every object"},
		{"role lacks permission", erin, Request{Permission: "cluster.kubeconfig-admin", Tags: fin}, false, "",
			"no binding grants cluster.kubeconfig-admin"},
		{"no filter matches", erin, Request{Permission: "cluster.get", Tags: legal}, false, "",
			"no binding grants cluster.get on this object: tag department:legal is outside every filter that lets you get clusters"},
		{"missing key", erin, Request{Permission: "cluster.update", Tags: nil}, false, "",
			"no binding grants cluster.update on this object: tag department is missing: every filter that lets you update clusters needs it"},
		{"not a member of the team", Principal{Name: "erin"}, Request{Permission: "cluster.update", Tags: fin}, false, "",
			"no binding grants cluster.update"},
		{"unknown principal", Principal{Name: "zed"}, Request{Permission: "cluster.get", Tags: fin}, false, "", "no binding grants cluster.get"},
		{"team named like a user", Principal{Name: "x", Teams: []string{"erin"}}, Request{Permission: "cluster.get", Tags: hr}, false, "", ""},
		{"kind-wide, scoped binding", erin, Request{Permission: "cluster.list", KindWide: true}, true, "finance-editors",
			"binding finance-editors allows cluster.list on objects matching filter finance"},
		{"kind-wide, no binding", erin, Request{Permission: "user.list", KindWide: true}, false, "", "no binding grants user.list"},
		{"admin", Principal{Name: "root"}, Request{Permission: "audit.get", Tags: legal}, true, "root",
			"binding root allows audit.get on every object"},
		{"invalid permission", Principal{Name: "root"}, Request{Permission: "cluster.fly"}, false, "",
			`permission "cluster.fly": unknown verb "fly" for kind cluster (verbs: get, list, create, update, delete, kubeconfig, kubeconfig-admin, or *)`},
		{"wildcard request", Principal{Name: "root"}, Request{Permission: "*"}, false, "",
			`permission "*": a request names one kind and one verb, not a wildcard`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.pr, tt.req)
			if d.Allowed != tt.wantAllowed || d.Binding != tt.wantBinding {
				t.Errorf("Decide = %+v, want allowed %v by %q", d, tt.wantAllowed, tt.wantBinding)
			}
			if tt.wantReason != "" && d.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", d.Reason, tt.wantReason)
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

func TestDecideNamesUnscopedBindingFirst(t *testing.T) {
	p := mustPolicy(t, nil, []Filter{financeFilter}, []Binding{
		{Name: "a-scoped", Subject: Subject{User: "u"}, Role: RoleClusterEditor, Filter: "finance"},
		{Name: "b-scoped", Subject: Subject{User: "u"}, Role: RoleClusterViewer, Filter: "finance"},
		{Name: "c-unscoped", Subject: Subject{User: "u"}, Role: RoleClusterViewer},
	})
	u := Principal{Name: "u"}
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Permission: "cluster.get", Tags: map[string]string{"department": "finance"}}, "c-unscoped"},
		{Request{Permission: "cluster.list", KindWide: true}, "c-unscoped"},
		{Request{Permission: "cluster.update", Tags: map[string]string{"department": "finance"}}, "a-scoped"},
	}
	for _, tt := range tests {
		if d := p.Decide(u, tt.req); d.Binding != tt.want {
			t.Errorf("Decide(%+v) by %q, want %q", tt.req, d.Binding, tt.want)
		}
	}
}

func TestDenyReasonWithoutOneTag(t *testing.T) {
	p := mustPolicy(t, nil, []Filter{financeFilter, {Name: "dev", Conjunction: "and", Filters: []Clause{eq("env", "dev")}}}, []Binding{
		{Name: "fin", Subject: Subject{User: "u"}, Role: RoleClusterViewer, Filter: "finance"},
		{Name: "dev", Subject: Subject{User: "u"}, Role: RoleClusterViewer, Filter: "dev"},
	})
	d := p.Decide(Principal{Name: "u"}, Request{Permission: "cluster.get", Tags: map[string]string{"department": "hr", "env": "prod"}})
	want := "no binding grants cluster.get on this object: its tags (department:hr, env:prod) match none of the filters that let you get clusters (finance, dev)"
	if d.Allowed || d.Reason != want {
		t.Errorf("Decide = %+v, want reason %q", d, want)
	}
}

func TestCanSeeAndCanList(t *testing.T) {
	p := mustPolicy(t, nil, []Filter{financeFilter}, []Binding{
		{Name: "fin", Subject: Subject{User: "bob"}, Role: RoleClusterEditor, Filter: "finance"},
		{Name: "prof", Subject: Subject{User: "bob"}, Role: RoleProfileViewer},
	})
	bob := Principal{Name: "bob"}
	fin := map[string]string{"department": "finance"}
	tests := []struct {
		kind             string
		tags             map[string]string
		wantSee, wantLst bool
	}{
		{KindCluster, fin, true, true},
		{KindCluster, map[string]string{"department": "hr"}, false, true},
		{KindCluster, nil, false, true},
		{KindClusterProfile, nil, true, true},
		{KindCloudAccount, fin, true, true},
		{KindCloudAccount, nil, false, true},
		{KindPrivateCloudGateway, fin, false, false},
		{KindUser, fin, false, false},
	}
	for _, tt := range tests {
		if got := p.CanSee(bob, tt.kind, tt.tags); got != tt.wantSee {
			t.Errorf("CanSee(%s, %v) = %v, want %v", tt.kind, tt.tags, got, tt.wantSee)
		}
		if got := p.CanList(bob, tt.kind); got != tt.wantLst {
			t.Errorf("CanList(%s) = %v, want %v", tt.kind, got, tt.wantLst)
		}
	}
}

func TestCustomRoleWildcards(t *testing.T) {
	p := mustPolicy(t,
		[]Role{
			{Name: "gateways", Permissions: []string{"privateCloudGateway.*"}},
			{Name: "identity", Permissions: []string{"user.get", "team.*"}},
		}, nil,
		[]Binding{
			{Name: "g", Subject: Subject{User: "u"}, Role: "gateways"},
			{Name: "i", Subject: Subject{User: "u"}, Role: "identity"},
		})
	u := Principal{Name: "u"}
	tests := []struct {
		perm string
		want bool
	}{
		{"privateCloudGateway.token", true},
		{"privateCloudGateway.delete", true},
		{"cloudAccount.get", false},
		{"user.get", true},
		{"user.update", false},
		{"team.delete", true},
		{"role.get", false},
	}
	for _, tt := range tests {
		if got := p.Decide(u, Request{Permission: tt.perm}).Allowed; got != tt.want {
			t.Errorf("%s allowed %v, want %v", tt.perm, got, tt.want)
		}
	}
}

func TestBindingsOf(t *testing.T) {
	p := mustPolicy(t, nil, []Filter{financeFilter}, []Binding{
		{Name: "fin", Subject: Subject{User: "bob"}, Role: RoleClusterEditor, Filter: "finance"},
		{Name: "team", Subject: Subject{Team: "viewers"}, Role: RoleClusterViewer},
		{Name: "carol", Subject: Subject{User: "carol"}, Role: RoleProfileViewer},
	})
	tests := []struct {
		who  Principal
		want []string
	}{
		{Principal{Name: "bob"}, []string{"fin"}},
		{Principal{Name: "bob", Teams: []string{"viewers"}}, []string{"team", "fin"}},
		{Principal{Name: "carol"}, []string{"carol"}},
		{Principal{Name: "dave", Teams: []string{"others"}}, nil},
	}
	for _, tt := range tests {
		if got := p.BindingsOf(tt.who); !slices.Equal(got, tt.want) {
			t.Errorf("BindingsOf(%+v) = %v, want %v", tt.who, got, tt.want)
		}
	}
}
