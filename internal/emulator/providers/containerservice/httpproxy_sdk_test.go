package containerservice_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
)

// testProxyCA is a base64 PEM certificate, as trustedCa takes it.
func testProxyCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxy CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func proxyConfig(ca string) *armcontainerservice.ManagedClusterHTTPProxyConfig {
	return &armcontainerservice.ManagedClusterHTTPProxyConfig{
		HTTPProxy:  to.Ptr("http://proxy.corp.example:3128/"),
		HTTPSProxy: to.Ptr("https://proxy.corp.example:3129"),
		NoProxy:    []*string{to.Ptr(".corp.example"), to.Ptr("localhost"), to.Ptr("10.10.0.0/20")},
		TrustedCa:  to.Ptr(ca),
	}
}

// rawProxyConfig reads the cluster's httpProxyConfig as the emulator returns it, with the
// read-only effectiveNoProxy that the SDK's stable models leave out.
func (f featureEnv) rawProxyConfig(t *testing.T, name string) (cfg struct {
	Enabled          *bool    `json:"enabled"`
	NoProxy          []string `json:"noProxy"`
	EffectiveNoProxy []string `json:"effectiveNoProxy"`
}) {
	t.Helper()
	var resp *http.Response
	ctx := policy.WithCaptureResponse(context.Background(), &resp)
	if _, err := f.c.mc.Get(ctx, f.rg, name, nil); err != nil {
		t.Fatal(err)
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		t.Fatal(err)
	}
	var mc struct {
		Properties struct {
			HTTPProxyConfig json.RawMessage `json:"httpProxyConfig"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &mc); err != nil {
		t.Fatal(err)
	}
	if len(mc.Properties.HTTPProxyConfig) > 0 {
		if err := json.Unmarshal(mc.Properties.HTTPProxyConfig, &cfg); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func TestManagedClusterHTTPProxy(t *testing.T) {
	f := newFeatureEnv(t, "rg-proxy")
	ca := testProxyCA(t)
	spec := f.spec(t)
	spec.Properties.HTTPProxyConfig = proxyConfig(ca)
	// Overlay: the pods have a range of their own (10.244.0.0/16 by default).
	spec.Properties.NetworkProfile.NetworkPluginMode = to.Ptr(armcontainerservice.NetworkPluginModeOverlay)
	mc := f.mustPut(t, "proxied", spec)
	got := mc.Properties.HTTPProxyConfig
	if got == nil || *got.HTTPProxy != "http://proxy.corp.example:3128/" || *got.HTTPSProxy != "https://proxy.corp.example:3129" ||
		*got.TrustedCa != ca || got.Enabled == nil || !*got.Enabled || len(got.NoProxy) != 3 || *got.NoProxy[0] != ".corp.example" {
		t.Fatalf("httpProxyConfig = %+v, want it as sent, enabled", got)
	}

	raw := f.rawProxyConfig(t, "proxied")
	want := []string{".corp.example", "localhost", "10.10.0.0/20", "10.244.0.0/16", "10.0.0.0/16", *mc.Properties.Fqdn,
		"168.63.129.16", "169.254.169.254", "127.0.0.1", "konnectivity"}
	if !slices.Equal(raw.EffectiveNoProxy, want) {
		t.Errorf("effectiveNoProxy = %v, want %v (the user's, then AKS's, without duplicates)", raw.EffectiveNoProxy, want)
	}
	if !slices.Equal(raw.NoProxy, []string{".corp.example", "localhost", "10.10.0.0/20"}) {
		t.Errorf("noProxy = %v, want it as sent", raw.NoProxy)
	}

	t.Run("update", func(t *testing.T) {
		// A GET-modify-PUT sends effectiveNoProxy back: it is read-only, not an error.
		spec := f.spec(t)
		spec.Properties.HTTPProxyConfig = proxyConfig(ca)
		spec.Properties.HTTPProxyConfig.NoProxy = []*string{to.Ptr("git.corp.example")}
		mc := f.mustPut(t, "proxied", spec)
		if n := mc.Properties.HTTPProxyConfig.NoProxy; len(n) != 1 || *n[0] != "git.corp.example" {
			t.Errorf("noProxy after the update = %v", n)
		}
		if eff := f.rawProxyConfig(t, "proxied").EffectiveNoProxy; len(eff) == 0 || eff[0] != "git.corp.example" || slices.Contains(eff, ".corp.example") {
			t.Errorf("effectiveNoProxy after the update = %v", eff)
		}
	})
	t.Run("disable", func(t *testing.T) {
		spec := f.spec(t)
		spec.Properties.HTTPProxyConfig = &armcontainerservice.ManagedClusterHTTPProxyConfig{Enabled: to.Ptr(false)}
		mc := f.mustPut(t, "proxied", spec)
		got := mc.Properties.HTTPProxyConfig
		if got == nil || *got.Enabled || got.HTTPProxy == nil || *got.HTTPProxy != "http://proxy.corp.example:3128/" {
			t.Errorf("httpProxyConfig after disabling = %+v, want the settings kept, enabled false", got)
		}
		if eff := f.rawProxyConfig(t, "proxied").EffectiveNoProxy; eff != nil {
			t.Errorf("effectiveNoProxy of a disabled proxy = %v", eff)
		}
	})
	t.Run("no proxy", func(t *testing.T) {
		mc := f.mustPut(t, "direct", f.spec(t))
		if mc.Properties.HTTPProxyConfig != nil {
			t.Errorf("httpProxyConfig = %+v, want none", mc.Properties.HTTPProxyConfig)
		}
	})
}

func TestManagedClusterHTTPProxyRefused(t *testing.T) {
	f := newFeatureEnv(t, "rg-proxy-refused")
	ca := testProxyCA(t)
	const password = "s3cr3t-pw"
	cases := []struct {
		name, code, msg string
		edit            func(*armcontainerservice.ManagedClusterHTTPProxyConfig)
	}{
		{"ftp", "HTTPProxyWrongUrlError", "is not correct for the property HTTPProxyConfig.HTTPProxy", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.HTTPProxy = to.Ptr("ftp://proxy.corp.example:21")
		}},
		{"noscheme", "HTTPProxyWrongUrlError", "HTTPProxyConfig.HTTPSProxy", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.HTTPSProxy = to.Ptr("proxy.corp.example:3128")
		}},
		{"empty", "HTTPProxyConfigInputError", "HTTPProxy and HTTPSProxy both cannot be empty.", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.HTTPProxy, c.HTTPSProxy = nil, to.Ptr("")
		}},
		{"auth", "HTTPProxyConfigInputError", "User/Password authentication is not supported", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.HTTPProxy = to.Ptr("http://strata:" + password + "@proxy.corp.example:3128")
		}},
		{"wildcard", "HTTPProxyConfigInputError", "'*.corp.example'", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.NoProxy = append(c.NoProxy, to.Ptr("*.corp.example"))
		}},
		{"ca-not-base64", "HTTPProxyConfigInputError", "TrustedCa", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.TrustedCa = to.Ptr("-----BEGIN CERTIFICATE-----")
		}},
		{"ca-not-pem", "HTTPProxyConfigInputError", "TrustedCa", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.TrustedCa = to.Ptr(base64.StdEncoding.EncodeToString([]byte("not a certificate")))
		}},
		{"ca-key", "HTTPProxyConfigInputError", "TrustedCa", func(c *armcontainerservice.ManagedClusterHTTPProxyConfig) {
			c.TrustedCa = to.Ptr(base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := f.spec(t)
			spec.Properties.HTTPProxyConfig = proxyConfig(ca)
			tc.edit(spec.Properties.HTTPProxyConfig)
			_, err := f.put(t, tc.name, spec)
			wantError(t, err, tc.code, tc.msg)
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error repeats the password: %v", err)
			}
			f.refused(t, tc.name)
		})
	}
	t.Run("update", func(t *testing.T) {
		spec := f.spec(t)
		spec.Properties.HTTPProxyConfig = proxyConfig(ca)
		f.mustPut(t, "valid", spec)
		spec.Properties.HTTPProxyConfig.NoProxy = []*string{to.Ptr("*")}
		_, err := f.put(t, "valid", spec)
		wantError(t, err, "HTTPProxyConfigInputError", "'*'")
		if n := f.get(t, "valid").Properties.HTTPProxyConfig.NoProxy; len(n) != 3 {
			t.Errorf("the refused update changed noProxy to %v", n)
		}
	})
}
