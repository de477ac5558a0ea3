package containerservice

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Helpers to read and write the JSON bodies the engine keeps as map[string]any.

// obj walks m along keys and returns the object found there, or nil.
func obj(m map[string]any, keys ...string) map[string]any {
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

// ensure returns m[key] as an object, creating it when absent.
func ensure(m map[string]any, key string) map[string]any {
	v, ok := m[key].(map[string]any)
	if !ok {
		v = map[string]any{}
		m[key] = v
	}
	return v
}

// str returns m[key] as a string, or "".
func str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// list returns m[key] as a JSON array, or nil.
func list(m map[string]any, key string) []any {
	if m == nil {
		return nil
	}
	l, _ := m[key].([]any)
	return l
}

// num reads a JSON number (float64, json.Number or an integer type) as an int64.
func num(v any) (int64, bool) {
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

// boolean reads m[key] as a bool with a default.
func boolean(m map[string]any, key string, def bool) bool {
	if m == nil {
		return def
	}
	b, ok := m[key].(bool)
	if !ok {
		return def
	}
	return b
}

// deepCopy copies a JSON value so that hooks never change a stored resource in place.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// copyMap deep-copies an object (nil stays an empty object).
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return deepCopy(m).(map[string]any)
}

// merge applies src over dst with Microsoft.Compute's PATCH semantics for PUT updates:
// objects merge recursively, arrays and scalars replace, absent keys stay.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				merge(dv, sv)
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
}

// newRand returns the request's deterministic random source.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x616b73)) // "aks"
}

// guid draws a random (version 4) GUID from r.
func guid(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hex32 draws 32 lowercase hexadecimal digits from r (the suffix of OS disk names).
func hex32(r *rand.Rand) string {
	return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
}

// stringList converts a JSON array of strings.
func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// anyList converts strings to a JSON array.
func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}
