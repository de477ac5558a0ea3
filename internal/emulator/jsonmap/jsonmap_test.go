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
