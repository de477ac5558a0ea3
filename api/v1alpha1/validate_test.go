package v1alpha1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// invalidCase is one entry of testdata/invalid.yaml.
type invalidCase struct {
	Name   string         `json:"name"`
	Base   string         `json:"base"`
	Patch  map[string]any `json:"patch"`
	Errors []string       `json:"errors"`
	Update bool           `json:"update"`
	Status int            `json:"status"`
}

// fixtures holds the valid objects of testdata/fixtures.yaml, both as generic documents (to patch)
// and decoded (to resolve references).
type fixtures struct {
	docs map[string]map[string]any
	objs map[string]v1alpha1.Object
}

func loadFixtures(t testing.TB) fixtures {
	t.Helper()
	data, err := os.ReadFile("testdata/fixtures.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := v1alpha1.Decode(data)
	if err != nil {
		t.Fatalf("fixtures do not decode: %v", err)
	}
	f := fixtures{docs: map[string]map[string]any{}, objs: map[string]v1alpha1.Object{}}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		obj, errs := v1alpha1.DecodeObject([]byte(doc))
		if errs != nil {
			t.Fatalf("fixture: %v", errs)
		}
		id := obj.GetTypeMeta().Kind + "/" + obj.Key()
		f.docs[id] = m
	}
	for _, o := range objs {
		v1alpha1.Default(o)
		f.objs[o.GetTypeMeta().Kind+"/"+o.Key()] = o
	}
	return f
}

// Lookup resolves references among the fixtures.
func (f fixtures) Lookup(_ context.Context, kind, key string) (v1alpha1.Object, error) {
	if o, ok := f.objs[kind+"/"+key]; ok {
		return o, nil
	}
	return nil, v1alpha1.ErrNotFound
}

func loadInvalidCases(t testing.TB) []invalidCase {
	t.Helper()
	data, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []invalidCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// mergePatch applies an RFC 7396 JSON merge patch.
func mergePatch(target any, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	out := make(map[string]any, len(tm))
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

func fieldRules(errs v1alpha1.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + " " + string(e.Rule)
	}
	slices.Sort(out)
	return out
}

func TestFixturesAreValid(t *testing.T) {
	f := loadFixtures(t)
	for id, obj := range f.objs {
		if errs := v1alpha1.Validate(context.Background(), obj, f); len(errs) > 0 {
			t.Errorf("%s: %v", id, errs)
		}
	}
}

func TestInvalidInputs(t *testing.T) {
	f := loadFixtures(t)
	cases := loadInvalidCases(t)
	if len(cases) < 60 {
		t.Fatalf("only %d invalid cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			base, ok := f.docs[tc.Base]
			if !ok {
				t.Fatalf("no fixture %s", tc.Base)
			}
			doc, err := json.Marshal(mergePatch(base, tc.Patch))
			if err != nil {
				t.Fatal(err)
			}
			obj, errs := v1alpha1.DecodeObject(doc)
			if errs == nil {
				v1alpha1.Default(obj)
				if tc.Update {
					errs = v1alpha1.ValidateUpdate(context.Background(), f.objs[tc.Base], obj, f)
				} else {
					errs = v1alpha1.Validate(context.Background(), obj, f)
				}
			}
			want := slices.Clone(tc.Errors)
			slices.Sort(want)
			if got := fieldRules(errs); !slices.Equal(got, want) {
				t.Fatalf("errors = %q, want %q\n%v", got, want, errs)
			}
			for _, e := range errs {
				if len(e.Message) < 8 {
					t.Errorf("%s: message %q does not say the rule", e.Field, e.Message)
				}
				if e.Rule == v1alpha1.RuleReserved && strings.HasPrefix(e.Field, "spec.tags[") {
					var i int
					fmt.Sscanf(e.Field, "spec.tags[%d]", &i)
					tag := obj.(*v1alpha1.Cluster).Spec.Tags[i]
					if !strings.Contains(e.Message, fmt.Sprintf("%q", tag)) {
						t.Errorf("reserved-tag message %q does not name the tag %q", e.Message, tag)
					}
				}
			}
		})
	}
}

// TestEveryErrorAtOnce checks that validation does not stop at the first broken rule.
func TestEveryErrorAtOnce(t *testing.T) {
	f := loadFixtures(t)
	doc, _ := json.Marshal(mergePatch(f.docs["Cluster/iaas"], map[string]any{
		"metadata": map[string]any{"name": "Bad"},
		"spec": map[string]any{
			"tags":  []any{"azure:x", "windows:y"},
			"azure": map[string]any{"location": "West Europe", "subscriptionID": "x"},
		},
	}))
	obj, derrs := v1alpha1.DecodeObject(doc)
	if derrs != nil {
		t.Fatal(derrs)
	}
	v1alpha1.Default(obj)
	got := fieldRules(v1alpha1.Validate(context.Background(), obj, f))
	want := []string{"metadata.name format", "spec.azure.location format", "spec.azure.subscriptionID format", "spec.tags[0] reserved", "spec.tags[1] reserved"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDefaults(t *testing.T) {
	f := loadFixtures(t)
	c := f.objs["Cluster/iaas"].(*v1alpha1.Cluster)
	cp := c.Spec.MachinePools[0]
	if *cp.Min != 3 || *cp.Max != 3 || cp.OSDisk.SizeGB != 60 || cp.OSDisk.Type != "Standard_LRS" || cp.InstanceType != v1alpha1.DefaultInstanceType {
		t.Errorf("control-plane pool defaults: %+v min=%d max=%d", cp, *cp.Min, *cp.Max)
	}
	if w := c.Spec.MachinePools[1]; *w.Min != 1 || *w.Max != 5 {
		t.Errorf("explicit min/max overwritten: %d/%d", *w.Min, *w.Max)
	}
	pcg := &v1alpha1.PrivateCloudGateway{Spec: v1alpha1.PrivateCloudGatewaySpec{Proxy: &v1alpha1.ProxySettings{HTTPProxy: "http://p:3128"}}}
	v1alpha1.Default(pcg)
	v1alpha1.Default(pcg)
	if pcg.Spec.Proxy.HTTPSProxy != "http://p:3128" || !slices.Equal(pcg.Spec.Proxy.NoProxy, []string{v1alpha1.InstanceMetadataIP}) {
		t.Errorf("gateway defaults: %+v", pcg.Spec.Proxy)
	}
	acct := &v1alpha1.CloudAccount{}
	v1alpha1.Default(acct)
	if acct.Spec.Azure.Environment != v1alpha1.EnvironmentPublic {
		t.Errorf("environment default = %q", acct.Spec.Azure.Environment)
	}
	prof := &v1alpha1.ClusterProfile{}
	v1alpha1.Default(prof)
	if prof.Spec.Version != "1.0.0" {
		t.Errorf("profile version default = %q", prof.Spec.Version)
	}
}

// TestUpdateKeepsSecret checks that an update may leave out the client secret when one is stored.
func TestUpdateKeepsSecret(t *testing.T) {
	f := loadFixtures(t)
	old := f.objs["CloudAccount/account"]
	upd := *old.(*v1alpha1.CloudAccount)
	upd.Spec.Azure.ClientSecret = v1alpha1.Secret{}
	if errs := v1alpha1.ValidateUpdate(context.Background(), old, &upd, f); len(errs) > 0 {
		t.Fatalf("update without secret refused: %v", errs)
	}
	if errs := v1alpha1.Validate(context.Background(), &upd, f); len(errs) != 1 || errs[0].Field != "spec.azure.clientSecret" {
		t.Fatalf("create without secret: %v", errs)
	}
}

// TestExamplesAreValid validates the repository's examples against each other.
func TestExamplesAreValid(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.yaml")
	if len(paths) == 0 {
		t.Skip("no examples yet")
	}
	res := fixtures{objs: map[string]v1alpha1.Object{}}
	var all []v1alpha1.Object
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := v1alpha1.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, o := range objs {
			v1alpha1.Default(o)
			res.objs[o.GetTypeMeta().Kind+"/"+o.Key()] = o
			all = append(all, o)
		}
	}
	for _, o := range all {
		if errs := v1alpha1.Validate(context.Background(), o, res); len(errs) > 0 {
			t.Errorf("%s %s: %v", o.GetTypeMeta().Kind, o.Key(), errs)
		}
	}
}
