package resourcegraph

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// allColumns are the columns of the Resources table, in Resource Graph's order.
var allColumns = []string{
	"id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId",
	"managedBy", "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation",
}

// row is one result row: column name to JSON value.
type row map[string]any

// column is a column reference: a row's column, or a tag (tags['key'], named tags_key when
// projected).
type column struct {
	name   string
	tag    string
	tagged bool
}

// value returns the column's value in a row.
func (c column) value(r row) any {
	if !c.tagged {
		return r[c.name]
	}
	if v, ok := r[c.name]; ok { // a projected tag
		return v
	}
	tags, _ := r["tags"].(map[string]any)
	return tags[c.tag]
}

// text returns the column's value as text: a string as is, nothing as "", anything else as
// JSON.
func (c column) text(r row) string {
	switch v := c.value(r).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// expr is a where condition.
type expr interface {
	match(r row) bool
}

// binary is a and b, or a or b.
type binary struct {
	and  bool
	l, r expr
}

func (b binary) match(r row) bool {
	if b.and {
		return b.l.match(r) && b.r.match(r)
	}
	return b.l.match(r) || b.r.match(r)
}

// compare is a column compared with strings, with KQL's semantics: ==, != and in are
// case-sensitive; =~, !~, in~, contains and startswith are not.
type compare struct {
	col  column
	op   string
	vals []string
}

func (c compare) match(r row) bool {
	v := c.col.text(r)
	switch c.op {
	case "==":
		return v == c.vals[0]
	case "!=":
		return v != c.vals[0]
	case "=~":
		return strings.EqualFold(v, c.vals[0])
	case "!~":
		return !strings.EqualFold(v, c.vals[0])
	case "in":
		return slices.Contains(c.vals, v)
	case "in~":
		return slices.ContainsFunc(c.vals, func(s string) bool { return strings.EqualFold(s, v) })
	case "contains":
		return strings.Contains(strings.ToLower(v), strings.ToLower(c.vals[0]))
	case "startswith":
		return strings.HasPrefix(strings.ToLower(v), strings.ToLower(c.vals[0]))
	}
	return false
}

// run sends rows through the query's stages.
func (q *query) run(rows []row) []row {
	for _, st := range q.stages {
		switch st.kind {
		case stWhere:
			rows = slices.DeleteFunc(rows, func(r row) bool { return !st.cond.match(r) })
		case stProject:
			rows = project(rows, st.cols)
		case stOrder:
			slices.SortStableFunc(rows, func(a, b row) int { return compareRows(a, b, st.keys) })
		case stLimit:
			if st.n < len(rows) {
				rows = rows[:max(st.n, 0)]
			}
		}
	}
	return rows
}

// project keeps the columns of cols, in their order.
func project(rows []row, cols []column) []row {
	out := make([]row, len(rows))
	for i, r := range rows {
		n := row{}
		for _, c := range cols {
			n[c.name] = c.value(r)
		}
		out[i] = n
	}
	return out
}

// compareRows orders two rows by the keys, as text.
func compareRows(a, b row, keys []orderKey) int {
	for _, k := range keys {
		c := cmp.Compare(k.col.text(a), k.col.text(b))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// columnsOf returns the column names of a query's result, in order.
func (q *query) columnsOf() []string {
	cols := allColumns
	for _, st := range q.stages {
		if st.kind == stProject {
			cols = nil
			for _, c := range st.cols {
				cols = append(cols, c.name)
			}
		}
	}
	return cols
}
