package v1alpha1_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func decodeGateway(t *testing.T, proxy string) *v1alpha1.PrivateCloudGateway {
	t.Helper()
	obj, errs := v1alpha1.DecodeObject([]byte("apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: corp}\nspec:\n  proxy:\n" + proxy))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	return obj.(*v1alpha1.PrivateCloudGateway)
}

// TestProxyPasswordDecoding checks that decoding takes a proxy's password out of its URL, that
// no encoding but MarshalWithSecret gives it back, and that the HTTPS proxy defaults to the
// HTTP one with its password.
func TestProxyPasswordDecoding(t *testing.T) {
	gw := decodeGateway(t, "    httpProxy: http://alice:p%40ss:w0rd@proxy.corp.example:3128\n")
	px := gw.Spec.Proxy
	if px.HTTPProxy != "http://alice@proxy.corp.example:3128" || px.HTTPProxyPassword.Reveal() != "p@ss:w0rd" {
		t.Fatalf("decoded: %q, password %q", px.HTTPProxy, px.HTTPProxyPassword.Reveal())
	}
	if px.HTTPSProxy != px.HTTPProxy || px.HTTPSProxyURL() != "http://alice:p%40ss%3Aw0rd@proxy.corp.example:3128" {
		t.Fatalf("default HTTPS proxy: %q, %q", px.HTTPSProxy, px.HTTPSProxyURL())
	}
	data, err := json.Marshal(gw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "w0rd") {
		t.Fatalf("JSON holds the password: %s", data)
	}
	// Go code that puts the password in the URL gets it sealed, not encoded.
	built := &v1alpha1.ProxySettings{HTTPProxy: "http://bob:hunter2@proxy:3128"}
	if data, _ := json.Marshal(built); strings.Contains(string(data), "hunter2") {
		t.Fatalf("a password left in a URL is encoded: %s", data)
	}
	wire, err := v1alpha1.MarshalWithSecret(gw)
	if err != nil {
		t.Fatal(err)
	}
	back, errs := v1alpha1.DecodeObject(wire)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := back.(*v1alpha1.PrivateCloudGateway).Spec.Proxy; got.HTTPProxyURL() != px.HTTPProxyURL() || got.HTTPSProxyURL() != px.HTTPSProxyURL() {
		t.Fatalf("round trip for the server: %q %q", got.HTTPProxyURL(), got.HTTPSProxyURL())
	}
}

// TestKeepStoredProxyPasswords checks which updates keep a proxy's stored password, and that
// validation refuses exactly those that would send it somewhere new.
func TestKeepStoredProxyPasswords(t *testing.T) {
	const stored = "http://alice:s3cret@proxy.corp.example:3128"
	tests := []struct {
		name    string
		url     string
		kept    string // the password after the update
		refused bool
	}{
		{"same URL without the password", "http://alice@proxy.corp.example:3128", "s3cret", false},
		{"host in other case, port written out", "http://alice@PROXY.corp.example:3128/", "s3cret", false},
		{"new password", "http://alice:n3w@proxy.corp.example:3128", "n3w", false},
		{"no user: no password", "http://proxy.corp.example:3128", "", false},
		{"other host", "http://alice@proxy.attacker.example:3128", "", true},
		{"other port", "http://alice@proxy.corp.example:8080", "", true},
		{"other scheme", "https://alice@proxy.corp.example:3128", "", true},
		{"other user", "http://mallory@proxy.corp.example:3128", "", true},
		{"other host with its own password", "http://alice:other@proxy.attacker.example:3128", "other", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := decodeGateway(t, "    httpProxy: "+stored+"\n    httpsProxy: http://proxy.corp.example:3129\n")
			upd := decodeGateway(t, "    httpProxy: "+tc.url+"\n    httpsProxy: http://proxy.corp.example:3129\n")
			errs := v1alpha1.ValidateUpdate(context.Background(), old, upd, nil)
			if got := len(errs) == 1 && errs[0].Field == "spec.proxy.httpProxy" && errs[0].Rule == v1alpha1.RuleResendSecret; got != tc.refused || (!tc.refused && len(errs) > 0) {
				t.Fatalf("refused = %v, want %v: %v", got, tc.refused, errs)
			}
			if tc.refused {
				if strings.Contains(errs[0].Message, "s3cret") {
					t.Errorf("the message holds the password: %s", errs[0].Message)
				}
				return
			}
			v1alpha1.KeepStoredSecrets(old, upd)
			if got := upd.Spec.Proxy.HTTPProxyPassword.Reveal(); got != tc.kept {
				t.Fatalf("password after the update = %q, want %q", got, tc.kept)
			}
		})
	}
}

// TestProxyURLErrorsHideThePassword checks that refusing a proxy URL never repeats its password.
func TestProxyURLErrorsHideThePassword(t *testing.T) {
	for _, u := range []string{"http://us er:s3cret@proxy:3128", "ftp://alice:s3cret@proxy:21", "http://alice:s3cret@"} {
		gw := decodeGateway(t, "    httpProxy: \""+u+"\"\n")
		errs := v1alpha1.Validate(context.Background(), gw, nil)
		if len(errs) == 0 {
			t.Fatalf("%s accepted", u)
		}
		if strings.Contains(errs.Error(), "s3cret") {
			t.Errorf("%s: the errors repeat the password: %v", u, errs)
		}
	}
}
