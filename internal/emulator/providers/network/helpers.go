package network

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// JSON bodies are map[string]any as decoded by encoding/json: objects are map[string]any,
// arrays []any, numbers float64 (or json.Number). Everything this package builds uses the
// same shapes, so stored bodies look alike whether they came from a request or from disk.

// obj returns v as an object, or nil.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// list returns v as an array, or nil.
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// str returns v as a string, or "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// num returns v as a number.
func num(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// refID returns m[key].id: the ID of a {"id": ...} reference, or "".
func refID(m map[string]any, key string) string {
	return str(obj(m[key])["id"])
}

// refIDs returns the IDs of a list of {"id": ...} references in m[key].
func refIDs(m map[string]any, key string) []string {
	var ids []string
	for _, v := range list(m[key]) {
		if id := str(obj(v)["id"]); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ref builds a {"id": id} reference.
func ref(id string) map[string]any { return map[string]any{"id": id} }

// refs builds a list of references, or nil when ids is empty (so the property is omitted).
func refs(ids []string) []any {
	if len(ids) == 0 {
		return nil
	}
	l := make([]any, len(ids))
	for i, id := range ids {
		l[i] = ref(id)
	}
	return l
}

// setOrDelete sets m[key] to v, or removes key when v is nil.
func setOrDelete(m map[string]any, key string, v []any) {
	if v == nil {
		delete(m, key)
		return
	}
	m[key] = v
}

// sameID compares two ARM IDs the way ARM does (case-insensitively).
func sameID(a, b string) bool { return a != "" && arm.Key(a) == arm.Key(b) }

// isType reports whether id names a resource of the full type typ.
func isType(id, typ string) bool {
	p := arm.ParseID(id)
	return p.Subscription != "" && strings.EqualFold(p.FullType(), typ)
}

// getOfType returns the resource id names when it exists and is of type typ.
func getOfType(tx arm.Tx, id, typ string) *arm.Resource {
	if !isType(id, typ) {
		return nil
	}
	return tx.Get(id)
}

// subID returns the ID of a sub-resource of parent (an ipConfiguration of a NIC, a frontend
// of a load balancer...).
func subID(parent, collection, name string) string {
	return strings.TrimRight(parent, "/") + "/" + collection + "/" + name
}

// resourceGUID returns a stable GUID-shaped value for a resource ID, as Azure's resourceGuid.
func resourceGUID(id string) string {
	h1, h2 := fnv.New64a(), fnv.New64()
	h1.Write([]byte(arm.Key(id)))
	h2.Write([]byte(arm.Key(id)))
	a, b := h1.Sum64(), h2.Sum64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0x0fff|0x4000,
		uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// listAll returns every resource of type typ in the subscription.
func listAll(tx arm.Tx, subscription, typ string) []*arm.Resource {
	return tx.List("/subscriptions/"+subscription, typ)
}

// children returns the child resources of parent of type typ.
func children(tx arm.Tx, parent, typ string) []*arm.Resource {
	return tx.List(parent, typ)
}

// subResources fills in the id, name, type and provisioningState of the inline
// sub-resources in props[key] ({name, properties}), which live under owner in collection.
// It returns them keyed by their folded ID.
func subResources(props map[string]any, key, owner, collection, typ string) map[string]map[string]any {
	byID := map[string]map[string]any{}
	for _, v := range list(props[key]) {
		s := obj(v)
		if s == nil {
			continue
		}
		name := str(s["name"])
		id := subID(owner, collection, name)
		s["id"] = id
		s["type"] = typ
		jsonmap.Ensure(s, "properties")["provisioningState"] = "Succeeded"
		byID[arm.Key(id)] = s
	}
	return byID
}

// withEtag copies the parent's etag onto inline sub-resources, as Azure reports them.
func withEtag(body map[string]any, etag any, keys ...string) {
	if etag == nil {
		return
	}
	p := obj(body["properties"])
	for _, k := range keys {
		for _, v := range list(p[k]) {
			if s := obj(v); s != nil {
				s["etag"] = etag
			}
		}
	}
}

// renderBase deep-copies a stored body for Render.
func renderBase(r *arm.Resource) (body, props map[string]any) {
	body = jsonmap.CopyMap(r.Body)
	return body, jsonmap.Ensure(body, "properties")
}

// childBody builds the stored body of an inline child: its name and properties, without
// read-only values the client echoed back.
func childBody(item map[string]any, readOnly ...string) map[string]any {
	p := jsonmap.CopyMap(obj(item["properties"]))
	for _, k := range readOnly {
		delete(p, k)
	}
	delete(p, "provisioningState")
	return map[string]any{"name": str(item["name"]), "properties": p}
}

// renderChild is how a child resource appears inline in its parent: id, name, type, etag and
// properties.
func renderChild(body map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"id", "name", "type", "etag", "properties"} {
		if v, ok := body[k]; ok {
			out[k] = v
		}
	}
	return out
}

// checkChildName applies a naming rule to the name of an inline child (a subnet inside a
// VNet PUT...), with the error the engine gives a resource name.
func checkChildName(name string, rule arm.NameRule) *arm.Error {
	if n := len(name); n < rule.Min || n > rule.Max || !rule.Pattern.MatchString(name) {
		return badRequest("InvalidResourceName", "Resource name %s is invalid. %s", name, rule.Describe)
	}
	return nil
}

// defaultTo sets m[key] to v when it is absent or null.
func defaultTo(m map[string]any, key string, v any) {
	if m[key] == nil {
		m[key] = v
	}
}

// keepGUID keeps the resourceGuid of an existing resource, or derives one from the ID.
func keepGUID(p map[string]any, existing *arm.Resource, id string) {
	if existing != nil {
		if g := str(obj(existing.Body["properties"])["resourceGuid"]); g != "" {
			p["resourceGuid"] = g
			return
		}
	}
	p["resourceGuid"] = resourceGUID(id)
}

// sameRegion compares two locations as ARM does: "West Europe" is westeurope.
func sameRegion(a, b string) bool {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	return fold(a) == fold(b)
}

// canonical returns the allowed value that equals v case-insensitively, or "".
func canonical(v string, allowed ...string) string {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	return ""
}

// objects returns the objects of the array m[key], dropping anything else from it.
func objects(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	var kept []any
	for _, v := range list(m[key]) {
		if o := obj(v); o != nil {
			out = append(out, o)
			kept = append(kept, o)
		}
	}
	if _, ok := m[key]; ok {
		if kept == nil {
			kept = []any{}
		}
		m[key] = kept
	}
	return out
}
