package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
)

// TestInvalidInputsOverHTTP replays every invalid input of the api package's table against a
// server holding the valid fixtures: each must be refused with the expected status and exactly
// the expected field errors, and must leave the store as it was.
func TestInvalidInputsOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	fixtures := v1alpha1test.LoadFixtures(t)
	for _, fx := range fixtures {
		if r := ts.do(http.MethodPut, objPath(fx.Object), []byte(fx.YAML), "application/yaml"); r.code != http.StatusCreated {
			t.Fatalf("fixture %s: %d %s", fx.ID, r.code, r.body)
		}
	}
	for i, tc := range v1alpha1test.LoadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			kind, baseKey, _ := strings.Cut(tc.Base, "/")
			var rename []map[string]any
			meta, _ := tc.Patch["metadata"].(map[string]any)
			if _, renames := meta["name"]; !renames && !tc.Update && tc.Document == "" {
				// Create under a new name, so that the fixture itself is not in the way.
				rename = append(rename, map[string]any{"metadata": map[string]any{"name": fmt.Sprintf("case-%d", i)}})
			}
			doc := tc.Apply(t, fixtures, rename...)
			var r, before *response
			key := baseKey
			if tc.Update {
				before = ts.get(kind, key, http.StatusOK)
				r = ts.do(http.MethodPut, kindPath(kind)+"/"+key, doc, tc.ContentType())
			} else {
				key = ""
				if obj, errs := v1alpha1.DecodeObject(doc); errs == nil {
					v1alpha1.Default(obj)
					key = obj.Key()
				}
				r = ts.do(http.MethodPost, kindPath(kind), doc, tc.ContentType())
			}
			want := tc.Status
			if want == 0 {
				want = http.StatusUnprocessableEntity
			}
			if r.code != want {
				t.Fatalf("status %d, want %d: %s", r.code, want, r.body)
			}
			var got []string
			for _, e := range r.status(t).Errors {
				got = append(got, e.Field+" "+string(e.Rule))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.Want()) {
				t.Fatalf("errors %q, want %q", got, tc.Want())
			}
			switch {
			case tc.Update:
				if after := ts.get(kind, key, http.StatusOK); string(after.body) != string(before.body) {
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
		for _, fx := range fixtures {
			if strings.HasPrefix(fx.ID, kind+"/") {
				n++
			}
		}
		if len(list.Items) != n {
			t.Errorf("%d %s objects stored, want the %d fixtures", len(list.Items), kind, n)
		}
	}
}
