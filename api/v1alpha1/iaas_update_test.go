package v1alpha1_test

import (
	"context"
	"fmt"
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
		// A new machine template: the machines are replaced one at a time, accepted.
		{"kubernetes one minor version up", nil, pins("1.1.0", nil, monitoring), nil, ""},
		{"OS layer version", nil, pins("1.0.2", nil, monitoring), nil, ""},
		{"OS image by override", nil, pins("1.0.0", map[string]any{"ubuntu": "image:\n  vhdURL: https://images.example/ubuntu-24.04.vhd\n"}, monitoring), nil, ""},
		{"OS image generation by override", pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V2\n"}, monitoring), pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V1\n"}, monitoring), nil, ""},
		{"OS image override spelled out as the default", pins("1.0.0", map[string]any{"ubuntu": "image:\n  hyperVGeneration: V2\n"}, monitoring), pins("1.0.0", nil, monitoring), nil, ""},
		// Refused.
		{"kubernetes upgrade with a new service range", nil, pins("1.1.0", map[string]any{"kubernetes": "pack:\n  serviceClusterIpRange: 10.112.0.0/12\n"}, monitoring), []string{`spec.profiles[0].version immutable`}, "serviceClusterIpRange"},
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

// TestSelfManagedUpgradeRules checks the kubernetes versions a self-managed cluster may move
// to by a rolling replacement of its machines (a patch or one minor version up, strictly
// parsed), and that no new machine template is taken while a replacement is under way.
func TestSelfManagedUpgradeRules(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	// Profile iaas@2.0.0 pins kubernetes 1.30.4 (as iaas@1.0.0), each other one of these the
	// kubernetes version it maps to.
	versions := map[string]string{
		"2.0.0": "1.30.4", "2.0.1": "1.30.9", "2.0.2": "1.30.3", "2.0.3": "v1.30.4",
		"2.1.0": "1.31.0", "2.1.1": "v1.31.2", "2.2.0": "1.32.1", "2.3.0": "1.33.0",
		"2.4.0": "1.29.9", "2.5.0": "2.0.0", "2.6.0": "1.31", "2.6.1": "1.31.2-rc.1",
		"2.6.2": "1.31.x", "2.7.0": "1.30", "2.8.0": "v1.30.4",
	}
	for version, kubernetes := range versions {
		f = append(f, iaasProfile(t, version, kubernetes))
	}
	iaas := func(version string, values map[string]any) map[string]any {
		ref := map[string]any{"name": "iaas", "version": version}
		if values != nil {
			ref["values"] = values
		}
		return map[string]any{"spec": map[string]any{"profiles": []any{ref}}}
	}
	newImage := map[string]any{"ubuntu": "image:\n  vhdURL: https://images.example/ubuntu-24.04.vhd\n"}
	upgrade := &v1alpha1.UpgradeStatus{From: "kubernetes 1.30.4, os ubuntu 22.04", To: "kubernetes 1.30.9, os ubuntu 22.04", Template: "t2", Done: 2, Total: 5}
	tests := []struct {
		name      string
		from      string // iaas version of the old cluster
		to        map[string]any
		upgrading bool
		want      []string
		mentions  []string
	}{
		{"patch up", "2.0.0", iaas("2.0.1", nil), false, nil, nil},
		{"one minor up", "2.0.0", iaas("2.1.0", nil), false, nil, nil},
		{"one minor up, to a later patch, spelled with v", "2.0.0", iaas("2.1.1", nil), false, nil, nil},
		{"one minor up from a version spelled with v", "2.8.0", iaas("2.1.0", nil), false, nil, nil},
		{"the same version spelled with v", "2.0.0", iaas("2.0.3", nil), false, nil, nil},
		{"one minor up and a new OS image", "2.0.0", iaas("2.1.0", newImage), false, nil, nil},
		{"another profile of the same version", "2.0.0", iaas("1.0.0", nil), false, nil, nil},
		{"one minor skipped", "2.0.0", iaas("2.2.0", nil), false, []string{"spec.profiles[0].version range"},
			[]string{`the kubernetes layer "kubernetes" goes from 1.30.4 to 1.32.1, which skips 1.31: kubeadm upgrades one minor version at a time; upgrade to 1.31 first`}},
		{"two minors skipped", "2.0.0", iaas("2.3.0", nil), false, []string{"spec.profiles[0].version range"},
			[]string{"from 1.30.4 to 1.33.0, which skips 1.31 to 1.32", "upgrade to 1.31 first"}},
		{"patch down", "2.0.0", iaas("2.0.2", nil), false, []string{"spec.profiles[0].version range"},
			[]string{"from 1.30.4 down to 1.30.3", "does not downgrade"}},
		{"minor down", "2.0.0", iaas("2.4.0", nil), false, []string{"spec.profiles[0].version range"},
			[]string{"from 1.30.4 down to 1.29.9"}},
		{"minor down from a later minor", "2.1.0", iaas("2.0.1", nil), false, []string{"spec.profiles[0].version range"},
			[]string{"from 1.31.0 down to 1.30.9"}},
		{"major up", "2.0.0", iaas("2.5.0", nil), false, []string{"spec.profiles[0].version range"},
			[]string{"from 1.30.4 to 2.0.0, another major version"}},
		{"to a version without a patch", "2.0.0", iaas("2.6.0", nil), false, []string{"spec.profiles[0].version format"},
			[]string{`to "1.31", which is not a version major.minor.patch`}},
		{"to a pre-release", "2.0.0", iaas("2.6.1", nil), false, []string{"spec.profiles[0].version format"},
			[]string{`"1.31.2-rc.1"`}},
		{"to a version with a letter", "2.0.0", iaas("2.6.2", nil), false, []string{"spec.profiles[0].version format"},
			[]string{`"1.31.x"`}},
		{"from a version without a patch", "2.7.0", iaas("2.1.0", nil), false, []string{"spec.profiles[0].version format"},
			[]string{`goes from "1.30", which is not a version major.minor.patch`}},
		{"unchanged version without a patch", "2.7.0", iaas("2.7.0", map[string]any{"calico": "mtu: 1400\n"}), false, nil, nil},

		// A rolling replacement is under way.
		{"kubernetes during an upgrade", "2.0.0", iaas("2.1.0", nil), true, []string{"spec.profiles[0].version conflict"},
			[]string{"version from 1.30.4 to 1.31.0 while a rolling replacement of the machines from kubernetes 1.30.4, os ubuntu 22.04 to kubernetes 1.30.9, os ubuntu 22.04 is under way",
				"wait until it finishes (strata describe cluster iaas shows its progress)"}},
		{"a skip during an upgrade is one error", "2.0.0", iaas("2.2.0", nil), true, []string{"spec.profiles[0].version conflict"}, nil},
		{"OS image during an upgrade", "2.0.0", iaas("2.0.0", newImage), true, []string{`spec.profiles[0].values["ubuntu"] conflict`},
			[]string{"image.vhdURL from none to https://images.example/ubuntu-24.04.vhd", "under way"}},
		{"OS image and kubernetes during an upgrade", "2.0.0", iaas("2.1.0", newImage), true, []string{"spec.profiles[0].version conflict", "spec.profiles[0].version conflict"}, nil},
		{"the same version spelled with v during an upgrade", "2.0.0", iaas("2.0.3", nil), true, nil, nil},
		{"service range during an upgrade", "2.0.0", iaas("2.0.0", map[string]any{"kubernetes": "pack:\n  serviceClusterIpRange: 10.112.0.0/12\n"}), true,
			[]string{`spec.profiles[0].values["kubernetes"] immutable`}, nil},
		{"counts during an upgrade", "2.0.0", map[string]any{"spec": map[string]any{"profiles": []any{map[string]any{"name": "iaas", "version": "2.0.0"}},
			"machinePools": []any{map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "zones": []any{"1", "2", "3"}}, map[string]any{"name": "workers", "count": 4, "min": 1, "max": 5}}}}, true, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := iaas(tc.from, nil)
			old := decodeCluster(t, f, base)
			if tc.upgrading {
				old.Status.Upgrade = upgrade
			}
			c := decodeCluster(t, f, base, tc.to)
			got := v1alpha1.CheckSelfManagedUpdate(old, pinned(t, f, old), c, pinned(t, f, c))
			if fr := fieldRules(got); !slices.Equal(fr, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", fr, tc.want, got)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(got.Error(), m) {
					t.Errorf("the errors do not say %q:\n%v", m, got)
				}
			}
		})
	}
}

// iaasProfile returns iaas@1.0.0 as profile version version, with kubernetes layer version
// kubernetes.
func iaasProfile(t *testing.T, version, kubernetes string) v1alpha1test.Fixture {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: strata.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: iaas
spec:
  version: %s
  cloud: azure
  type: infra
  layers:
  - name: ubuntu
    type: os
    version: "22.04"
  - name: kubernetes
    type: kubernetes
    version: %q
  - name: calico
    type: network
    version: 3.28.0
`, version, kubernetes)
	obj, errs := v1alpha1.DecodeObject([]byte(doc))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	return v1alpha1test.Fixture{ID: obj.GetTypeMeta().Kind + "/" + obj.Key(), YAML: doc, Object: obj}
}
