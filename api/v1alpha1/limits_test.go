package v1alpha1_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
	"github.com/strata-dev/strata/internal/plan"
)

// TestSizeLimits checks the bounds of texts too large to keep in testdata/invalid.yaml.
func TestSizeLimits(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	big := "a: " + strings.Repeat("x", v1alpha1.MaxValuesBytes) + "\n"
	tests := []struct {
		name  string
		base  string
		patch map[string]any
		want  []string
	}{
		{"manifest content over 1 MiB", "ClusterProfile/monitoring@2.1.0", map[string]any{"spec": map[string]any{"layers": []any{
			map[string]any{"name": "prometheus", "type": "addon", "version": "1.0.0", "manifests": []any{map[string]any{"name": "big", "content": big}}}}}},
			[]string{"spec.layers[0].manifests[0].content too-long"}},
		{"layer values over 1 MiB", "ClusterProfile/monitoring@2.1.0", map[string]any{"spec": map[string]any{"layers": []any{
			map[string]any{"name": "prometheus", "type": "addon", "version": "1.0.0", "values": big}}}},
			[]string{"spec.layers[0].values too-long"}},
		{"cluster override over 1 MiB", "Cluster/iaas", map[string]any{"spec": map[string]any{"profiles": []any{
			map[string]any{"name": "iaas", "version": "1.0.0", "values": map[string]any{"calico": big}},
			map[string]any{"name": "monitoring", "version": "2.1.0"}}}},
			[]string{`spec.profiles[0].values["calico"] too-long`}},
		{"manifest content of exactly 1 MiB", "ClusterProfile/monitoring@2.1.0", map[string]any{"spec": map[string]any{"layers": []any{
			map[string]any{"name": "prometheus", "type": "addon", "version": "1.0.0", "manifests": []any{map[string]any{"name": "big", "content": big[:v1alpha1.MaxManifestBytes]}}}}}},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: tc.patch}.Apply(t, f))
			if errs != nil {
				t.Fatal(errs)
			}
			v1alpha1.Default(obj)
			if got := fieldRules(v1alpha1.Validate(context.Background(), obj, f)); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
		})
	}
}

// azureNameLimits are Azure's limits of the names of the resources strata plans (Azure's
// "Naming rules and restrictions for Azure resources").
var azureNameLimits = map[plan.Kind]int{
	plan.KindVirtualNetwork:       64,
	plan.KindSubnet:               80,
	plan.KindNetworkSecurityGroup: 80,
	plan.KindPublicIPAddress:      80,
	plan.KindNatGateway:           80,
	plan.KindLoadBalancer:         80,
	plan.KindNetworkInterface:     80,
	plan.KindImage:                80,
	plan.KindVirtualMachine:       64, // Linux
	plan.KindManagedCluster:       63,
	plan.KindAgentPool:            12,
	plan.KindStorageAccount:       24,
	plan.KindBlobContainer:        63,
}

// TestLimitsFitPlannedNames checks that the longest names validation accepts give resource
// names Azure accepts, that one character more would not (validation refuses it), and that
// validation's view of the dynamic network is the plan's.
func TestLimitsFitPlannedNames(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	secrets, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if v1alpha1.DynamicWorkerSubnet != plan.DynamicWorkersCIDR || v1alpha1.DynamicControlPlaneSubnet != plan.DynamicControlPlaneCIDR {
		t.Fatalf("validation counts on the subnets %s and %s, the plan makes %s and %s",
			v1alpha1.DynamicControlPlaneSubnet, v1alpha1.DynamicWorkerSubnet, plan.DynamicControlPlaneCIDR, plan.DynamicWorkersCIDR)
	}
	longest := strings.Repeat("n", v1alpha1.MaxVirtualNetworkNameLength-len(v1alpha1.DynamicNetworkSuffix))
	for _, id := range []string{"Cluster/iaas", "Cluster/aks"} {
		t.Run(id, func(t *testing.T) {
			c, profiles := longestNames(t, f, id, longest)
			if errs := v1alpha1.Validate(context.Background(), c, f); len(errs) > 0 {
				t.Fatalf("the longest names are refused: %v", errs)
			}
			if over := namesOverLimit(t, c, profiles, secrets); len(over) > 0 {
				t.Errorf("names Azure refuses: %s", strings.Join(over, "; "))
			}
			c, profiles = longestNames(t, f, id, longest+"n")
			if errs := v1alpha1.Validate(context.Background(), c, f); len(errs) == 0 {
				t.Error("a name one character longer is accepted")
			}
			if over := namesOverLimit(t, c, profiles, secrets); len(over) == 0 {
				t.Error("a name one character longer fits Azure's limits too: the bound is not tight")
			}
		})
	}
}

// longestNames returns the fixture cluster id named name, with pools whose VM names are as
// long as Azure allows for that name, and its profiles, the OS layer given an image.
func longestNames(t *testing.T, f v1alpha1test.Fixtures, id, name string) (*v1alpha1.Cluster, []*v1alpha1.ClusterProfile) {
	t.Helper()
	patch := map[string]any{"metadata": map[string]any{"name": name}}
	if id == "Cluster/iaas" {
		// For a name of 59 characters, <name>-wk-9 is 64 characters, the longest VM name.
		patch["spec"] = map[string]any{"machinePools": []any{
			map[string]any{"name": "cp", "controlPlane": true, "count": 1},
			map[string]any{"name": "wk", "count": 3, "max": 10}}}
	}
	obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: id, Patch: patch}.Apply(t, f))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	c := obj.(*v1alpha1.Cluster)
	var profiles []*v1alpha1.ClusterProfile
	for _, ref := range c.Spec.Profiles {
		obj, _ := f.Lookup(context.Background(), v1alpha1.KindClusterProfile, v1alpha1.ProfileKey(ref.Name, ref.Version))
		p := *obj.(*v1alpha1.ClusterProfile)
		p.Spec.Layers = slices.Clone(p.Spec.Layers)
		for i := range p.Spec.Layers {
			if p.Spec.Layers[i].Type == v1alpha1.LayerOS {
				p.Spec.Layers[i].Values = "image:\n  vhd: ubuntu-22.04.vhd\n" // the plan needs the image
			}
		}
		profiles = append(profiles, &p)
	}
	return c, profiles
}

// namesOverLimit plans the cluster, its pools at their largest, and lists the resource names
// longer than Azure allows.
func namesOverLimit(t *testing.T, c *v1alpha1.Cluster, profiles []*v1alpha1.ClusterProfile, secrets plan.BootstrapSecrets) []string {
	t.Helper()
	c.Spec.MachinePools = slices.Clone(c.Spec.MachinePools)
	for i := range c.Spec.MachinePools {
		if mp := &c.Spec.MachinePools[i]; mp.Max != nil {
			mp.Count = *mp.Max
		}
	}
	g, err := plan.Build(plan.Input{Cluster: c, Profiles: profiles, Secrets: secrets, Env: plan.Environment{
		ImageBaseURL: "https://images.example/", BlobEndpoint: func(a string) string { return "https://" + a + ".blob.core.windows.net/" }}})
	if err != nil {
		t.Fatal(err)
	}
	var over []string
	for _, n := range g.Nodes {
		name := n.ID[strings.LastIndex(n.ID, "/")+1:]
		if limit, ok := azureNameLimits[n.Kind]; ok && len(name) > limit {
			over = append(over, fmt.Sprintf("%s %s (%d characters, at most %d)", n.Kind, name, len(name), limit))
		}
	}
	return over
}
