package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
)

// TestRollingReplacementSettings checks the pool settings of a rolling replacement of an iaas
// cluster's machines (maxSurge, maxUnavailable, drainTimeout), and that an AKS cluster's pools
// refuse them.
func TestRollingReplacementSettings(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	iaas := func(cp, workers map[string]any) map[string]any {
		controlPlane := map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "zones": []any{"1", "2", "3"}}
		worker := map[string]any{"name": "workers", "count": 2, "min": 1, "max": 5}
		for k, v := range cp {
			controlPlane[k] = v
		}
		for k, v := range workers {
			worker[k] = v
		}
		return map[string]any{"spec": map[string]any{"machinePools": []any{controlPlane, worker}}}
	}
	aks := func(fields map[string]any) map[string]any {
		user := map[string]any{"name": "user", "count": 0, "min": 0, "max": 10, "maxPods": 110}
		for k, v := range fields {
			user[k] = v
		}
		return map[string]any{"spec": map[string]any{"machinePools": []any{
			map[string]any{"name": "system", "system": true, "count": 3, "zones": []any{"1", "2", "3"}}, user}}}
	}
	tests := []struct {
		name     string
		base     string
		patch    map[string]any
		want     []string
		mentions string
	}{
		{"defaults", "Cluster/iaas", iaas(nil, nil), nil, ""},
		{"every setting", "Cluster/iaas", iaas(nil, map[string]any{"maxSurge": 3, "maxUnavailable": 2, "drainTimeout": "1h30m"}), nil, ""},
		{"no surge, one unavailable", "Cluster/iaas", iaas(nil, map[string]any{"maxSurge": 0, "maxUnavailable": 1}), nil, ""},
		{"maxUnavailable 0 as its default", "Cluster/iaas", iaas(nil, map[string]any{"maxUnavailable": 0}), nil, ""},
		{"drain of a day", "Cluster/iaas", iaas(nil, map[string]any{"drainTimeout": "24h"}), nil, ""},
		{"control plane with maxSurge and maxUnavailable 0, which it ignores", "Cluster/iaas", iaas(map[string]any{"maxSurge": 0, "maxUnavailable": 0}, nil), nil, ""},
		{"control plane with a drain timeout", "Cluster/iaas", iaas(map[string]any{"drainTimeout": "30m"}, nil), nil, ""},

		{"negative maxSurge", "Cluster/iaas", iaas(nil, map[string]any{"maxSurge": -1}), []string{"spec.machinePools[1].maxSurge range"}, "-1 is below 0"},
		{"negative maxUnavailable", "Cluster/iaas", iaas(nil, map[string]any{"maxUnavailable": -2}), []string{"spec.machinePools[1].maxUnavailable range"}, "-2 is below 0"},
		{"negative maxSurge on the control plane", "Cluster/iaas", iaas(map[string]any{"maxSurge": -1}, nil), []string{"spec.machinePools[0].maxSurge range"}, ""},
		{"maxSurge 0 with the default maxUnavailable", "Cluster/iaas", iaas(nil, map[string]any{"maxSurge": 0}), []string{"spec.machinePools[1].maxSurge range"},
			"maxSurge and maxUnavailable cannot both be 0 (maxUnavailable defaults to 0): a rolling replacement could not make progress"},
		{"both 0", "Cluster/iaas", iaas(nil, map[string]any{"maxSurge": 0, "maxUnavailable": 0}), []string{"spec.machinePools[1].maxSurge range"}, "cannot both be 0"},
		{"drainTimeout not a duration", "Cluster/iaas", iaas(nil, map[string]any{"drainTimeout": "10 minutes"}), []string{"spec.machinePools[1].drainTimeout format"}, `"10 minutes" is not a duration`},
		{"drainTimeout without a unit", "Cluster/iaas", iaas(nil, map[string]any{"drainTimeout": "600"}), []string{"spec.machinePools[1].drainTimeout format"}, ""},
		{"drainTimeout 0", "Cluster/iaas", iaas(nil, map[string]any{"drainTimeout": "0s"}), []string{"spec.machinePools[1].drainTimeout range"}, "outside (0, 24h]"},
		{"negative drainTimeout", "Cluster/iaas", iaas(nil, map[string]any{"drainTimeout": "-5m"}), []string{"spec.machinePools[1].drainTimeout range"}, ""},
		{"drainTimeout above a day", "Cluster/iaas", iaas(map[string]any{"drainTimeout": "24h1s"}, nil), []string{"spec.machinePools[0].drainTimeout range"}, ""},
		{"repairAfter", "Cluster/iaas", iaas(nil, map[string]any{"repairAfter": "5m"}), nil, ""},
		{"repairAfter 0 turns repair off", "Cluster/iaas", iaas(nil, map[string]any{"repairAfter": "0"}), nil, ""},
		{"repairAfter not a duration", "Cluster/iaas", iaas(nil, map[string]any{"repairAfter": "soon"}), []string{"spec.machinePools[1].repairAfter format"}, `"soon" is not a duration`},
		{"negative repairAfter", "Cluster/iaas", iaas(nil, map[string]any{"repairAfter": "-1m"}), []string{"spec.machinePools[1].repairAfter range"}, "outside [0, 24h]"},
		{"AKS pool with repairAfter", "Cluster/aks", aks(map[string]any{"repairAfter": "5m"}), []string{"spec.machinePools[1].repairAfter forbidden"}, "repairAfter applies"},

		{"scaleDownAfter", "Cluster/iaas", iaas(nil, map[string]any{"scaleDownAfter": "2m"}), nil, ""},
		{"scaleDownAfter not a duration", "Cluster/iaas", iaas(nil, map[string]any{"scaleDownAfter": "later"}), []string{"spec.machinePools[1].scaleDownAfter format"}, `"later" is not a duration`},
		{"scaleDownAfter 0", "Cluster/iaas", iaas(nil, map[string]any{"scaleDownAfter": "0s"}), []string{"spec.machinePools[1].scaleDownAfter range"}, "outside (0, 24h]"},
		{"scaleDownAfter above a day", "Cluster/iaas", iaas(nil, map[string]any{"scaleDownAfter": "25h"}), []string{"spec.machinePools[1].scaleDownAfter range"}, ""},
		{"scaleDownAfter on the control plane", "Cluster/iaas", iaas(map[string]any{"scaleDownAfter": "5m"}, nil), []string{"spec.machinePools[0].scaleDownAfter forbidden"}, "does not autoscale"},
		{"AKS pool with scaleDownAfter", "Cluster/aks", aks(map[string]any{"scaleDownAfter": "5m"}), []string{"spec.machinePools[1].scaleDownAfter forbidden"}, "autoscales its node pools itself"},

		{"AKS pool without them", "Cluster/aks", aks(nil), nil, ""},
		{"AKS pool with maxSurge", "Cluster/aks", aks(map[string]any{"maxSurge": 1}), []string{"spec.machinePools[1].maxSurge forbidden"}, "maxSurge applies to an iaas cluster's machines: AKS upgrades, repairs and autoscales its node pools itself"},
		{"AKS pool with all three", "Cluster/aks", aks(map[string]any{"maxSurge": 0, "maxUnavailable": 1, "drainTimeout": "10m"}),
			[]string{"spec.machinePools[1].drainTimeout forbidden", "spec.machinePools[1].maxSurge forbidden", "spec.machinePools[1].maxUnavailable forbidden"}, "maxUnavailable applies"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, derrs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: tc.patch}.Apply(t, f))
			if derrs != nil {
				t.Fatal(derrs)
			}
			v1alpha1.Default(obj)
			got := v1alpha1.Validate(context.Background(), obj, f)
			if fr := fieldRules(got); !slices.Equal(fr, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", fr, tc.want, got)
			}
			if tc.mentions != "" && !strings.Contains(got.Error(), tc.mentions) {
				t.Errorf("the errors do not say %q:\n%v", tc.mentions, got)
			}
		})
	}
}

// TestRollingReplacementWarnings checks that maxSurge and maxUnavailable on the control-plane
// pool, which ignores them, are warned of, and nothing else.
func TestRollingReplacementWarnings(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	obj, derrs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: "Cluster/iaas", Patch: map[string]any{"spec": map[string]any{"machinePools": []any{
		map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "maxSurge": 2, "maxUnavailable": 1, "drainTimeout": "5m"},
		map[string]any{"name": "workers", "count": 2, "maxSurge": 2, "maxUnavailable": 1},
	}}}}.Apply(t, f))
	if derrs != nil {
		t.Fatal(derrs)
	}
	v1alpha1.Default(obj)
	if errs := v1alpha1.Validate(context.Background(), obj, f); len(errs) > 0 {
		t.Fatal(errs)
	}
	warnings := v1alpha1.Warnings(context.Background(), obj, nil) // those of other objects left out
	want := []string{"spec.machinePools[0].maxSurge ignored", "spec.machinePools[0].maxUnavailable ignored"}
	if got := fieldRules(warnings); !slices.Equal(got, want) {
		t.Fatalf("warnings = %q, want %q\n%v", got, want, warnings)
	}
	if !strings.Contains(warnings.Error(), "replaced one at a time") {
		t.Errorf("the warnings do not say why: %v", warnings)
	}
}
