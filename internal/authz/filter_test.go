package authz

import (
	"errors"
	"maps"
	"testing"
)

func eq(key string, values ...string) Clause {
	return Clause{Key: key, Operator: OperatorEq, Values: values}
}

func not(c Clause) Clause {
	c.Negation = true
	return c
}

func TestFilterMatches(t *testing.T) {
	finance := map[string]string{"department": "finance", "env": "prod"}
	hr := map[string]string{"department": "hr", "env": "dev"}
	prodOnly := map[string]string{"env": "prod"}
	emptyValue := map[string]string{"department": ""}
	tests := []struct {
		name   string
		filter Filter
		tags   map[string]string
		want   bool
	}{
		{"eq hit", Filter{Conjunction: "and", Filters: []Clause{eq("department", "finance")}}, finance, true},
		{"eq miss", Filter{Conjunction: "and", Filters: []Clause{eq("department", "finance")}}, hr, false},
		{"eq one of several values", Filter{Conjunction: "and", Filters: []Clause{eq("department", "finance", "hr")}}, hr, true},
		{"eq none of several values", Filter{Conjunction: "and", Filters: []Clause{eq("department", "legal", "hr")}}, finance, false},
		{"eq values are case-sensitive", Filter{Conjunction: "and", Filters: []Clause{eq("department", "Finance")}}, finance, false},
		{"eq missing key", Filter{Conjunction: "and", Filters: []Clause{eq("department", "finance")}}, prodOnly, false},
		{"eq missing key, empty value accepted", Filter{Conjunction: "and", Filters: []Clause{eq("department", "")}}, prodOnly, false},
		{"eq empty value present", Filter{Conjunction: "and", Filters: []Clause{eq("department", "")}}, emptyValue, true},
		{"eq nil tags", Filter{Conjunction: "and", Filters: []Clause{eq("department", "finance")}}, nil, false},
		{"negation of a hit", Filter{Conjunction: "and", Filters: []Clause{not(eq("department", "finance"))}}, finance, false},
		{"negation of a miss", Filter{Conjunction: "and", Filters: []Clause{not(eq("department", "finance"))}}, hr, true},
		{"negation, missing key", Filter{Conjunction: "and", Filters: []Clause{not(eq("department", "finance"))}}, prodOnly, true},
		{"negation, nil tags", Filter{Conjunction: "and", Filters: []Clause{not(eq("department", "finance"))}}, nil, true},
		{"and: all hold", Filter{Conjunction: "and", Filters: []Clause{eq("env", "prod"), not(eq("department", "finance"))}}, prodOnly, true},
		{"and: one fails", Filter{Conjunction: "and", Filters: []Clause{eq("env", "prod"), not(eq("department", "finance"))}}, finance, false},
		{"and: other fails", Filter{Conjunction: "and", Filters: []Clause{eq("env", "prod"), not(eq("department", "finance"))}}, hr, false},
		{"or: first holds", Filter{Conjunction: "or", Filters: []Clause{eq("department", "finance"), eq("env", "dev")}}, finance, true},
		{"or: second holds", Filter{Conjunction: "or", Filters: []Clause{eq("department", "finance"), eq("env", "dev")}}, hr, true},
		{"or: none holds", Filter{Conjunction: "or", Filters: []Clause{eq("department", "finance"), eq("env", "dev")}}, prodOnly, false},
		{"or: negated missing key holds", Filter{Conjunction: "or", Filters: []Clause{eq("env", "dev"), not(eq("department", "hr"))}}, prodOnly, true},
		{"no clause never matches", Filter{Conjunction: "and"}, finance, false},
		{"unknown operator never matches, negated", Filter{Conjunction: "and", Filters: []Clause{{Key: "env", Operator: "in", Values: []string{"dev"}, Negation: true}}}, finance, false},
		{"unknown operator never matches", Filter{Conjunction: "and", Filters: []Clause{{Key: "env", Operator: "in", Values: []string{"prod"}}}}, finance, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Matches(tt.tags); got != tt.want {
				t.Errorf("Matches(%v) = %v, want %v", tt.tags, got, tt.want)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name    string
		filter  Filter
		wantErr string
	}{
		{"ok", Filter{Conjunction: "and", Filters: []Clause{eq("env", "prod")}}, ""},
		{"ok or", Filter{Conjunction: "or", Filters: []Clause{eq("env", "prod"), not(eq("department", "hr"))}}, ""},
		{"no clause", Filter{Conjunction: "and"}, "filters: a filter needs at least one clause"},
		{"no conjunction", Filter{Filters: []Clause{eq("env", "prod")}}, `conjunction: "" is not a conjunction: use "and" or "or"`},
		{"bad conjunction", Filter{Conjunction: "AND", Filters: []Clause{eq("env", "prod")}}, `conjunction: "AND" is not a conjunction`},
		{"bad operator", Filter{Conjunction: "and", Filters: []Clause{eq("env", "prod"), {Key: "team", Operator: "in", Values: []string{"a"}}}},
			`filters[1].operator: "in" is not supported: the only operator is "eq"`},
		{"no operator", Filter{Conjunction: "and", Filters: []Clause{{Key: "env", Values: []string{"prod"}}}},
			`filters[0].operator: "" is not supported`},
		{"no key", Filter{Conjunction: "and", Filters: []Clause{eq(" ", "prod")}}, "filters[0].key: required"},
		{"no values", Filter{Conjunction: "and", Filters: []Clause{eq("env")}}, "filters[0].values: a clause needs at least one value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.filter.Validate(), tt.wantErr)
		})
	}
}

func TestFilterValidateFieldErrors(t *testing.T) {
	err := Filter{Conjunction: "xor", Filters: []Clause{{}}}.Validate()
	var fe FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a FieldErrors", err)
	}
	var fields []string
	for _, e := range fe {
		fields = append(fields, e.Field)
	}
	want := []string{"conjunction", "filters[0].key", "filters[0].operator", "filters[0].values"}
	if len(fields) != len(want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Errorf("field %d = %s, want %s", i, fields[i], want[i])
		}
	}
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		want map[string]string
	}{
		{"nil", nil, map[string]string{}},
		{"key:value", []string{"department:finance", "env:prod"}, map[string]string{"department": "finance", "env": "prod"}},
		{"split on the first colon", []string{"url:https://x"}, map[string]string{"url": "https://x"}},
		{"no colon, empty value", []string{"critical"}, map[string]string{"critical": ""}},
		{"empty value", []string{"critical:"}, map[string]string{"critical": ""}},
		{"last wins", []string{"env:dev", "env:prod"}, map[string]string{"env": "prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseTags(tt.tags)
			if got == nil || !maps.Equal(got, tt.want) {
				t.Errorf("ParseTags(%q) = %#v, want %v", tt.tags, got, tt.want)
			}
		})
	}
}

func TestObjectTags(t *testing.T) {
	labels := map[string]string{"department": "hr"}
	spec := []string{"department:finance"}
	tests := []struct {
		kind   string
		spec   []string
		labels map[string]string
		want   map[string]string
	}{
		{KindCluster, spec, labels, map[string]string{"department": "finance"}},
		{KindCluster, nil, labels, map[string]string{}},
		{KindCloudAccount, spec, labels, labels},
		{KindClusterProfile, nil, labels, labels},
		{KindPrivateCloudGateway, nil, nil, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got := ObjectTags(tt.kind, tt.spec, tt.labels)
			if got == nil || !maps.Equal(got, tt.want) {
				t.Errorf("ObjectTags(%s) = %#v, want %v", tt.kind, got, tt.want)
			}
		})
	}
	got := ObjectTags(KindCloudAccount, nil, labels)
	got["x"] = "y"
	if _, ok := labels["x"]; ok {
		t.Error("ObjectTags returns the labels map itself")
	}
}
