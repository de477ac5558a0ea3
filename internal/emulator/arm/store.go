package arm

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// entry is one stored resource.
type entry struct {
	res    *Resource
	seq    uint64 // creation order
	parent string // key of the parent: subscription, resource group or parent resource
	op     string // ID of the operation in flight on it, or ""
}

// store keeps the resources, indexed by key, parent and type.
type store struct {
	m        map[string]*entry
	children map[string]map[string]struct{}
	byType   map[string]map[string]struct{}
	seq      uint64
}

func newStore() *store {
	return &store{m: map[string]*entry{}, children: map[string]map[string]struct{}{}, byType: map[string]map[string]struct{}{}}
}

// parentKey returns the key of a resource's parent: the subscription for a resource group.
func parentKey(id ID) string {
	if p := id.Parent(); p != "" {
		return Key(p)
	}
	return Key("/subscriptions/" + id.Subscription)
}

func (s *store) get(key string) *entry { return s.m[key] }

// put inserts or replaces the entry under key.
func (s *store) put(key string, e *entry) {
	if old := s.m[key]; old != nil {
		s.unindex(key, old)
	}
	s.m[key] = e
	add := func(idx map[string]map[string]struct{}, k string) {
		set := idx[k]
		if set == nil {
			set = map[string]struct{}{}
			idx[k] = set
		}
		set[key] = struct{}{}
	}
	add(s.children, e.parent)
	add(s.byType, strings.ToLower(e.res.Type))
}

func (s *store) unindex(key string, e *entry) {
	drop := func(idx map[string]map[string]struct{}, k string) {
		if set := idx[k]; set != nil {
			delete(set, key)
			if len(set) == 0 {
				delete(idx, k)
			}
		}
	}
	drop(s.children, e.parent)
	drop(s.byType, strings.ToLower(e.res.Type))
}

func (s *store) remove(key string) *entry {
	e := s.m[key]
	if e != nil {
		s.unindex(key, e)
		delete(s.m, key)
	}
	return e
}

// subtree returns the keys of a resource's descendants, deepest first, then the key itself
// when stored.
func (s *store) subtree(key string) []string {
	var out []string
	var walk func(k string)
	walk = func(k string) {
		kids := make([]string, 0, len(s.children[k]))
		for c := range s.children[k] {
			kids = append(kids, c)
		}
		slices.Sort(kids)
		for _, c := range kids {
			walk(c)
		}
		if _, ok := s.m[k]; ok {
			out = append(out, k)
		}
	}
	walk(key)
	return out
}

// childrenOf returns the entries under parent of a type (all types when typ is ""), in
// creation order.
func (s *store) childrenOf(parent, typ string) []*entry {
	return sorted(func(fn func(*entry)) { s.eachChild(parent, typ, fn) })
}

// eachChild calls fn with the entries under parent of a type (all types when typ is ""), in
// no particular order.
func (s *store) eachChild(parent, typ string, fn func(*entry)) {
	for k := range s.children[parent] {
		if e := s.m[k]; typ == "" || strings.EqualFold(e.res.Type, typ) {
			fn(e)
		}
	}
}

// ofType returns the entries of a type whose key starts with prefix, in creation order.
func (s *store) ofType(typ, prefix string) []*entry {
	return sorted(func(fn func(*entry)) { s.eachOfType(typ, prefix, fn) })
}

// eachOfType calls fn with the entries of a type whose key starts with prefix, in no
// particular order.
func (s *store) eachOfType(typ, prefix string, fn func(*entry)) {
	for k := range s.byType[strings.ToLower(typ)] {
		if strings.HasPrefix(k, prefix) {
			fn(s.m[k])
		}
	}
}

// inScope returns the entries of type typ directly under scopeID (a resource group or a parent
// resource), anywhere in the subscription when scopeID is a subscription's ID (resource groups
// excepted: they are the subscription's children), or anywhere when scopeID is empty; in
// creation order.
func (s *store) inScope(scopeID, typ string) []*entry {
	return sorted(func(fn func(*entry)) { s.eachInScope(scopeID, typ, fn) })
}

// eachInScope calls fn with the entries inScope returns, in no particular order.
func (s *store) eachInScope(scopeID, typ string, fn func(*entry)) {
	scope := ParseID(scopeID)
	switch {
	case strings.Trim(scopeID, "/") == "":
		s.eachOfType(typ, "", fn)
	case scope.ResourceGroup == "" && scope.Subscription != "" && !strings.EqualFold(typ, TypeResourceGroup):
		s.eachOfType(typ, Key(scopeID)+"/", fn)
	default:
		s.eachChild(Key(scopeID), typ, fn)
	}
}

// sorted collects the entries each gives, in creation order.
func sorted(each func(fn func(*entry))) []*entry {
	var out []*entry
	each(func(e *entry) { out = append(out, e) })
	sortEntries(out)
	return out
}

func (s *store) all() []*entry {
	out := make([]*entry, 0, len(s.m))
	for _, e := range s.m {
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

func sortEntries(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return strings.Compare(Key(a.res.ID), Key(b.res.ID))
	})
}

// normalizeJSON turns a body into plain JSON values (map[string]any, []any, string, float64,
// bool, nil), as it would be after a save and a reload.
func normalizeJSON(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return deepCopyMap(m)
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil || out == nil {
		return map[string]any{}
	}
	return out
}

// deepCopyMap deep-copies a body; nil stays nil.
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return jsonmap.CopyMap(m)
}

func copyResource(r *Resource) *Resource {
	if r == nil {
		return nil
	}
	return &Resource{ID: r.ID, Type: r.Type, Body: deepCopyMap(r.Body)}
}
