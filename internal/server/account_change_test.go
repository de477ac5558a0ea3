package server

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// fakeTokenEndpoint is an HTTPS server on loopback standing for a host an attacker controls.
// It answers Entra ID's discovery, so that a client signing in goes on to POST its credentials
// to the token endpoint, and it counts every request and every client secret it receives.
type fakeTokenEndpoint struct {
	srv      *httptest.Server
	requests atomic.Int64
	secrets  atomic.Int64
	caBundle string
}

func newFakeTokenEndpoint(t *testing.T) *fakeTokenEndpoint {
	t.Helper()
	f := &fakeTokenEndpoint{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if err := r.ParseForm(); err == nil && r.PostForm.Get("client_secret") != "" {
			f.secrets.Add(1)
		}
		tenant, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			base := "https://" + r.Host + "/" + tenant
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token_endpoint": %q, "authorization_endpoint": %q, "issuer": %q}`,
				base+"/oauth2/v2.0/token", base+"/oauth2/v2.0/authorize", base+"/v2.0")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}`)
	}))
	t.Cleanup(f.srv.Close)
	f.caBundle = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
	return f
}

// TestAccountTargetChangeNeedsSecret checks that the stored client secret is never sent to a
// new place: a PUT that changes where the account signs in (tenant, client, environment, an
// endpoint, the CA bundle) without giving the secret again is refused and changes nothing, and
// neither a lookup nor anything else then reaches the new endpoint. With the secret, the same
// PUT is accepted.
func TestAccountTargetChangeNeedsSecret(t *testing.T) {
	env := emulatortest.Start(t)
	ts := newTestServer(t)
	ts.create(env.CloudAccount(t, "emu"))
	fake := newFakeTokenEndpoint(t)
	lookup := lookupPath("emu", "locations", url.Values{"subscriptionID": {env.SubscriptionID}})

	redirect := func(a *v1alpha1.CloudAccount) {
		a.Spec.Azure.Endpoints.ActiveDirectory = fake.srv.URL + "/"
		a.Spec.Azure.Endpoints.ResourceManager = fake.srv.URL + "/"
		a.Spec.Azure.Endpoints.CABundle = fake.caBundle
	}
	tests := []struct {
		name   string
		change func(a *v1alpha1.CloudAccount)
		field  string // named by the message
	}{
		{"endpoints and CA bundle to another host", redirect, "endpoints.activeDirectory"},
		{"Entra ID endpoint only", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.Endpoints.ActiveDirectory = fake.srv.URL + "/" }, "endpoints.activeDirectory"},
		{"Resource Manager endpoint only", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.Endpoints.ResourceManager = fake.srv.URL + "/" }, "endpoints.resourceManager"},
		{"CA bundle only", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.Endpoints.CABundle = fake.caBundle }, "endpoints.caBundle"},
		{"storage suffix", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.Endpoints.StorageSuffix = "blob.attacker.example" }, "endpoints.storageSuffix"},
		{"tenant", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.TenantID = "0c263486-ca8b-474c-81ef-346c7ebeea82" }, "tenantID"},
		{"client", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.ClientID = "0074ad29-0377-473f-8280-fc6c8872b24d" }, "clientID"},
		{"environment", func(a *v1alpha1.CloudAccount) {
			a.Spec.Azure.Environment, a.Spec.Azure.Endpoints = v1alpha1.EnvironmentPublic, nil
		}, "environment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.get(v1alpha1.KindCloudAccount, "emu", http.StatusOK)
			requests, secrets := fake.requests.Load(), fake.secrets.Load()
			a := env.CloudAccount(t, "emu")
			a.Spec.Azure.ClientSecret = v1alpha1.Secret{}
			tc.change(a)
			for _, q := range []string{"?dryRun=true", ""} {
				r := ts.apply(a, q)
				if r.code != http.StatusUnprocessableEntity {
					t.Errorf("PUT%s without the secret: %d %.300s", q, r.code, r.body)
					continue
				}
				st := r.status(t)
				if len(st.Errors) != 1 || !hasError(st, "spec.azure.clientSecret", v1alpha1.RuleResendSecret) {
					t.Fatalf("PUT%s without the secret: errors %+v, want only spec.azure.clientSecret %s", q, st.Errors, v1alpha1.RuleResendSecret)
				}
				mustContain(t, "message", st.Errors[0].Message, tc.field)
			}
			if after := ts.get(v1alpha1.KindCloudAccount, "emu", http.StatusOK); string(after.body) != string(before.body) {
				t.Errorf("the refused PUT changed the account:\n%.300s\n%.300s", before.body, after.body)
			}
			r := ts.do(http.MethodGet, lookup, nil, "")
			if n := fake.requests.Load() - requests; n != 0 {
				t.Fatalf("the new endpoint received %d requests, %d of them with a client secret (lookup: %d %.200s)", n, fake.secrets.Load()-secrets, r.code, r.body)
			}
			if r.code != http.StatusOK {
				t.Fatalf("lookup with the stored account: %d %s", r.code, r.body)
			}
		})
	}

	// What does not move the secret needs no secret: labels, the same target.
	same := env.CloudAccount(t, "emu")
	same.Spec.Azure.ClientSecret = v1alpha1.Secret{}
	same.Metadata.Labels = map[string]string{"team": "platform"}
	if r := ts.apply(same, ""); r.code != http.StatusOK {
		t.Fatalf("label change without the secret: %d %s", r.code, r.body)
	}

	// With the secret given again the move is accepted, and only then is the new host asked.
	moved := env.CloudAccount(t, "emu")
	redirect(moved)
	if r := ts.apply(moved, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("PUT with the secret: %d %s", r.code, r.body)
	}
	if r := ts.do(http.MethodGet, lookup, nil, ""); r.code != http.StatusBadGateway {
		t.Fatalf("lookup against the new endpoint: %d %s", r.code, r.body)
	}
	if fake.secrets.Load() == 0 {
		t.Fatal("the new endpoint received no client secret once the secret was given for it: the test cannot see a leak")
	}
	if strings.Contains(ts.logs.String(), env.ClientSecret) {
		t.Error("the logs hold the client secret")
	}
}
