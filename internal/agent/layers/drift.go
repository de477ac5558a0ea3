package layers

import (
	"encoding/base64"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// quantityKeys are the keys under which the API server normalises resource quantities
// ("cpu: 1" is kept as "1", "0.5" as "500m"): there, values compare as quantities.
var quantityKeys = map[string]bool{"limits": true, "requests": true, "hard": true, "capacity": true, "overhead": true}

// desired returns the content of a prepared object as it should be found in the cluster: a
// Secret's stringData is found base64-encoded in data.
func desired(u *unstructured.Unstructured) map[string]any {
	sd, ok := u.Object["stringData"].(map[string]any)
	if u.GroupVersionKind().GroupKind() != (schema.GroupKind{Kind: "Secret"}) || !ok {
		return u.Object
	}
	obj := u.DeepCopy().Object
	delete(obj, "stringData")
	data, _ := obj["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		data[k] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(v)))
	}
	obj["data"] = data
	return obj
}

// subset reports whether live holds every field want sets, with the same value: maps are
// compared by want's keys only (a null, empty map or empty list in want also matches an
// absent field), lists element by element with the same length, numbers by value.
func subset(want, live any) bool {
	return subsetIn(want, live, false)
}

// subsetIn is subset; quantities tells whether scalars are resource quantities.
func subsetIn(want, live any, quantities bool) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		for k, wv := range w {
			lv, found := l[k]
			if !found && empty(wv) {
				continue
			}
			if !found || !subsetIn(wv, lv, quantities || quantityKeys[k]) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		if len(l) != len(w) {
			return false
		}
		for i := range w {
			if !subsetIn(w[i], l[i], quantities) {
				return false
			}
		}
		return true
	}
	return scalarEqual(want, live, quantities)
}

// empty reports whether a desired value is null, an empty map or an empty list.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// scalarEqual compares strings, booleans and numbers (int64 and float64 by value), and with
// quantities, strings or numbers as resource quantities.
func scalarEqual(want, live any, quantities bool) bool {
	if want == live {
		return true
	}
	wf, wok := number(want)
	lf, lok := number(live)
	if wok && lok {
		return wf == lf
	}
	if !quantities {
		return false
	}
	wq, err1 := resource.ParseQuantity(fmt.Sprint(want))
	lq, err2 := resource.ParseQuantity(fmt.Sprint(live))
	return err1 == nil && err2 == nil && wq.Cmp(lq) == 0
}

// number returns a numeric value as float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}
