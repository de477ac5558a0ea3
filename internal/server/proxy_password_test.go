package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// gatewayYAML is a gateway whose proxies are httpProxy and httpsProxy.
func gatewayYAML(httpProxy, httpsProxy string) []byte {
	return fmt.Appendf(nil, `apiVersion: strata.dev/v1alpha1
kind: PrivateCloudGateway
metadata:
  name: corp
spec:
  proxy:
    httpProxy: %s
    httpsProxy: %s
    noProxy: [.svc]
`, httpProxy, httpsProxy)
}

// TestProxyPasswordIsWriteOnly checks that a proxy's password is treated like a client secret:
// kept by the server (sealed, see the store's conformance suite), never in a response, a log
// line or an event; kept by an update that sends the URL without it; and required again by an
// update that points the URL somewhere else.
func TestProxyPasswordIsWriteOnly(t *testing.T) {
	const (
		first   = "Pw1-distinctive-proxy-s3cret"
		second  = "Pw2-distinctive-proxy-s3cret"
		rotated = "Pw3-distinctive-proxy-s3cret"
	)
	ts := newTestServer(t)
	path := kindPath(v1alpha1.KindPrivateCloudGateway)
	withPasswords := gatewayYAML("http://alice:"+first+"@proxy.corp.example:3128", "http://alice:"+second+"@proxy.corp.example:3129")
	stored := func() string {
		t.Helper()
		obj, err := ts.store.Get(context.Background(), v1alpha1.KindPrivateCloudGateway, "corp")
		if err != nil {
			t.Fatal(err)
		}
		data, err := v1alpha1.MarshalWithSecret(obj)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	shows := func(what string, r *response, code int, passwordSet bool) {
		t.Helper()
		if r.code != code {
			t.Fatalf("%s: %d %s, want %d", what, r.code, r.body, code)
		}
		mustContain(t, what, string(r.body), `"httpProxy":"http://alice@proxy.corp.example:3128"`)
		if got := strings.Contains(string(r.body), `"httpProxyPasswordSet":true`) && strings.Contains(string(r.body), `"httpsProxyPasswordSet":true`); got != passwordSet {
			t.Errorf("%s: the passwords are reported set=%v, want %v: %s", what, got, passwordSet, r.body)
		}
	}

	shows("create, dry run", ts.do(http.MethodPost, path+"?dryRun=true", withPasswords, "application/yaml"), http.StatusOK, true)
	shows("create", ts.do(http.MethodPost, path, withPasswords, "application/yaml"), http.StatusCreated, true)
	shows("get", ts.get(v1alpha1.KindPrivateCloudGateway, "corp", http.StatusOK), http.StatusOK, true)
	if r := ts.do(http.MethodGet, path, nil, ""); !strings.Contains(string(r.body), `"httpProxyPasswordSet":true`) {
		t.Errorf("list: no httpProxyPasswordSet: %s", r.body)
	}

	// What a read returns, applied back, keeps the passwords.
	back := gatewayYAML("http://alice@proxy.corp.example:3128", "http://alice@proxy.corp.example:3129")
	r := ts.do(http.MethodPut, path+"/corp", back, "application/yaml")
	shows("apply without the passwords", r, http.StatusOK, true)
	if res := r.header.Get(ApplyResultHeader); res != ApplyUnchanged {
		t.Errorf("apply without the passwords: %s, want %s", res, ApplyUnchanged)
	}
	if s := stored(); !strings.Contains(s, first) || !strings.Contains(s, second) {
		t.Fatalf("apply without the passwords did not keep them: %s", s)
	}

	// A password goes only to the proxy it was given for.
	for _, moved := range []string{"http://alice@proxy.attacker.example:3128", "http://alice@proxy.corp.example:8080",
		"https://alice@proxy.corp.example:3128", "http://mallory@proxy.corp.example:3128"} {
		before := stored()
		r := ts.do(http.MethodPut, path+"/corp", gatewayYAML(moved, "http://alice@proxy.corp.example:3129"), "application/yaml")
		if r.code != http.StatusUnprocessableEntity || !hasError(r.status(t), "spec.proxy.httpProxy", v1alpha1.RuleResendSecret) || len(r.status(t).Errors) != 1 {
			t.Fatalf("proxy moved to %s without its password: %d %s", moved, r.code, r.body)
		}
		if after := stored(); after != before {
			t.Fatalf("the refused update changed the gateway:\n%s\n%s", before, after)
		}
	}

	// A new password for a new proxy is taken; a URL without a user drops the password.
	r = ts.do(http.MethodPut, path+"/corp", gatewayYAML("http://bob:"+rotated+"@proxy2.corp.example:3128", "http://alice@proxy.corp.example:3129"), "application/yaml")
	if r.code != http.StatusOK || strings.Contains(string(r.body), rotated) || !strings.Contains(string(r.body), `"httpProxyPasswordSet":true`) {
		t.Fatalf("new proxy with its password: %d %s", r.code, r.body)
	}
	if s := stored(); !strings.Contains(s, rotated) || strings.Contains(s, first) || !strings.Contains(s, second) {
		t.Fatalf("after the move: %s", s)
	}
	r = ts.do(http.MethodPut, path+"/corp", gatewayYAML("http://proxy2.corp.example:3128", "http://proxy.corp.example:3129"), "application/yaml")
	if r.code != http.StatusOK || strings.Contains(string(r.body), "PasswordSet") {
		t.Fatalf("proxies without users: %d %s", r.code, r.body)
	}
	if s := stored(); strings.Contains(s, rotated) || strings.Contains(s, second) {
		t.Fatalf("the passwords outlived their users: %s", s)
	}

	// Nothing the server said or logged holds a password.
	ts.events(v1alpha1.KindPrivateCloudGateway, "corp")
	ts.mu.Lock()
	bodies := ts.bodies
	ts.mu.Unlock()
	for i, b := range bodies {
		for _, s := range []string{first, second, rotated} {
			if strings.Contains(b, s) {
				t.Errorf("response %d holds a proxy password: %s", i, b)
			}
		}
	}
	for _, s := range []string{first, second, rotated} {
		if strings.Contains(ts.logs.String(), s) {
			t.Errorf("the logs hold a proxy password:\n%s", ts.logs.String())
		}
	}
}
