package emulatortest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/emulator"
)

// Issuer returns the issuer of the default tenant's v2.0 tokens (users' id and access
// tokens): https://127.0.0.1:PORT/{tenant}/v2.0.
func (e *Env) Issuer() string { return e.IssuerOf(e.TenantID) }

// IssuerOf returns the issuer of a tenant's v2.0 tokens.
func (e *Env) IssuerOf(tenant string) string {
	return e.URL + "/" + strings.ToLower(tenant) + "/v2.0"
}

// DiscoveryURL returns the OpenID Connect metadata URL of the default tenant (the issuer and
// /.well-known/openid-configuration): its authorization, token and device authorization
// endpoints and its jwks_uri.
func (e *Env) DiscoveryURL() string { return e.Issuer() + "/.well-known/openid-configuration" }

// EntraUser creates a user of the default tenant with a password, member of the groups (IDs,
// as EntraGroup returns them), and returns its object ID (the oid of its tokens).
func (e *Env) EntraUser(t testing.TB, upn, password string, groups ...string) (userID string) {
	t.Helper()
	return e.EntraUserIn(t, e.TenantID, upn, password, groups...)
}

// EntraUserIn creates a user of a tenant (a new tenant is created with its first user, group
// or application) and returns its object ID.
func (e *Env) EntraUserIn(t testing.TB, tenant, upn, password string, groups ...string) (userID string) {
	t.Helper()
	var u emulator.EntraUser
	in := map[string]string{"tenantId": tenant, "userPrincipalName": upn, "password": password}
	if code := e.Admin(t, http.MethodPost, "/_emulator/entra/users", in, &u); code != http.StatusCreated {
		t.Fatalf("creating the Entra user %s: HTTP %d", upn, code)
	}
	for _, g := range groups {
		if code := e.Admin(t, http.MethodPost, "/_emulator/entra/groups/"+g+"/members", map[string]string{"id": u.ID}, nil); code != http.StatusOK {
			t.Fatalf("adding the Entra user %s to group %s: HTTP %d", upn, g, code)
		}
	}
	return u.ID
}

// EntraGroup creates a group of the default tenant and returns its ID (as in the groups
// claim of its members' tokens).
func (e *Env) EntraGroup(t testing.TB, name string) (groupID string) {
	t.Helper()
	var g emulator.EntraGroup
	in := map[string]any{"tenantId": e.TenantID, "displayName": name}
	if code := e.Admin(t, http.MethodPost, "/_emulator/entra/groups", in, &g); code != http.StatusCreated {
		t.Fatalf("creating the Entra group %s: HTTP %d", name, code)
	}
	return g.ID
}

// EntraApp registers a public client application in the default tenant with redirect URIs
// (http ones on a loopback host match any port) and returns its client ID. Users sign in to
// it with the authorization code flow with PKCE or the device code flow; scopes
// api://{clientID}/.default ask for an access token whose aud is api://{clientID}.
func (e *Env) EntraApp(t testing.TB, redirectURIs ...string) (clientID string) {
	t.Helper()
	return e.EntraAppIn(t, e.TenantID, redirectURIs...)
}

// EntraAppIn registers a public client application in a tenant and returns its client ID.
func (e *Env) EntraAppIn(t testing.TB, tenant string, redirectURIs ...string) (clientID string) {
	t.Helper()
	var a emulator.EntraApplication
	in := map[string]any{"tenantId": tenant, "redirectUris": append([]string{}, redirectURIs...)}
	if code := e.Admin(t, http.MethodPost, "/_emulator/entra/applications", in, &a); code != http.StatusCreated {
		t.Fatalf("registering an Entra application: HTTP %d", code)
	}
	return a.ClientID
}

// EntraSignIn plays the browser of an authorization code flow: it posts a user's credentials
// to an authorization URL (as a client such as oauth2.Config.AuthCodeURL builds it) and
// returns where the emulator redirects: the redirect URI with code and state, or with error
// and error_description. A refused sign-in (unknown user, wrong password) fails the test.
func (e *Env) EntraSignIn(t testing.TB, authURL, upn, password string) *url.URL {
	t.Helper()
	form := url.Values{"username": {upn}, "password": {password}}
	resp, body := e.postNoRedirect(t, authURL, form)
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("signing %s in at %s: HTTP %d, want a redirect: %s", upn, authURL, resp.StatusCode, body)
	}
	return loc
}

// EntraApproveDevice plays the user of a device code flow: at the verification URI, it
// enters the user code and signs in, which approves the device's request.
func (e *Env) EntraApproveDevice(t testing.TB, verificationURI, userCode, upn, password string) {
	t.Helper()
	form := url.Values{"user_code": {userCode}, "username": {upn}, "password": {password}}
	if resp, body := e.postNoRedirect(t, verificationURI, form); resp.StatusCode != http.StatusOK {
		t.Fatalf("approving the device code %s for %s: HTTP %d: %s", userCode, upn, resp.StatusCode, body)
	}
}

// postNoRedirect posts a form and returns the answer, a redirect not followed.
func (e *Env) postNoRedirect(t testing.TB, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	c := *e.HTTPClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
