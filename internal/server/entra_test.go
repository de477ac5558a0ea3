package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/entra"
	"github.com/strata-dev/strata/internal/entralogin"
)

const entraRedirect = "http://127.0.0.1/callback"

// entraWorld is an emulator with strata's application, a group and its users, and a server
// that accepts the application's tokens.
type entraWorld struct {
	env                     *emulatortest.Env
	as                      *accessServer
	app, otherApp, group    string
	otherTenant, foreignApp string
}

func newEntraWorld(t *testing.T) *entraWorld {
	t.Helper()
	w := &entraWorld{env: emulatortest.Start(t, func(o *emulator.Options) { o.Entra.DeviceCodeInterval = time.Second })}
	w.group = w.env.EntraGroup(t, "finance-people")
	w.env.EntraUser(t, "alice@example.com", "alice-pw", w.group)
	w.env.EntraUser(t, "bob@example.com", "bob-pw")
	w.env.EntraUser(t, "dora@example.com", "dora-pw", w.group)
	w.app, w.otherApp = w.env.EntraApp(t, entraRedirect), w.env.EntraApp(t, entraRedirect)
	w.otherTenant = "5f0e7a52-6a1b-4f0e-9d3c-2b7f8e1a9c40"
	w.env.EntraUserIn(t, w.otherTenant, "alice@example.com", "alice-pw")
	w.foreignApp = w.env.EntraAppIn(t, w.otherTenant, entraRedirect)
	v, err := entra.NewVerifier(t.Context(), entra.Config{Authority: w.env.URL, TenantID: w.env.TenantID, ClientID: w.app, HTTPClient: w.env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	w.as = newAccessServer(t, openSQLite(t), func(c *Config) { c.Entra = v })
	for _, d := range []string{
		`{"apiVersion":"strata.dev/v1alpha1","kind":"Team","metadata":{"name":"finance"},"spec":{"entraGroups":["` + w.group + `"]}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"RoleBinding","metadata":{"name":"finance-viewers"},"spec":{"subject":{"team":"finance"},"role":"cluster-viewer"}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"dora"},"spec":{"email":"Dora@Example.com","disabled":true}}`,
	} {
		var head struct{ Kind string }
		_ = json.Unmarshal([]byte(d), &head)
		w.as.must(http.MethodPost, kindPath(head.Kind), []byte(d))
	}
	return w
}

// codePKCE is the test client of the authorization code flow with PKCE: it signs upn in to
// client of tenant, the browser played by EntraSignIn, and returns the tokens.
func (w *entraWorld) codePKCE(t *testing.T, tenant, client, upn, password string) *oauth2.Token {
	t.Helper()
	info := entra.LoginInfo{Authority: w.env.URL, TenantID: tenant, ClientID: client, Scopes: entra.Scopes(client)}
	conf := entralogin.Config(info, entraRedirect)
	v := oauth2.GenerateVerifier()
	loc := w.env.EntraSignIn(t, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(v)), upn, password)
	tok, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, w.env.HTTPClient), loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange the code of %s: %v", upn, err)
	}
	return tok
}

// deviceCode signs upn in as the CLI does, with the login information the server gives
// without credentials.
func (w *entraWorld) deviceCode(t *testing.T, upn, password string) *oauth2.Token {
	t.Helper()
	r := w.as.as("", http.MethodGet, AuthConfigPath, nil)
	var c AuthConfig
	if err := json.Unmarshal(r.body, &c); err != nil || r.code != http.StatusOK || c.Entra == nil {
		t.Fatalf("GET %s without credentials: %d %s", AuthConfigPath, r.code, r.body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tok, err := entralogin.DeviceCode(ctx, *c.Entra, w.env.HTTPClient, func(uri, code string) {
		w.env.EntraApproveDevice(t, uri, code, upn, password)
	})
	if err != nil {
		t.Fatalf("device code sign-in of %s: %v", upn, err)
	}
	return tok
}

// TestEntraSignIn: Entra ID sign-in through the emulator, device code as the CLI does and
// code+PKCE as a test client; group membership decides the role; another tenant's token, a
// token for another application and a disabled user's are refused.
func TestEntraSignIn(t *testing.T) {
	w := newEntraWorld(t)
	r := w.as.as("", http.MethodGet, AuthConfigPath, nil)
	want := `{"entra":{"authority":"` + w.env.URL + `","tenantId":"` + w.env.TenantID + `","clientId":"` + w.app +
		`","issuer":"` + w.env.Issuer() + `","scopes":["openid","profile","offline_access","api://` + w.app + `/.default"]}}`
	if r.code != http.StatusOK || strings.TrimSpace(string(r.body)) != want {
		t.Fatalf("GET %s: %d %s, want %s", AuthConfigPath, r.code, r.body, want)
	}
	device := w.deviceCode(t, "alice@example.com", "alice-pw")
	fresh, err := entralogin.TokenSource(t.Context(), w.as.srv.entra.LoginInfo(), w.env.HTTPClient,
		&oauth2.Token{RefreshToken: device.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	clusters := kindPath(v1alpha1.KindCluster)
	newCluster := encode(t, matrixKinds[0].make("c-new", map[string]string{"department": "finance"}))
	tests := []struct {
		name      string
		token     string
		method    string
		body      []byte
		code      int
		msgSubstr string
	}{
		{"device code: list", entralogin.Bearer(device), http.MethodGet, nil, http.StatusOK, ""},
		{"device code: create", entralogin.Bearer(device), http.MethodPost, newCluster, http.StatusForbidden, ""},
		{"refreshed: list", entralogin.Bearer(fresh), http.MethodGet, nil, http.StatusOK, ""},
		{"code+PKCE: list", w.codePKCE(t, w.env.TenantID, w.app, "alice@example.com", "alice-pw").AccessToken, http.MethodGet, nil, http.StatusOK, ""},
		{"id_token: list", entralogin.IDToken(device), http.MethodGet, nil, http.StatusOK, ""},
		{"not in the group", w.codePKCE(t, w.env.TenantID, w.app, "bob@example.com", "bob-pw").AccessToken, http.MethodGet, nil, http.StatusForbidden, ""},
		{"another tenant", w.codePKCE(t, w.otherTenant, w.foreignApp, "alice@example.com", "alice-pw").AccessToken, http.MethodGet, nil, http.StatusUnauthorized, "another tenant"},
		{"another application", w.codePKCE(t, w.env.TenantID, w.otherApp, "alice@example.com", "alice-pw").AccessToken, http.MethodGet, nil, http.StatusUnauthorized, "another application"},
		{"a disabled user's email", w.codePKCE(t, w.env.TenantID, w.app, "dora@example.com", "dora-pw").AccessToken, http.MethodGet, nil, http.StatusUnauthorized, "disabled"},
		{"garbage", "not-a-jwt", http.MethodGet, nil, http.StatusUnauthorized, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.as.as(tt.token, tt.method, clusters, tt.body)
			if r.code != tt.code || !strings.Contains(string(r.body), tt.msgSubstr) {
				t.Fatalf("%s %s: %d %s, want %d saying %q", tt.method, clusters, r.code, r.body, tt.code, tt.msgSubstr)
			}
			if len(tt.token) > 20 && strings.Contains(string(r.body), tt.token[len(tt.token)-20:]) {
				t.Errorf("the answer quotes the token")
			}
		})
	}
	checkEntraAudit(t, w.as, tests[0].token)
}

// checkEntraAudit: the audit trail names the Entra ID principal of a refusal and why other
// sign-ins were refused, and never holds a token.
func checkEntraAudit(t *testing.T, as *accessServer, token string) {
	t.Helper()
	list, r := as.auditList(as.admin, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", AuditPath, r.code, r.body)
	}
	var users, reasons []string
	for _, rec := range list.Items {
		users, reasons = append(users, rec.User), append(reasons, rec.Reason)
	}
	if !slices.Contains(users, "alice@example.com") || !slices.Contains(users, "bob@example.com") {
		t.Errorf("audit users %q: want the Entra principals alice@example.com (create refused) and bob@example.com", users)
	}
	for _, want := range []string{entra.ErrWrongIssuer.Error(), entra.ErrWrongAudience.Error(), errEntraUserDisabled.Error()} {
		if !slices.Contains(reasons, want) {
			t.Errorf("audit reasons %q: want %q", reasons, want)
		}
	}
	if strings.Contains(string(r.body), token[len(token)-20:]) {
		t.Error("the audit trail holds a token")
	}
}

// TestEntraPrincipal pins who an Entra ID identity is to strata.
func TestEntraPrincipal(t *testing.T) {
	user := func(name, email string, disabled bool) *v1alpha1.User {
		u := &v1alpha1.User{}
		u.Metadata.Name, u.Spec.Email, u.Spec.Disabled = name, email, disabled
		return u
	}
	team := func(name string, members, groups []string) *v1alpha1.Team {
		tm := &v1alpha1.Team{}
		tm.Metadata.Name, tm.Spec.Members, tm.Spec.EntraGroups = name, members, groups
		return tm
	}
	users := []*v1alpha1.User{user("carol", "Carol@Example.com", false), user("dora", "dora@example.com", true),
		user("eve", "eve@example.com", false), user("eve2", "EVE@example.com", false), user("frank@example.com", "", false)}
	teams := []*v1alpha1.Team{team("finance", nil, []string{"AAAA-1"}), team("ops", []string{"carol"}, nil),
		team("hr", nil, []string{"bbbb-2"})}
	tests := []struct {
		name     string
		id       entra.Identity
		wantName string
		wantTeam []string
		wantErr  error
	}{
		{"a User by email, case aside", entra.Identity{Username: "carol@example.com", Groups: []string{"aaaa-1"}}, "carol", []string{"finance", "ops"}, nil},
		{"no User: the username in lower case", entra.Identity{Username: "Gus@Example.com"}, "gus@example.com", nil, nil},
		{"groups only", entra.Identity{Username: "hal@example.com", Groups: []string{"x", "bbbb-2"}}, "hal@example.com", []string{"hr"}, nil},
		{"no team", entra.Identity{Username: "ivy@example.com"}, "ivy@example.com", nil, nil},
		{"a disabled User", entra.Identity{Username: "dora@example.com", Groups: []string{"aaaa-1"}}, "", nil, errEntraUserDisabled},
		{"two Users with the email", entra.Identity{Username: "eve@example.com"}, "", nil, errEntraAmbiguous},
		{"a User's name but not its email", entra.Identity{Username: "frank@example.com"}, "", nil, errEntraNameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := entraPrincipal(users, teams, tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("entraPrincipal: %v, want %v", err, tt.wantErr)
			}
			if p.Name != tt.wantName || !slices.Equal(p.Teams, tt.wantTeam) {
				t.Errorf("principal %+v, want %s in %q", p, tt.wantName, tt.wantTeam)
			}
		})
	}
}

// TestEntraBearer: a bearer that is not a strata API key is an Entra ID token.
func TestEntraBearer(t *testing.T) {
	tests := []struct {
		header, want string
		ok           bool
	}{
		{"Bearer eyJ0.eyJ1.sig", "eyJ0.eyJ1.sig", true},
		{"bearer  eyJ0.eyJ1.sig ", "eyJ0.eyJ1.sig", true},
		{"Bearer strata_abc_def", "", false},
		{"Basic dXNlcjpwdw==", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Authorization", tt.header)
		}
		if got, ok := entraBearer(h); got != tt.want || ok != tt.ok {
			t.Errorf("entraBearer(%q) = %q, %t; want %q, %t", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAuthConfigWithoutEntra: a server without Entra ID answers {} to anyone.
func TestAuthConfigWithoutEntra(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	if r := as.as("", http.MethodGet, AuthConfigPath, nil); r.code != http.StatusOK || strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("GET %s: %d %s, want 200 {}", AuthConfigPath, r.code, r.body)
	}
}

// unreachableEntra is an Entra ID whose metadata cannot be read.
type unreachableEntra struct{}

func (unreachableEntra) Verify(context.Context, string) (entra.Identity, error) {
	return entra.Identity{}, fmt.Errorf("%w: connection refused", entra.ErrUnavailable)
}

func (unreachableEntra) LoginInfo() entra.LoginInfo { return entra.LoginInfo{ClientID: "c1"} }

func (unreachableEntra) HTTPClient() *http.Client { return http.DefaultClient }

// TestEntraUnavailable: while Entra ID cannot be reached, a token is 503, not 401, and API
// keys keep working.
func TestEntraUnavailable(t *testing.T) {
	as := newAccessServer(t, openSQLite(t), func(c *Config) { c.Entra = unreachableEntra{} })
	if r := as.as("eyJ0.eyJ1.sig", http.MethodGet, kindPath(v1alpha1.KindCluster), nil); r.code != http.StatusServiceUnavailable {
		t.Errorf("an Entra ID token while Entra ID is unreachable: %d %s, want 503", r.code, r.body)
	}
	if r := as.as(as.admin, http.MethodGet, kindPath(v1alpha1.KindCluster), nil); r.code != http.StatusOK {
		t.Errorf("an API key: %d %s", r.code, r.body)
	}
}
