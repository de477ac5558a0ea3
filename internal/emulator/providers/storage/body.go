package storage

import (
	"math/rand/v2"
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
	return rand.New(rand.NewPCG(seed, 0x73746f72616765)) // "storage"
}
