package containerservice

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

func TestResolveVersion(t *testing.T) {
	cases := map[string]string{"": DefaultVersion(), "1.30": "1.30.12", "1.30.9": "1.30.9", "1.31": "1.31.8", "1.29.14": "1.29.14"}
	for in, want := range cases {
		if got, ok := ResolveVersion(in); !ok || got != want {
			t.Errorf("ResolveVersion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"1.27", "1.30.1", "v1.30.9", "latest"} {
		if _, ok := ResolveVersion(bad); ok {
			t.Errorf("ResolveVersion(%q) accepted", bad)
		}
	}
	if DefaultVersion() != "1.31.8" {
		t.Errorf("default %s", DefaultVersion())
	}
}

func TestUpgradesOf(t *testing.T) {
	if got := fmt.Sprint(upgradesOf("1.29.11")); got != "[1.29.14 1.30.6 1.30.9 1.30.12]" {
		t.Errorf("upgradesOf(1.29.11) = %s", got)
	}
	if got := upgradesOf("1.31.8"); len(got) != 0 {
		t.Errorf("upgradesOf(latest) = %v", got)
	}
	if compareVersions("1.30.12", "1.30.9") <= 0 || compareVersions("1.29.14", "1.30.6") >= 0 || compareVersions("1.30.9", "1.30.9") != 0 {
		t.Error("compareVersions orders numerically")
	}
}

func TestPoolNames(t *testing.T) {
	for _, ok := range []string{"a", "system", "pool1", "abcdefghijkl"} {
		if err := checkPoolName(ok, "Linux"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1pool", "Pool", "my-pool", "my_pool", "abcdefghijklm"} {
		err := checkPoolName(bad, "Linux")
		if err == nil || err.Code != "InvalidParameter" || err.Target != "agentPoolProfile.name" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if checkPoolName("win123", "Windows") != nil || checkPoolName("win1234", "Windows") == nil {
		t.Error("Windows pool names are at most 6 characters")
	}
}

func TestDNSNames(t *testing.T) {
	id := arm.ParseID("/subscriptions/1f2e3d4c-0000-0000-0000-000000000000/resourceGroups/My_RG.prod/providers/Microsoft.ContainerService/managedClusters/cluster-with-long-name")
	p := defaultDNSPrefix(id)
	if !dnsPrefixRe.MatchString(p) || p != "cluster-wi-MyRGprod-1f2e3d" {
		t.Errorf("defaultDNSPrefix = %q", p)
	}
	for _, bad := range []string{"-a", "a-", "a", "a_b", strings.Repeat("a", 55)} {
		if dnsPrefixRe.MatchString(bad) {
			t.Errorf("dnsPrefix %q accepted", bad)
		}
	}
	if n := nodeResourceGroupName(strings.Repeat("r", 60), "cluster", "westeurope"); len(n) != 80 || !strings.HasPrefix(n, "MC_rrr") {
		t.Errorf("node resource group %q", n)
	}
	if h := fqdnHash("/subscriptions/x/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c"); h != fqdnHash(strings.ToLower("/subscriptions/x/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c")) || len(h) != 8 {
		t.Errorf("fqdnHash %q is not a case-insensitive 8-digit hash", h)
	}
}

func TestKubeconfig(t *testing.T) {
	n := 0
	sec, err := newClusterSecrets(func() string { n++; return fmt.Sprintf("%032x", n) })
	if err != nil {
		t.Fatal(err)
	}
	if sec.AdminToken == sec.UserToken {
		t.Error("admin and user tokens are equal")
	}
	out, err := renderKubeconfig(kubeconfigSpec{Cluster: "c1", Context: "c1-admin", User: "clusterAdmin_rg_c1",
		Server: "https://c1-abc.hcp.westeurope.azmk8s.io:443", CA: sec.CA, ClientCert: sec.AdminCert, ClientKey: sec.AdminKey, Token: sec.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		APIVersion  string         `json:"apiVersion"`
		Kind        string         `json:"kind"`
		Current     string         `json:"current-context"`
		Preferences map[string]any `json:"preferences"`
		Clusters    []struct {
			Name    string `json:"name"`
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Contexts []struct {
			Name    string                         `json:"name"`
			Context struct{ Cluster, User string } `json:"context"`
		} `json:"contexts"`
		Users []struct {
			Name string `json:"name"`
			User struct {
				Cert  string `json:"client-certificate-data"`
				Key   string `json:"client-key-data"`
				Token string `json:"token"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := yaml.UnmarshalStrict(out, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cfg.APIVersion != "v1" || cfg.Kind != "Config" || cfg.Current != "c1-admin" || cfg.Clusters[0].Cluster.Server != "https://c1-abc.hcp.westeurope.azmk8s.io:443" ||
		cfg.Contexts[0].Context.User != "clusterAdmin_rg_c1" || cfg.Contexts[0].Context.Cluster != "c1" || cfg.Users[0].User.Token != sec.AdminToken {
		t.Errorf("kubeconfig:\n%s", out)
	}
	ca, _ := base64.StdEncoding.DecodeString(cfg.Clusters[0].Cluster.CA)
	certPEM, _ := base64.StdEncoding.DecodeString(cfg.Users[0].User.Cert)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatal("CA data is not a PEM certificate")
	}
	blk, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || cert.Subject.Organization[0] != "system:masters" {
		t.Errorf("client certificate: %v %v", err, cert.Subject)
	}
	keyPEM, _ := base64.StdEncoding.DecodeString(cfg.Users[0].User.Key)
	if blk, _ := pem.Decode(keyPEM); blk == nil || blk.Type != "EC PRIVATE KEY" {
		t.Error("client key is not a PEM EC key")
	}

	aad, err := renderKubeconfig(kubeconfigSpec{Cluster: "c1", Context: "c1", User: "clusterUser_rg_c1", Server: "https://x:443", CA: sec.CA, AAD: true, TenantID: "tenant-1"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(aad)
	for _, want := range []string{"command: kubelogin", "- tenant-1", "- " + aksServerAppID, "client.authentication.k8s.io/v1beta1"} {
		if !strings.Contains(s, want) {
			t.Errorf("AAD kubeconfig lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "client-certificate-data") || strings.Contains(s, "token:") {
		t.Errorf("AAD kubeconfig holds static credentials:\n%s", s)
	}
}

func TestCallerTenant(t *testing.T) {
	const tid = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	tok := func(claims string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + "."
	}
	cases := map[string]string{
		"Bearer " + tok(`{"tid":"`+tid+`","aud":"https://management.azure.com/"}`): tid,
		"bearer " + tok(`{"tid":"`+tid+`"}`):                                       tid,
		"Bearer " + tok(`{"tid":"common"}`):                                        "",
		"Bearer " + tok(`{}`):                                                      "",
		"Bearer not-a-jwt":                                                         "",
		"Basic " + tok(`{"tid":"`+tid+`"}`):                                        "",
		"":                                                                         "",
	}
	for auth, want := range cases {
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		if got := callerTenant(h); got != want {
			t.Errorf("callerTenant(%q) = %q, want %q", auth, got, want)
		}
	}
	if callerTenant(nil) != "" {
		t.Error("callerTenant(nil)")
	}
}

func TestTaints(t *testing.T) {
	for _, ok := range []string{"a=b:NoSchedule", "CriticalAddonsOnly=true:NoSchedule", "spot:PreferNoSchedule", "nvidia.com/gpu=present:NoExecute", "k=:NoSchedule"} {
		if !validTaint(ok) {
			t.Errorf("taint %q refused", ok)
		}
	}
	for _, bad := range []string{"", "a=b", "a=b:noschedule", "=b:NoSchedule", "a b=c:NoSchedule", "a=b:NoSchedule:x"} {
		if validTaint(bad) {
			t.Errorf("taint %q accepted", bad)
		}
	}
}

func TestCanonicalAddon(t *testing.T) {
	for in, want := range map[string]string{"AzurePolicy": "azurepolicy", "AZUREKEYVAULTSECRETSPROVIDER": "azureKeyvaultSecretsProvider", "omsAgent": "omsagent"} {
		if got, ok := canonicalAddon(in); !ok || got != want {
			t.Errorf("canonicalAddon(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := canonicalAddon("kubeDashboard"); ok {
		t.Error("kubeDashboard is not offered")
	}
}
