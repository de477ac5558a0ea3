// Package v1alpha1test loads the invalid-input table of the v1alpha1 package (valid fixtures
// and merge patches that break one rule or more) for the tests of every layer that validates:
// the api package itself and the server, which replays each case over HTTP.
package v1alpha1test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Case is one invalid input: Patch, an RFC 7396 merge patch, applied to the fixture Base
// ("Kind/key") must be refused with exactly Errors ("field rule"), as an update of the fixture
// when Update is set. Document, when set, is the whole input instead (YAML, or JSON when it
// starts with '{'), for what a patch cannot express, such as a key given twice; Base then only
// names the kind. Status is the HTTP status a server answers (0 means 422).
type Case struct {
	Name     string         `json:"name"`
	Base     string         `json:"base"`
	Patch    map[string]any `json:"patch"`
	Document string         `json:"document"`
	Errors   []string       `json:"errors"`
	Update   bool           `json:"update"`
	Status   int            `json:"status"`
}

// Fixture is one valid object of the fixtures file.
type Fixture struct {
	// ID is "Kind/key".
	ID string
	// YAML is the document as written.
	YAML string
	// Doc is the document as generic data, to patch.
	Doc map[string]any
	// Object is the decoded, defaulted object.
	Object v1alpha1.Object
}

// Fixtures are the valid objects, in the file's (dependency) order. They resolve references
// among themselves.
type Fixtures []Fixture

// Get returns the fixture with the given ID.
func (f Fixtures) Get(id string) (Fixture, bool) {
	for _, fx := range f {
		if fx.ID == id {
			return fx, true
		}
	}
	return Fixture{}, false
}

// Lookup implements v1alpha1.Resolver over the fixtures.
func (f Fixtures) Lookup(_ context.Context, kind, key string) (v1alpha1.Object, error) {
	if fx, ok := f.Get(kind + "/" + key); ok {
		return fx.Object, nil
	}
	return nil, v1alpha1.ErrNotFound
}

// testdata returns the path of a file in the v1alpha1 package's testdata.
func testdata(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "testdata", name)
}

// LoadFixtures reads testdata/fixtures.yaml.
func LoadFixtures(t testing.TB) Fixtures {
	t.Helper()
	data, err := os.ReadFile(testdata("fixtures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out Fixtures
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		obj, errs := v1alpha1.DecodeObject([]byte(doc))
		if errs != nil {
			t.Fatalf("fixture: %v", errs)
		}
		v1alpha1.Default(obj)
		out = append(out, Fixture{ID: obj.GetTypeMeta().Kind + "/" + obj.Key(), YAML: doc, Doc: m, Object: obj})
	}
	return out
}

// LoadCases reads testdata/invalid.yaml strictly.
func LoadCases(t testing.TB) []Case {
	t.Helper()
	data, err := os.ReadFile(testdata("invalid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// Apply returns the JSON of the case's fixture with extra merge patches, then the case's patch,
// applied; or the case's Document as it is written.
func (c Case) Apply(t testing.TB, f Fixtures, extra ...map[string]any) []byte {
	t.Helper()
	if c.Document != "" {
		return []byte(c.Document)
	}
	fx, ok := f.Get(c.Base)
	if !ok {
		t.Fatalf("case %q: no fixture %s", c.Name, c.Base)
	}
	var doc any = fx.Doc
	for _, p := range extra {
		doc = MergePatch(doc, p)
	}
	data, err := json.Marshal(MergePatch(doc, c.Patch))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ContentType is the media type of what Apply returns.
func (c Case) ContentType() string {
	if c.Document != "" && !strings.HasPrefix(strings.TrimSpace(c.Document), "{") {
		return "application/yaml"
	}
	return "application/json"
}

// Want returns the expected errors, sorted.
func (c Case) Want() []string {
	w := slices.Clone(c.Errors)
	slices.Sort(w)
	return w
}

// FieldRules returns "field rule" for each error, sorted, to compare with Want.
func FieldRules(errs v1alpha1.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + " " + string(e.Rule)
	}
	slices.Sort(out)
	return out
}

// MergePatch applies an RFC 7396 JSON merge patch to target and returns the result; target is
// not changed.
func MergePatch(target, patch any) any {
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
		out[k] = MergePatch(out[k], v)
	}
	return out
}
