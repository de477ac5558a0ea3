package jsonmap

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRead(t *testing.T) {
	m := decode(t, `{"properties":{"hardwareProfile":{"vmSize":"Standard_D2s_v3"},"count":3,"on":true,"zones":["1","2"]}}`)
	if got := Str(Obj(m, "properties", "hardwareProfile"), "vmSize"); got != "Standard_D2s_v3" {
		t.Errorf("Str(Obj) = %q", got)
	}
	if Obj(m, "properties", "missing", "deeper") != nil || Obj(nil, "a") != nil {
		t.Error("Obj of a missing path is not nil")
	}
	tests := []struct {
		v    any
		want int64
		ok   bool
	}{{float64(3), 3, true}, {json.Number("7"), 7, true}, {int(5), 5, true}, {float64(2.5), 2, false}, {"3", 3, true}, {"three", 0, false}, {true, 0, false}}
	for _, tc := range tests {
		if got, ok := Num(tc.v); got != tc.want || ok != tc.ok {
			t.Errorf("Num(%#v) = %d, %v; want %d, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
	p := Obj(m, "properties")
	if !Bool(p, "on", false) || Bool(p, "off", false) || !Bool(p, "off", true) {
		t.Error("Bool ignores the value or the default")
	}
	if got := StringList(p["zones"]); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("StringList = %v", got)
	}
	if got := AnyList([]string{"a"}); !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("AnyList = %v", got)
	}
}

func TestCopyAndMerge(t *testing.T) {
	stored := decode(t, `{"a":{"b":1,"c":[1,2]},"keep":"x"}`)
	c := CopyMap(stored)
	Ensure(c, "a")["b"] = 2
	c["a"].(map[string]any)["c"].([]any)[0] = 9
	if !reflect.DeepEqual(stored, decode(t, `{"a":{"b":1,"c":[1,2]},"keep":"x"}`)) {
		t.Fatalf("editing a copy changed the original: %v", stored)
	}
	Merge(stored, decode(t, `{"a":{"c":[3],"d":true},"new":1}`))
	want := decode(t, `{"a":{"b":1,"c":[3],"d":true},"keep":"x","new":1}`)
	if !reflect.DeepEqual(stored, want) {
		t.Fatalf("Merge = %v, want %v", stored, want)
	}
}

func TestUnderlay(t *testing.T) {
	tests := []struct {
		name, m, base, want string
	}{
		{"empty base", `{"a":1}`, `{}`, `{"a":1}`},
		{"empty m", `{}`, `{"a":{"b":[1]}}`, `{"a":{"b":[1]}}`},
		{"scalar wins", `{"a":1}`, `{"a":2,"b":3}`, `{"a":1,"b":3}`},
		{"null wins", `{"a":null}`, `{"a":2}`, `{"a":null}`},
		{"objects merge", `{"p":{"x":1,"o":{"k":"m"}}}`, `{"p":{"x":0,"y":2,"o":{"k":"b","l":"b"}}}`, `{"p":{"x":1,"y":2,"o":{"k":"m","l":"b"}}}`},
		{"array replaces", `{"a":[3]}`, `{"a":[1,2]}`, `{"a":[3]}`},
		{"object over scalar", `{"a":{"b":1}}`, `{"a":"s"}`, `{"a":{"b":1}}`},
		{"scalar over object", `{"a":"s"}`, `{"a":{"b":1}}`, `{"a":"s"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, base := decode(t, tc.m), decode(t, tc.base)
			want := CopyMap(base)
			Merge(want, decode(t, tc.m))
			if !reflect.DeepEqual(want, decode(t, tc.want)) {
				t.Fatalf("test table disagrees with Merge: %v", want)
			}
			Underlay(m, base)
			if !reflect.DeepEqual(m, want) {
				t.Errorf("Underlay = %v, want %v", m, want)
			}
			if !reflect.DeepEqual(base, decode(t, tc.base)) {
				t.Errorf("Underlay changed base: %v", base)
			}
			// What Underlay added from base is a copy.
			for _, v := range m {
				if o, ok := v.(map[string]any); ok {
					o["added"] = true
				}
			}
			if !reflect.DeepEqual(base, decode(t, tc.base)) {
				t.Errorf("editing the result changed base: %v", base)
			}
		})
	}
	Underlay(map[string]any{"a": 1}, nil) // a nil base adds nothing
}

func TestDeepCopyGoShapes(t *testing.T) {
	src := map[string]any{
		"list": []string{"a", "b"},
		"tags": map[string]string{"k": "v"},
		"nest": []any{map[string]any{"zones": []string{"1"}}},
		"nil":  []string(nil),
	}
	c := DeepCopy(src).(map[string]any)
	if !reflect.DeepEqual(c, src) {
		t.Fatalf("DeepCopy = %#v, want %#v", c, src)
	}
	c["list"].([]string)[0] = "x"
	c["tags"].(map[string]string)["k"] = "x"
	c["nest"].([]any)[0].(map[string]any)["zones"].([]string)[0] = "x"
	want := map[string]any{
		"list": []string{"a", "b"},
		"tags": map[string]string{"k": "v"},
		"nest": []any{map[string]any{"zones": []string{"1"}}},
		"nil":  []string(nil),
	}
	if !reflect.DeepEqual(src, want) {
		t.Errorf("editing a copy changed the original: %#v", src)
	}
	if c["nil"].([]string) != nil {
		t.Error("a nil []string became non-nil")
	}
}
