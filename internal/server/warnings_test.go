package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// aksProfileYAML is an AKS profile version whose managed control plane has Entra ID
// integration managed or not, and an admin group when groups is set (the seed's examples).
func aksProfileYAML(version string, managed, groups bool) []byte {
	admins := ""
	if groups {
		admins = "\n          adminGroupObjectIDs:\n            - 6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13"
	}
	return fmt.Appendf(nil, `apiVersion: strata.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: aks-base
spec:
  version: %s
  cloud: aks
  type: infra
  layers:
  - name: kubernetes
    type: kubernetes
    version: 1.30.4
    values: |
      managedControlPlane:
        aadProfile:
          managed: %v%s
        sku: Free
`, version, managed, admins)
}

// aksClusterYAML is an AKS cluster pinning aks-base at version with count system nodes.
func aksClusterYAML(name, version string, count int) []byte {
	return fmt.Appendf(nil, `apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: %s
spec:
  cloudAccount: account
  profiles:
  - name: aks-base
    version: %s
  azure:
    type: aks
    subscriptionID: 8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
    resourceGroup: strata-clusters
    location: westeurope
    sshPublicKey: %s
  machinePools:
  - name: system
    system: true
    count: %d
`, name, version, sshKey, count)
}

// warningEvents returns the messages of an object's Warning events.
func (ts *testServer) warningEvents(kind, key string) []string {
	ts.t.Helper()
	r := ts.do(http.MethodGet, kindPath(kind)+"/"+key+"/events", nil, "")
	var list EventList
	if err := json.Unmarshal(r.body, &list); err != nil || r.code != http.StatusOK {
		ts.t.Fatalf("events of %s %s: %d %s", kind, key, r.code, r.body)
	}
	var out []string
	for _, e := range list.Items {
		if e.Type == "Warning" {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// TestWarnings checks that an AKS profile with aadProfile.managed false and admin groups is
// accepted with a Warning header saying that the groups are ignored, on its own writes and on
// those of a cluster that uses it, and that the cluster gets a Warning event when it starts
// using such a profile.
func TestWarnings(t *testing.T) {
	ts := newTestServer(t)
	ts.create(account("account", "", testSecret))
	const field = `spec.layers[0].values.managedControlPlane.aadProfile.adminGroupObjectIDs`
	profilePath := kindPath(v1alpha1.KindClusterProfile)
	clusterPath := kindPath(v1alpha1.KindCluster)
	warnings := func(what string, r *response, code int) []string {
		t.Helper()
		if r.code != code {
			t.Fatalf("%s: %d %s, want %d", what, r.code, r.body, code)
		}
		return r.header.Values("Warning")
	}
	wantOne := func(what string, got []string, object string) {
		t.Helper()
		if len(got) != 1 || !strings.HasPrefix(got[0], `299 - "`) || !strings.HasSuffix(got[0], `"`) ||
			!strings.Contains(got[0], object) || !strings.Contains(got[0], "adminGroupObjectIDs") || !strings.Contains(got[0], "ignored") {
			t.Errorf("%s: Warning headers %q, want one saying that %s's admin groups are ignored", what, got, object)
		}
	}

	// The profile: the warning on every write of it, none for the others.
	wantOne("dry-run create", warnings("dry-run create", ts.do(http.MethodPost, profilePath+"?dryRun=true", aksProfileYAML("1.0.0", false, true), "application/yaml"), http.StatusOK), `ClusterProfile \"aks-base@1.0.0\": `+field)
	wantOne("create", warnings("create", ts.do(http.MethodPost, profilePath, aksProfileYAML("1.0.0", false, true), "application/yaml"), http.StatusCreated), "aks-base@1.0.0")
	wantOne("apply unchanged", warnings("apply unchanged", ts.do(http.MethodPut, profilePath+"/aks-base@1.0.0", aksProfileYAML("1.0.0", false, true), "application/yaml"), http.StatusOK), "aks-base@1.0.0")
	invalid := strings.Replace(string(aksProfileYAML("4.0.0", false, true)), "sku: Free", "sku: Premium", 1)
	wantOne("invalid", warnings("invalid", ts.do(http.MethodPut, profilePath+"/aks-base@4.0.0", []byte(invalid), "application/yaml"), http.StatusUnprocessableEntity), "aks-base@4.0.0")
	for _, p := range []struct {
		version         string
		managed, groups bool
	}{{"2.0.0", true, true}, {"3.0.0", false, false}} {
		if got := warnings(p.version, ts.do(http.MethodPut, profilePath+"/aks-base@"+p.version, aksProfileYAML(p.version, p.managed, p.groups), "application/yaml"), http.StatusCreated); len(got) != 0 {
			t.Errorf("profile %s: Warning headers %q", p.version, got)
		}
	}

	// A cluster on it: the header, and one Warning event when it starts using it.
	wantOne("cluster create", warnings("cluster create", ts.do(http.MethodPut, clusterPath+"/web", aksClusterYAML("web", "1.0.0", 1), "application/yaml"), http.StatusCreated), `Cluster \"web\": spec.profiles[0].values[\"kubernetes\"].managedControlPlane.aadProfile.adminGroupObjectIDs`)
	if ev := ts.warningEvents(v1alpha1.KindCluster, "web"); len(ev) != 1 || !strings.HasPrefix(ev[0], EventValidationWarning+": spec.profiles[0]") || !strings.Contains(ev[0], "adminGroupObjectIDs") {
		t.Fatalf("Warning events after the create: %q", ev)
	}
	wantOne("cluster scaled", warnings("cluster scaled", ts.do(http.MethodPut, clusterPath+"/web", aksClusterYAML("web", "1.0.0", 2), "application/yaml"), http.StatusOK), `Cluster \"web\"`)
	if ev := ts.warningEvents(v1alpha1.KindCluster, "web"); len(ev) != 1 {
		t.Fatalf("a change that does not touch the profiles recorded another Warning event: %q", ev)
	}
	if got := warnings("moved to managed", ts.do(http.MethodPut, clusterPath+"/web", aksClusterYAML("web", "2.0.0", 2), "application/yaml"), http.StatusOK); len(got) != 0 {
		t.Errorf("cluster on the managed profile: Warning headers %q", got)
	}

	// A cluster that moves onto it gets the event; a dry run does not.
	if got := warnings("api create", ts.do(http.MethodPut, clusterPath+"/api", aksClusterYAML("api", "3.0.0", 1), "application/yaml"), http.StatusCreated); len(got) != 0 {
		t.Errorf("cluster without admin groups: Warning headers %q", got)
	}
	wantOne("api moved, dry run", warnings("api moved, dry run", ts.do(http.MethodPut, clusterPath+"/api?dryRun=true", aksClusterYAML("api", "1.0.0", 1), "application/yaml"), http.StatusOK), `Cluster \"api\"`)
	if ev := ts.warningEvents(v1alpha1.KindCluster, "api"); len(ev) != 0 {
		t.Fatalf("a dry run recorded a Warning event: %q", ev)
	}
	wantOne("api moved", warnings("api moved", ts.do(http.MethodPut, clusterPath+"/api", aksClusterYAML("api", "1.0.0", 1), "application/yaml"), http.StatusOK), `Cluster \"api\"`)
	if ev := ts.warningEvents(v1alpha1.KindCluster, "api"); len(ev) != 1 {
		t.Fatalf("moving onto the profile recorded no Warning event: %q", ev)
	}
}

func TestWarningHeaderValue(t *testing.T) {
	for text, want := range map[string]string{
		`plain`:                      `299 - "plain"`,
		`Cluster "web": a\b`:         `299 - "Cluster \"web\": a\\b"`,
		"line one\nline two\ttab":    `299 - "line one line two tab"`,
		"zone « 1 » is listed twice": `299 - "zone « 1 » is listed twice"`,
	} {
		if got := warningHeaderValue(text); got != want {
			t.Errorf("warningHeaderValue(%q) = %s, want %s", text, got, want)
		}
	}
}

// TestWarningEventsDue checks when a write's warnings become events: for a cluster created or
// moved to other profiles or overrides.
func TestWarningEventsDue(t *testing.T) {
	base := cluster("web", "account", profile("iaas", "1.0.0"))
	other := *base
	other.Spec.Profiles = []v1alpha1.ProfileRef{{Name: "iaas", Version: "2.0.0"}}
	overridden := *base
	overridden.Spec.Profiles = []v1alpha1.ProfileRef{{Name: "iaas", Version: "1.0.0", Values: map[string]string{"kubernetes": "a: b\n"}}}
	scaled := *base
	scaled.Spec.MachinePools = []v1alpha1.MachinePool{{Name: "control-plane", ControlPlane: true, Count: 3}}
	tests := []struct {
		name     string
		old, obj v1alpha1.Object
		want     bool
	}{
		{"cluster created", nil, base, true},
		{"other profile version", base, &other, true},
		{"other override", base, &overridden, true},
		{"same profiles", base, &scaled, false},
		{"profile created", nil, profile("iaas", "1.0.0"), false},
	}
	for _, tc := range tests {
		if got := warningEventsDue(tc.old, tc.obj); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
