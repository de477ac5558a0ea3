package server

import (
	"net/http"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestSelfManagedUpgradeRefused checks over HTTP that a change a self-managed cluster's
// machines cannot take (a Kubernetes version kubeadm cannot upgrade to, a VM size Azure cannot
// change in place) is refused up front and changes nothing, while a change strata makes in
// place, and a Kubernetes version one minor up, which replaces the machines, are accepted.
func TestSelfManagedUpgradeRefused(t *testing.T) {
	ts := newTestServer(t)
	ts.seed()
	next := profile("iaas", "1.1.0")
	next.Spec.Layers[1].Version = "1.31.2"
	ts.create(next)
	skip := profile("iaas", "1.2.0")
	skip.Spec.Layers[1].Version = "1.32.1"
	ts.create(skip)
	c := cluster("web", "account", profile("iaas", "1.0.0"))
	ts.create(c)

	refused := []struct {
		name, field string
		rule        v1alpha1.Rule
		change      func(c *v1alpha1.Cluster)
	}{
		{"Kubernetes two minor versions up by profile version", "spec.profiles[0].version", v1alpha1.RuleRange,
			func(c *v1alpha1.Cluster) { c.Spec.Profiles[0].Version = "1.2.0" }},
		{"bigger VMs", "spec.machinePools[1].instanceType", v1alpha1.RuleImmutable,
			func(c *v1alpha1.Cluster) { c.Spec.MachinePools[1].InstanceType = "Standard_D8s_v3" }},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.get(v1alpha1.KindCluster, "web", http.StatusOK)
			upd := cluster("web", "account", profile("iaas", "1.0.0"))
			tc.change(upd)
			r := ts.apply(upd, "")
			if r.code != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", r.code, r.body)
			}
			st := r.status(t)
			if len(st.Errors) != 1 || !hasError(st, tc.field, tc.rule) {
				t.Fatalf("errors %+v, want %s %s", st.Errors, tc.field, tc.rule)
			}
			if tc.rule == v1alpha1.RuleRange {
				mustContain(t, "message", st.Errors[0].Message, "which skips 1.31: kubeadm upgrades one minor version at a time; upgrade to 1.31 first")
			}
			if after := ts.get(v1alpha1.KindCluster, "web", http.StatusOK); string(after.body) != string(before.body) {
				t.Fatalf("the refused update changed the cluster:\n%s\n%s", before.body, after.body)
			}
		})
	}

	scaled := cluster("web", "account", profile("iaas", "1.0.0"))
	scaled.Spec.MachinePools[1].Count = 5
	scaled.Spec.Tags = append(scaled.Spec.Tags, "env:prod")
	if r := ts.apply(scaled, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("scaling and tagging: %d %s", r.code, r.body)
	}
	upgraded := cluster("web", "account", next)
	upgraded.Spec.MachinePools[1].Count = 5
	upgraded.Spec.Tags = scaled.Spec.Tags
	upgraded.Spec.Profiles[0].Values = map[string]string{"ubuntu": "image:\n  vhd: ubuntu-24.04.vhd\n"}
	if r := ts.apply(upgraded, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("Kubernetes one minor version up and a new OS image: %d %s", r.code, r.body)
	}
}
