package authz

import (
	"errors"
	"testing"
)

func TestCheckWrite(t *testing.T) {
	p := mustPolicy(t, nil,
		[]Filter{financeFilter, hrFilter, prodFilter,
			{Name: "finance-or-legal", Conjunction: "or", Filters: []Clause{eq("department", "finance"), eq("department", "legal")}}},
		[]Binding{
			{Name: "finance-editors", Subject: Subject{User: "bob"}, Role: RoleClusterEditor, Filter: "finance"},
			{Name: "hr-editors", Subject: Subject{Team: "hr"}, Role: RoleClusterEditor, Filter: "hr"},
			{Name: "prod-editors", Subject: Subject{User: "pat"}, Role: RoleClusterEditor, Filter: "prod-not-finance"},
			{Name: "profiles", Subject: Subject{User: "pat"}, Role: RoleProfileEditor},
			{Name: "fl", Subject: Subject{User: "fl"}, Role: RoleClusterEditor, Filter: "finance-or-legal"},
		})
	bob := Principal{Name: "bob"}
	both := Principal{Name: "bob", Teams: []string{"hr"}}
	pat := Principal{Name: "pat"}
	fin := map[string]string{"department": "finance"}
	hr := map[string]string{"department": "hr"}
	legal := map[string]string{"department": "legal"}
	prodFin := map[string]string{"env": "prod", "department": "finance"}
	tests := []struct {
		name     string
		pr       Principal
		perm     string
		old, new map[string]string
		wantErr  string
		wantTag  string
	}{
		{"create in scope", bob, "cluster.create", nil, fin, "", ""},
		{"create, old tags ignored", bob, "cluster.create", hr, fin, "", ""},
		{"create out of scope", bob, "cluster.create", nil, hr,
			"tag department:hr is outside every filter that lets you create clusters", "department:hr"},
		{"create untagged", bob, "cluster.create", nil, nil,
			"tag department is missing: every filter that lets you create clusters needs it", "department"},
		{"update in scope", bob, "cluster.update", fin, fin, "", ""},
		{"update into another scope", bob, "cluster.update", fin, hr,
			"tag department:hr is outside every filter that lets you update clusters", "department:hr"},
		{"update from another scope", bob, "cluster.update", hr, fin,
			"the object as it is: tag department:hr is outside every filter that lets you update clusters", "department:hr"},
		{"update an untagged object", bob, "cluster.update", nil, fin,
			"the object as it is: tag department is missing", "department"},
		{"update across two bindings", both, "cluster.update", fin, hr, "", ""},
		{"negated clause blames the present tag", pat, "cluster.create", nil, prodFin,
			"tag department:finance is outside every filter that lets you create clusters", "department:finance"},
		{"negated filter, missing key", pat, "cluster.create", nil, map[string]string{"env": "prod"}, "", ""},
		{"negated filter, missing env", pat, "cluster.create", nil, hr,
			"tag env is missing: every filter that lets you create clusters needs it", "env"},
		{"unscoped binding allows any tags", pat, "clusterProfile.update", fin, nil, "", ""},
		{"or filter, second clause", Principal{Name: "fl"}, "cluster.update", fin, legal, "", ""},
		{"or filter, out of scope", Principal{Name: "fl"}, "cluster.update", fin, hr,
			"tag department:hr is outside every filter that lets you update clusters", "department:hr"},
		{"two filters, no common key", both, "cluster.create", nil, map[string]string{"department": "legal"},
			"tag department:legal is outside every filter", "department:legal"},
		{"no grant", bob, "cloudAccount.create", nil, fin, "no binding grants cloudAccount.create", ""},
		{"other principal", Principal{Name: "zed"}, "cluster.create", nil, fin, "no binding grants cluster.create", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.CheckWrite(tt.pr, tt.perm, tt.old, tt.new)
			checkErr(t, err, tt.wantErr)
			if err == nil {
				return
			}
			var denied *DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("error %v is not a *DeniedError", err)
			}
			if denied.Tag != tt.wantTag || denied.Permission != tt.perm {
				t.Errorf("denied tag %q permission %q, want %q %q", denied.Tag, denied.Permission, tt.wantTag, tt.perm)
			}
		})
	}
}

func TestCheckWriteBlamesNoTagAcrossFilters(t *testing.T) {
	p := mustPolicy(t, nil, []Filter{financeFilter, {Name: "dev", Conjunction: "and", Filters: []Clause{eq("env", "dev")}}}, []Binding{
		{Name: "fin", Subject: Subject{User: "u"}, Role: RoleClusterEditor, Filter: "finance"},
		{Name: "dev", Subject: Subject{User: "u"}, Role: RoleClusterEditor, Filter: "dev"},
	})
	err := p.CheckWrite(Principal{Name: "u"}, "cluster.create", nil, nil)
	want := "its tags (none) match none of the filters that let you create clusters (finance, dev)"
	var denied *DeniedError
	if !errors.As(err, &denied) || err.Error() != want || denied.Tag != "" {
		t.Errorf("CheckWrite = %v, want a *DeniedError %q with no tag", err, want)
	}
}

func TestCheckWriteWrongCalls(t *testing.T) {
	p := mustPolicy(t, nil, nil, []Binding{{Name: "a", Subject: Subject{User: "a"}, Role: RoleAdmin}})
	tests := []struct {
		perm, wantErr string
	}{
		{"cluster.delete", `check write: permission "cluster.delete": CheckWrite takes create or update; ask Decide about delete`},
		{"cluster.get", "CheckWrite takes create or update"},
		{"cluster.*", "check write: permission \"cluster.*\": a request names one kind and one verb"},
		{"clustr.create", `check write: permission "clustr.create": unknown kind "clustr"`},
	}
	for _, tt := range tests {
		t.Run(tt.perm, func(t *testing.T) {
			err := p.CheckWrite(Principal{Name: "a"}, tt.perm, nil, nil)
			checkErr(t, err, tt.wantErr)
			var denied *DeniedError
			if errors.As(err, &denied) {
				t.Errorf("a wrong call is a *DeniedError: %v", err)
			}
		})
	}
}
