// Package jsonmap reads and edits JSON documents decoded as map[string]any, the form in which the
// emulator keeps resource bodies.
package jsonmap

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// Helpers to read and write the JSON bodies the engine keeps as map[string]any.
// Obj walks m along keys and returns the object found there, or nil.
func Obj(m map[string]any, keys ...string) map[string]any {
	cur := m
	for _, k := range keys {
		if cur == nil {
			return nil
		}
		next, _ := cur[k].(map[string]any)
		cur = next
	}
	return cur
}

// Ensure returns m[key] as an object, creating it when absent.
func Ensure(m map[string]any, key string) map[string]any {
	v, ok := m[key].(map[string]any)
	if !ok {
		v = map[string]any{}
		m[key] = v
	}
	return v
}

// Str returns m[key] as a string, or "".
func Str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// List returns m[key] as a JSON array, or nil.
func List(m map[string]any, key string) []any {
	if m == nil {
		return nil
	}
	l, _ := m[key].([]any)
	return l
}

// Num reads a whole number as an int64: a JSON number (float64, json.Number or an integer
// type) or a decimal string, since ARM accepts numbers sent as strings. ok is false otherwise.
func Num(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), n == float64(int64(n))
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// Bool reads m[key] as a bool with a default.
func Bool(m map[string]any, key string, def bool) bool {
	if m == nil {
		return def
	}
	b, ok := m[key].(bool)
	if !ok {
		return def
	}
	return b
}

// DeepCopy copies a JSON value so that hooks never change a stored resource in place. Besides
// the decoded JSON shapes it copies the []string and map[string]string values Go code puts in
// a body.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = DeepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = DeepCopy(e)
		}
		return c
	case []string:
		return slices.Clone(t)
	case map[string]string:
		return maps.Clone(t)
	}
	return v
}

// CopyMap deep-copies an object (nil stays an empty object).
func CopyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return DeepCopy(m).(map[string]any)
}

// Merge applies src over dst with the create-or-update semantics of Microsoft.Compute PUTs:
// objects merge recursively, arrays and scalars replace, absent keys stay.
func Merge(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				Merge(dv, sv)
				continue
			}
		}
		dst[k] = DeepCopy(v)
	}
}

// Underlay completes m with base: what m sets wins (objects merge, arrays and scalars
// replace), what only base has is added; base is not changed. It gives m the content of
// Merge(CopyMap(base), m) without copying m.
func Underlay(m, base map[string]any) {
	for k, bv := range base {
		mv, ok := m[k]
		if !ok {
			m[k] = DeepCopy(bv)
			continue
		}
		if mm, ok := mv.(map[string]any); ok {
			if bm, ok := bv.(map[string]any); ok {
				Underlay(mm, bm)
			}
		}
	}
}

// StringList converts a JSON array of strings.
func StringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// AnyList converts strings to a JSON array.
func AnyList(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}
