package plan

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// TestAKSHTTPProxy checks the managed cluster's httpProxyConfig for the gateway's proxy.
func TestAKSHTTPProxy(t *testing.T) {
	ca := string(testSecrets(t).CACertPEM)
	const (
		httpProxy  = "http://proxy.corp.example:3128"
		httpsProxy = "https://proxy.corp.example:3129"
	)
	tests := []struct {
		name  string
		proxy *proxyenv.Settings
		want  *armcontainerservice.ManagedClusterHTTPProxyConfig // NoProxy: entries it must hold
		// notWant are noProxy entries that must not be sent.
		notWant []string
	}{
		{name: "no proxy"},
		{name: "proxy without a setting", proxy: &proxyenv.Settings{NoProxy: []string{"x"}}},
		{name: "http proxy, httpsProxy defaults to it",
			proxy: &proxyenv.Settings{HTTPProxy: httpProxy, NoProxy: []string{".corp.example", "10.20.0.0/16"}},
			want: &armcontainerservice.ManagedClusterHTTPProxyConfig{HTTPProxy: new(httpProxy), HTTPSProxy: new(httpProxy),
				NoProxy: ptrs([]string{"169.254.169.254", "168.63.129.16", "localhost", "127.0.0.1", "192.168.0.0/16", "10.96.0.0/12", ".corp.example", "10.20.0.0/16"})}},
		{name: "both proxies and CA; wildcards dropped",
			proxy: &proxyenv.Settings{HTTPProxy: httpProxy, HTTPSProxy: httpsProxy, CACertificate: ca, NoProxy: []string{"*.corp.example", "*", "git.corp.example"}},
			want: &armcontainerservice.ManagedClusterHTTPProxyConfig{HTTPProxy: new(httpProxy), HTTPSProxy: new(httpsProxy),
				TrustedCa: new(base64.StdEncoding.EncodeToString([]byte(ca))), NoProxy: ptrs([]string{"169.254.169.254", "git.corp.example"})},
			notWant: []string{"*.corp.example", "*"}},
		{name: "https proxy only",
			proxy: &proxyenv.Settings{HTTPSProxy: httpsProxy},
			want:  &armcontainerservice.ManagedClusterHTTPProxyConfig{HTTPSProxy: new(httpsProxy), NoProxy: ptrs([]string{"169.254.169.254"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml"),
				Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")}, Proxy: tt.proxy}
			got := managedClusterSpec(t, build(t, in)).Properties.HTTPProxyConfig
			if tt.want == nil {
				if got != nil {
					t.Fatalf("httpProxyConfig = %+v, want none", got)
				}
				return
			}
			if got == nil {
				t.Fatal("no httpProxyConfig")
			}
			checkAKSProxy(t, got, tt.want, tt.notWant)
		})
	}
}

func checkAKSProxy(t *testing.T, got, want *armcontainerservice.ManagedClusterHTTPProxyConfig, notWant []string) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	if str(got.HTTPProxy) != str(want.HTTPProxy) || str(got.HTTPSProxy) != str(want.HTTPSProxy) || str(got.TrustedCa) != str(want.TrustedCa) {
		t.Errorf("httpProxy %s, httpsProxy %s, trustedCa %s; want %s, %s, %s", str(got.HTTPProxy), str(got.HTTPSProxy), str(got.TrustedCa),
			str(want.HTTPProxy), str(want.HTTPSProxy), str(want.TrustedCa))
	}
	if got.Enabled == nil || !*got.Enabled {
		t.Error("enabled is not true: a proxy disabled earlier would stay off")
	}
	var entries []string
	for _, e := range got.NoProxy {
		entries = append(entries, *e)
	}
	for _, e := range want.NoProxy {
		if !slices.Contains(entries, *e) {
			t.Errorf("noProxy %v lacks %s", entries, *e)
		}
	}
	for _, e := range entries {
		if strings.Contains(e, "*") || slices.Contains(notWant, e) {
			t.Errorf("noProxy %v holds %s, which AKS refuses", entries, e)
		}
	}
}

// TestAKSHTTPProxyAuthRefused checks that a proxy URL with a user is refused (AKS supports no
// proxy authentication, and its properties are readable), without repeating the password.
func TestAKSHTTPProxyAuthRefused(t *testing.T) {
	for _, px := range []proxyenv.Settings{
		{HTTPProxy: testHTTPProxy},
		{HTTPProxy: "http://proxy.corp.example:3128", HTTPSProxy: testHTTPSProxy},
		{HTTPSProxy: "http://strata@proxy.corp.example:3128"},
	} {
		in := Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml"),
			Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")}, Proxy: &px}
		_, err := Build(in)
		if err == nil || !strings.Contains(err.Error(), "no proxy authentication") {
			t.Errorf("Build = %v, want a refusal of proxy authentication", err)
			continue
		}
		if strings.Contains(err.Error(), proxyPassword) || strings.Contains(err.Error(), "proxy.corp.example") {
			t.Errorf("the error repeats the URL: %v", err)
		}
	}
}
