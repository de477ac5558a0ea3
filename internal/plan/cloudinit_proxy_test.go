package plan

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// proxyPassword is the password of the test proxies, percent-encoded in their URLs ("p@ss%w").
const (
	proxyPassword    = "p%40ss%25w"
	testHTTPProxy    = "http://strata:" + proxyPassword + "@proxy.corp.example:3128"
	testHTTPSProxy   = "http://strata:" + proxyPassword + "@proxy.corp.example:3129"
	testGatewayEntry = ".corp.example"
)

// cloudConfigs returns the decoded cloud-config of every VM of g, by node key.
func cloudConfigs(t *testing.T, g *Graph) map[string]cloudConfig {
	t.Helper()
	out := map[string]cloudConfig{}
	for _, n := range g.Nodes {
		vm, ok := n.Spec.(armcompute.VirtualMachine)
		if !ok {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(*vm.Properties.OSProfile.CustomData)
		if err != nil {
			t.Fatal(err)
		}
		text, ok := strings.CutPrefix(string(data), "#cloud-config\n")
		if !ok {
			t.Fatalf("%s: custom data does not start with #cloud-config", n.Key)
		}
		var cc cloudConfig
		if err := yaml.UnmarshalStrict([]byte(text), &cc); err != nil {
			t.Fatalf("%s: %v", n.Key, err)
		}
		out[n.Key] = cc
	}
	if len(out) == 0 {
		t.Fatal("no VM in the graph")
	}
	return out
}

// file returns the cloud-config's file at path, or nil.
func (cc cloudConfig) file(path string) *writeFile {
	for i := range cc.WriteFiles {
		if cc.WriteFiles[i].Path == path {
			return &cc.WriteFiles[i]
		}
	}
	return nil
}

// envValue returns the value of name in a drop-in's Environment= lines or /etc/environment's
// lines, unquoted.
func envValue(content, name string) (string, bool) {
	for line := range strings.SplitSeq(content, "\n") {
		line = strings.TrimPrefix(line, "Environment=")
		line = strings.Trim(line, `"`)
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// TestCloudInitProxy checks every VM's cloud-config with and without the gateway's proxy: the
// systemd drop-ins of containerd and the kubelet, the lines appended to /etc/environment, the
// proxy's CA, and the commands that apply them before kubeadm.
func TestCloudInitProxy(t *testing.T) {
	secrets := testSecrets(t)
	ca := string(secrets.CACertPEM) // any PEM certificate will do
	profiles := []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")}
	dynamic := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	static := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")
	tests := []struct {
		name    string
		cluster *v1alpha1.Cluster
		proxy   *proxyenv.Settings
		// Want: HTTP_PROXY and HTTPS_PROXY ("" for none), entries NO_PROXY must hold.
		httpProxy, httpsProxy string
		noProxy               []string
	}{
		{name: "no proxy", cluster: dynamic},
		{name: "proxy without a setting", cluster: dynamic, proxy: &proxyenv.Settings{}},
		{name: "dynamic, http proxy, no CA", cluster: dynamic,
			proxy:     &proxyenv.Settings{HTTPProxy: testHTTPProxy, NoProxy: []string{testGatewayEntry}},
			httpProxy: testHTTPProxy, httpsProxy: testHTTPProxy,
			noProxy: []string{"169.254.169.254", "168.63.129.16", "localhost", "127.0.0.1", DynamicControlPlaneCIDR, DynamicWorkersCIDR,
				"192.168.0.0/16", "10.96.0.0/12", APIServerFQDN(dynamic), testGatewayEntry}},
		{name: "static, both proxies, CA", cluster: static,
			proxy:     &proxyenv.Settings{HTTPProxy: testHTTPProxy, HTTPSProxy: testHTTPSProxy, NoProxy: []string{testGatewayEntry}, CACertificate: ca},
			httpProxy: testHTTPProxy, httpsProxy: testHTTPSProxy,
			noProxy: []string{"169.254.169.254", "10.10.0.0/24", "10.10.1.0/24", "172.16.0.0/16", "10.96.0.0/12", APIServerFQDN(static), testGatewayEntry}},
		{name: "https proxy only", cluster: dynamic,
			proxy:      &proxyenv.Settings{HTTPSProxy: testHTTPSProxy, CACertificate: ca},
			httpsProxy: testHTTPSProxy,
			noProxy:    []string{"169.254.169.254", DynamicControlPlaneCIDR, DynamicWorkersCIDR, APIServerFQDN(dynamic)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(t, Input{Cluster: tt.cluster, Profiles: profiles, Env: testEnv(true), Secrets: secrets, Proxy: tt.proxy})
			for key, cc := range cloudConfigs(t, g) {
				if tt.httpsProxy == "" {
					checkNoProxySetup(t, key, cc)
					continue
				}
				checkProxySetup(t, key, cc, tt.httpProxy, tt.httpsProxy, tt.noProxy, tt.proxy.CACertificate)
			}
		})
	}
}

// checkNoProxySetup checks a cloud-config without a proxy: no proxy file, only kubeadm runs.
func checkNoProxySetup(t *testing.T, key string, cc cloudConfig) {
	t.Helper()
	for _, p := range []string{containerdProxyPath, kubeletProxyPath, environmentPath, proxyCAPath} {
		if cc.file(p) != nil {
			t.Errorf("%s: %s written without a proxy", key, p)
		}
	}
	if len(cc.RunCmd) != 1 || cc.RunCmd[0][0] != "kubeadm" {
		t.Errorf("%s: runcmd = %v, want kubeadm alone", key, cc.RunCmd)
	}
}

// checkProxySetup checks a cloud-config with a proxy.
func checkProxySetup(t *testing.T, key string, cc cloudConfig, httpProxy, httpsProxy string, noProxy []string, ca string) {
	t.Helper()
	systemdQuoted := strings.ReplaceAll(httpsProxy, "%", "%%")
	for _, p := range []string{containerdProxyPath, kubeletProxyPath} {
		f := cc.file(p)
		if f == nil {
			t.Errorf("%s: no %s", key, p)
			continue
		}
		if f.Permissions != "0600" || f.Owner != "root:root" || f.Append || !strings.HasPrefix(f.Content, "[Service]\n") {
			t.Errorf("%s: %s is %s %s append=%v:\n%s", key, p, f.Owner, f.Permissions, f.Append, f.Content)
		}
		if !strings.Contains(f.Content, `Environment="HTTPS_PROXY=`+systemdQuoted+`"`) {
			t.Errorf("%s: %s lacks HTTPS_PROXY with %% doubled for systemd:\n%s", key, p, f.Content)
		}
		checkProxyVars(t, key+" "+p, f.Content, strings.ReplaceAll(httpProxy, "%", "%%"), systemdQuoted, noProxy, false)
	}
	env := cc.file(environmentPath)
	if env == nil || !env.Append || env.Permissions != "0644" {
		t.Fatalf("%s: /etc/environment = %+v, want lines appended", key, env)
	}
	checkProxyVars(t, key+" /etc/environment", env.Content, httpProxy, httpsProxy, noProxy, true)

	want := [][]string{{"systemctl", "daemon-reload"}, {"systemctl", "restart", "containerd"}}
	caFile := cc.file(proxyCAPath)
	switch {
	case ca == "" && caFile != nil:
		t.Errorf("%s: %s written without a CA", key, proxyCAPath)
	case ca != "" && (caFile == nil || caFile.Permissions != "0644" || strings.TrimSpace(caFile.Content) != strings.TrimSpace(ca)):
		t.Errorf("%s: CA file %+v, want the proxy's CA, 0644", key, caFile)
	case ca != "":
		want = append([][]string{{"update-ca-certificates"}}, want...)
	}
	if n := len(cc.RunCmd); n != len(want)+1 || !slices.EqualFunc(cc.RunCmd[:n-1], want, slices.Equal) || cc.RunCmd[n-1][0] != "kubeadm" {
		t.Errorf("%s: runcmd = %v, want %v then kubeadm", key, cc.RunCmd, want)
	}
}

// checkProxyVars checks the proxy variables of a drop-in or of /etc/environment's lines
// (lower: the lower-case variables too).
func checkProxyVars(t *testing.T, what, content, httpProxy, httpsProxy string, noProxy []string, lower bool) {
	t.Helper()
	names := []string{proxyenv.HTTPProxyVar, proxyenv.HTTPSProxyVar, proxyenv.NoProxyVar}
	if lower {
		names = append(names, proxyenv.HTTPProxyLowerVar, proxyenv.HTTPSProxyLowerVar, proxyenv.NoProxyLowerVar)
	}
	for _, name := range names {
		got, ok := envValue(content, name)
		switch strings.ToUpper(name) {
		case proxyenv.HTTPProxyVar:
			if ok != (httpProxy != "") || got != httpProxy {
				t.Errorf("%s: %s = %q (set %v), want %q", what, name, got, ok, httpProxy)
			}
		case proxyenv.HTTPSProxyVar:
			if got != httpsProxy {
				t.Errorf("%s: %s = %q, want %q", what, name, got, httpsProxy)
			}
		case proxyenv.NoProxyVar:
			entries := strings.Split(got, ",")
			for _, e := range noProxy {
				if !slices.Contains(entries, e) {
					t.Errorf("%s: %s = %q lacks %s", what, name, got, e)
				}
			}
		}
	}
	if !lower && strings.Contains(content, "http_proxy") {
		t.Errorf("%s: lower-case variables in a drop-in:\n%s", what, content)
	}
}

// TestCloudInitProxyErrors checks that a proxy setting the node files cannot carry is refused
// without repeating it (it may hold the password).
func TestCloudInitProxyErrors(t *testing.T) {
	tests := []struct {
		name  string
		proxy proxyenv.Settings
	}{
		{"quote in an entry", proxyenv.Settings{HTTPProxy: testHTTPProxy, NoProxy: []string{`bad"host`}}},
		{"line break in the URL", proxyenv.Settings{HTTPProxy: testHTTPProxy + "\nEvil=1"}},
		{"backslash", proxyenv.Settings{HTTPSProxy: testHTTPSProxy + `\`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml"),
				Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")},
				Env:      testEnv(true), Secrets: testSecrets(t), Proxy: &tt.proxy})
			if err == nil || !strings.Contains(err.Error(), "cannot carry") {
				t.Fatalf("Build = %v, want an error saying the files cannot carry the setting", err)
			}
			if strings.Contains(err.Error(), proxyPassword) {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

func TestSystemdProxyDropIn(t *testing.T) {
	env := []proxyenv.EnvVar{{Name: "HTTP_PROXY", Value: "http://u:50%25@p:1"}, {Name: "http_proxy", Value: "x"}, {Name: "NO_PROXY", Value: "a,b"}}
	want := "[Service]\nEnvironment=\"HTTP_PROXY=http://u:50%%25@p:1\"\nEnvironment=\"NO_PROXY=a,b\"\n"
	if got := systemdProxyDropIn(env); got != want {
		t.Errorf("drop-in:\n%s\nwant:\n%s", got, want)
	}
}
