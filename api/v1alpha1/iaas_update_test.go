package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
)

// TestCheckSelfManagedUpdate checks which changes of a running self-managed cluster are refused
// because its machines would have to be replaced (or because Azure cannot change them in
// place), and that those strata applies in place stay accepted.
func TestCheckSelfManagedUpdate(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	pools := func(mutate func(p *[]any)) map[string]any {
		p := []any{
			map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "zones": []any{"1", "2", "3"}},
			map[string]any{"name": "workers", "count": 2, "min": 1, "max": 5},
		}
		mutate(&p)
		return map[string]any{"spec": map[string]any{"machinePools": p}}
	}
	worker := func(fields map[string]any) func(p *[]any) {
		return func(p *[]any) {
			w := (*p)[1].(map[string]any)
			for k, v := range fields {
				w[k] = v
			}
		}
	}
	pins := func(iaas string, values map[string]any, more ...any) map[string]any {
		ref := map[string]any{"name": "iaas", "version": iaas}
		if values != nil {
			ref["values"] = values
		}
		return map[string]any{"spec": map[string]any{"profiles": append([]any{ref}, more...)}}
	}
	monitoring := map[string]any{"name": "monitoring", "version": "2.1.0"}
	tests := []struct {
		name     string
		base     map[string]any // patch of Cluster/iaas for the old cluster
		patch    map[string]any // patch of the old cluster for the new one
		want     []string
		mentions string
	}{
		// In place: accepted.
		{"nothing", nil, nil, nil, ""},
		{"tags", nil, map[string]any{"spec": map[string]any{"tags": []any{"department:finance", "env:staging", "owner:web"}}}, nil, ""},
		{"counts and autoscaler bounds", nil, pools(worker(map[string]any{"count": 4, "min": 2, "max": 8})), nil, ""},
		{"a pool added", nil, pools(func(p *[]any) {
			*p = append(*p, map[string]any{"name": "batch", "count": 2, "instanceType": "Standard_D8s_v3"})
		}), nil, ""},
		{"a pool removed", pools(func(*[]any) {}), map[string]any{"spec": map[string]any{"machinePools": []any{map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "zones": []any{"1", "2", "3"}}}}}, nil, ""},
		{"add-on profile removed", nil, pins("1.0.0", nil), nil, ""},
		{"add-on layer values", nil, pins("1.0.0", nil, map[string]any{"name": "monitoring", "version": "2.1.0", "values": map[string]any{"prometheus": "retention: 30d\n"}}), nil, ""},
		{"network layer upgraded", nil, pins("1.0.1", nil, monitoring), nil, ""},
		{"kubernetes values strata does not read", nil, pins("1.0.0", map[string]any{"kubernetes": "apiServer:\n  extraArgs: {audit-log-maxage: '30'}\n"}, monitoring), nil, ""},
		{"VM size of a pool without machines", pools(worker(map[string]any{"count": 0, "min": 0})), pools(worker(map[string]any{"count": 0, "min": 0, "instanceType": "Standard_D8s_v3", "zones": []any{"1"}, "labels": map[string]any{"a": "b"}})), nil, ""},
		// Machines would need replacing: refused.
		{"kubernetes version", nil, pins("1.1.0", nil, monitoring), []string{"spec.profiles[0].version unsupported"}, "rolling upgrade of self-managed clusters is not supported yet: create a new cluster or pin the previous profile version"},
		{"OS layer version", nil, pins("1.0.2", nil, monitoring), []string{"spec.profiles[0].version unsupported"}, "24.04"},
		{"OS image by override", nil, pins("1.0.0", map[string]any{"ubuntu": "image:\n  vhdURL: https://images.example/ubuntu-24.04.vhd\n"}, monitoring), []string{`spec.profiles[0].values["ubuntu"] unsupported`}, "image.vhdURL"},
		{"OS image generation by override", pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V2\n"}, monitoring), pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V1\n"}, monitoring), []string{`spec.profiles[0].values["ubuntu"] unsupported`}, "hyperVGeneration"},
		{"OS image override spelled out as the default", pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V2\n"}, monitoring), pins("1.0.0", nil, monitoring), nil, ""},
		{"service range by override", nil, pins("1.0.0", map[string]any{"kubernetes": "pack:\n  serviceClusterIpRange: 10.112.0.0/12\n"}, monitoring), []string{`spec.profiles[0].values["kubernetes"] immutable`}, "serviceClusterIpRange"},
		{"VM size", nil, pools(worker(map[string]any{"instanceType": "Standard_D4s_v3"})), []string{"spec.machinePools[1].instanceType immutable"}, "Standard_D2s_v3"},
		{"zones", nil, pools(func(p *[]any) { (*p)[0].(map[string]any)["zones"] = []any{"1"} }), []string{"spec.machinePools[0].zones immutable"}, "[1, 2, 3]"},
		{"OS disk", nil, pools(worker(map[string]any{"osDisk": map[string]any{"sizeGB": 128, "type": "Premium_LRS"}})), []string{"spec.machinePools[1].osDisk.sizeGB immutable", "spec.machinePools[1].osDisk.type immutable"}, ""},
		{"labels", nil, pools(worker(map[string]any{"labels": map[string]any{"tier": "gold"}})), []string{"spec.machinePools[1].labels unsupported"}, "join"},
		{"taints", nil, pools(worker(map[string]any{"taints": []any{map[string]any{"key": "gpu", "effect": "NoSchedule"}}})), []string{"spec.machinePools[1].taints unsupported"}, ""},
		{"control-plane pool renamed", nil, pools(func(p *[]any) { (*p)[0].(map[string]any)["name"] = "masters" }), []string{"spec.machinePools[0].name immutable"}, "control-plane"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := decodeCluster(t, f, tc.base)
			c := decodeCluster(t, f, tc.base, tc.patch)
			got := v1alpha1.CheckSelfManagedUpdate(old, pinned(t, f, old), c, pinned(t, f, c))
			if fr := fieldRules(got); !slices.Equal(fr, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", fr, tc.want, got)
			}
			if tc.mentions != "" && !strings.Contains(got.Error(), tc.mentions) {
				t.Errorf("the errors do not say %q:\n%v", tc.mentions, got)
			}
		})
	}
}

// decodeCluster returns Cluster/iaas with merge patches applied, defaulted.
func decodeCluster(t *testing.T, f v1alpha1test.Fixtures, patches ...map[string]any) *v1alpha1.Cluster {
	t.Helper()
	var extra []map[string]any
	for _, p := range patches {
		if p != nil {
			extra = append(extra, p)
		}
	}
	obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: "Cluster/iaas"}.Apply(t, f, extra...))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	if errs := v1alpha1.Validate(context.Background(), obj, f); len(errs) > 0 {
		t.Fatalf("test cluster is invalid: %v", errs)
	}
	return obj.(*v1alpha1.Cluster)
}

// pinned returns the profiles c pins, from the fixtures.
func pinned(t *testing.T, f v1alpha1test.Fixtures, c *v1alpha1.Cluster) []*v1alpha1.ClusterProfile {
	t.Helper()
	var out []*v1alpha1.ClusterProfile
	for _, ref := range c.Spec.Profiles {
		obj, err := f.Lookup(context.Background(), v1alpha1.KindClusterProfile, v1alpha1.ProfileKey(ref.Name, ref.Version))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.(*v1alpha1.ClusterProfile))
	}
	return out
}
