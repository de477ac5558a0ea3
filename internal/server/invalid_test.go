package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// The invalid-input table shared with the api package's tests.
const (
	fixturesFile = "../../api/v1alpha1/testdata/fixtures.yaml"
	invalidFile  = "../../api/v1alpha1/testdata/invalid.yaml"
)

type invalidCase struct {
	Name   string         `json:"name"`
	Base   string         `json:"base"`
	Patch  map[string]any `json:"patch"`
	Errors []string       `json:"errors"`
	Update bool           `json:"update"`
	Status int            `json:"status"`
}

// TestInvalidInputsOverHTTP replays every invalid input of the api package's table against a
// server holding the valid fixtures: each must be refused with the expected status and exactly
// the expected field errors, and must leave the store as it was.
func TestInvalidInputsOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	fixtures := map[string]map[string]any{}
	data, err := os.ReadFile(fixturesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		obj, errs := v1alpha1.DecodeObject([]byte(doc))
		if errs != nil {
			t.Fatal(errs)
		}
		r := ts.do(http.MethodPut, objPath(obj), []byte(doc), "application/yaml")
		if r.code != http.StatusCreated {
			t.Fatalf("fixture %s: %d %s", objPath(obj), r.code, r.body)
		}
		fixtures[obj.GetTypeMeta().Kind+"/"+obj.Key()] = m
	}
	var cases []invalidCase
	raw, err := os.ReadFile(invalidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			patch := tc.Patch
			if _, renames := nested(patch, "metadata", "name"); !renames && !tc.Update {
				// Create under a new name, so that the fixture itself is not in the way.
				patch = mergePatch(patch, map[string]any{"metadata": map[string]any{"name": fmt.Sprintf("case-%d", i)}}).(map[string]any)
			}
			doc, err := json.Marshal(mergePatch(fixtures[tc.Base], patch))
			if err != nil {
				t.Fatal(err)
			}
			kind, baseKey, _ := strings.Cut(tc.Base, "/")
			var key string
			if obj, errs := v1alpha1.DecodeObject(doc); errs == nil {
				v1alpha1.Default(obj)
				key = obj.Key()
			}
			var before *response
			var r *response
			if tc.Update {
				key = baseKey
				before = ts.get(kind, key, http.StatusOK)
				r = ts.do(http.MethodPut, kindPath(kind)+"/"+key, doc, "application/json")
			} else {
				r = ts.do(http.MethodPost, kindPath(kind), doc, "application/json")
			}
			want := tc.Status
			if want == 0 {
				want = http.StatusUnprocessableEntity
			}
			if r.code != want {
				t.Fatalf("status %d, want %d: %s", r.code, want, r.body)
			}
			st := r.status(t)
			var got []string
			for _, e := range st.Errors {
				got = append(got, e.Field+" "+string(e.Rule))
			}
			slices.Sort(got)
			wantErrs := slices.Clone(tc.Errors)
			slices.Sort(wantErrs)
			if !slices.Equal(got, wantErrs) {
				t.Fatalf("errors %q, want %q", got, wantErrs)
			}
			switch {
			case tc.Update:
				after := ts.get(kind, key, http.StatusOK)
				if string(after.body) != string(before.body) {
					t.Fatalf("refused update changed the object:\n%s\n%s", before.body, after.body)
				}
			case key != "":
				if r := ts.do(http.MethodGet, kindPath(kind)+"/"+key, nil, ""); r.code != http.StatusNotFound {
					t.Fatalf("refused object was stored: %d %s", r.code, r.body)
				}
			}
		})
	}
	// Nothing any refused request sent was stored: only the fixtures are there.
	for _, kind := range v1alpha1.Kinds {
		var list struct{ Items []json.RawMessage }
		r := ts.do(http.MethodGet, kindPath(kind), nil, "")
		if err := json.Unmarshal(r.body, &list); err != nil || r.code != http.StatusOK {
			t.Fatalf("list %s: %d %v", kind, r.code, err)
		}
		n := 0
		for id := range fixtures {
			if strings.HasPrefix(id, kind+"/") {
				n++
			}
		}
		if len(list.Items) != n {
			t.Errorf("%d %s objects stored, want the %d fixtures", len(list.Items), kind, n)
		}
	}
}

func nested(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// mergePatch applies an RFC 7396 JSON merge patch.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, _ := target.(map[string]any)
	out := make(map[string]any, len(tm)+len(pm))
	for k, v := range tm {
		out[k] = v
	}
	for k, v := range pm {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], v)
	}
	return out
}
