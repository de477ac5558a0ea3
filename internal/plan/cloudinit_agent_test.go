package plan

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// testAgentManifest stands for the agent's manifest: what matters is that it is written as it
// is, and only where it should be.
const testAgentManifest = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: strata-system\n---\n" +
	"apiVersion: v1\nkind: Secret\nmetadata:\n  name: strata-agent\n  namespace: strata-system\n" +
	"stringData:\n  token: 6b1f0a52.agent-token-secret\n"

// agentApply is the command that applies the manifest on the init machine.
var agentApply = []string{"kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "--server-side",
	"--field-manager=strata", "--force-conflicts", "-f", "/etc/kubernetes/strata/agent.yaml"}

// TestCloudInitAgent checks every VM's cloud-config with and without the agent's manifest:
// only the first control-plane machine writes it (root only) and applies it after kubeadm
// init, then removes it; without a manifest, no machine does.
func TestCloudInitAgent(t *testing.T) {
	secrets := testSecrets(t)
	profiles := []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")}
	dynamic := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	static := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")
	oneCP := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	oneCP.Spec.MachinePools[0].Count = 1
	tests := []struct {
		name     string
		cluster  *v1alpha1.Cluster
		manifest string
		proxy    *proxyenv.Settings
	}{
		{name: "no manifest", cluster: dynamic},
		{name: "dynamic", cluster: dynamic, manifest: testAgentManifest},
		{name: "static", cluster: static, manifest: testAgentManifest},
		{name: "one control-plane machine", cluster: oneCP, manifest: testAgentManifest},
		{name: "with a proxy", cluster: dynamic, manifest: testAgentManifest,
			proxy: &proxyenv.Settings{HTTPProxy: testHTTPProxy, NoProxy: []string{testGatewayEntry}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(t, Input{Cluster: tt.cluster, Profiles: profiles, Env: testEnv(true), Secrets: secrets,
				Proxy: tt.proxy, AgentManifest: []byte(tt.manifest)})
			initVM := InitMachineKey(tt.cluster)
			for key, cc := range cloudConfigs(t, g) {
				if key == initVM && tt.manifest != "" {
					checkAgentInstall(t, key, cc, tt.manifest)
				} else {
					checkNoAgentInstall(t, key, cc)
				}
			}
		})
	}
}

// checkAgentInstall checks the init machine's cloud-config: the manifest in a root-only file,
// then kubeadm init, the apply and the removal, last and in that order.
func checkAgentInstall(t *testing.T, key string, cc cloudConfig, manifest string) {
	t.Helper()
	f := cc.file(agentManifestPath)
	if f == nil {
		t.Fatalf("%s: no %s", key, agentManifestPath)
	}
	if f.Owner != "root:root" || f.Permissions != "0600" || f.Append || f.Content != manifest {
		t.Errorf("%s: %s is %s %s append=%v, content as given: %v", key, f.Path, f.Owner, f.Permissions, f.Append, f.Content == manifest)
	}
	n := len(cc.RunCmd)
	if n < 3 {
		t.Fatalf("%s: runcmd = %v", key, cc.RunCmd)
	}
	want := [][]string{{"kubeadm", "init", "--config", kubeadmConfigPath, "--upload-certs"}, agentApply, {"rm", "-f", agentManifestPath}}
	if got := cc.RunCmd[n-3:]; !reflect.DeepEqual(got, want) {
		t.Errorf("%s: runcmd ends with %v, want %v", key, got, want)
	}
}

// checkNoAgentInstall checks a cloud-config without the agent: no manifest, no kubectl.
func checkNoAgentInstall(t *testing.T, key string, cc cloudConfig) {
	t.Helper()
	if cc.file(agentManifestPath) != nil {
		t.Errorf("%s: the agent's manifest is written", key)
	}
	if slices.ContainsFunc(cc.RunCmd, func(c []string) bool { return c[0] == "kubectl" || c[0] == "rm" }) {
		t.Errorf("%s: runcmd = %v, want no kubectl", key, cc.RunCmd)
	}
	if last := cc.RunCmd[len(cc.RunCmd)-1]; last[0] != "kubeadm" {
		t.Errorf("%s: runcmd ends with %v, want kubeadm", key, last)
	}
}

// TestAgentManifestNowhereElse: an AKS cluster's graph never carries the manifest, and a
// failing build does not repeat it.
func TestAgentManifestNowhereElse(t *testing.T) {
	for _, tc := range aksTestCases(t) {
		tc.in.AgentManifest = []byte(testAgentManifest)
		b, err := json.Marshal(build(t, tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "agent-token-secret") {
			t.Errorf("%s: the AKS graph carries the agent's manifest", tc.name)
		}
	}
	in := Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml"),
		Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")},
		Env:      testEnv(true), Secrets: testSecrets(t), AgentManifest: []byte(testAgentManifest)}
	in.Secrets.Token = "nope"
	if _, err := Build(in); err == nil || strings.Contains(err.Error(), "agent-token-secret") {
		t.Errorf("Build = %v, want an error without the manifest", err)
	}
}
