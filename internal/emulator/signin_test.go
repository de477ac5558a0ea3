package emulator_test

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// These tests sign users in to the emulator's Entra ID over HTTPS, as a browser, a console
// and a CLI would, and check the tokens against the keys the emulator publishes.

const redirectURI = "http://127.0.0.1/callback"

// verifier is a PKCE code verifier (43 characters); challenge is its S256 challenge.
const verifier = "the-code-verifier-of-a-test-0123456789abcdef"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// metadata is the v2.0 OpenID metadata of a tenant.
type metadata struct {
	Issuer        string `json:"issuer"`
	AuthURL       string `json:"authorization_endpoint"`
	TokenURL      string `json:"token_endpoint"`
	DeviceAuthURL string `json:"device_authorization_endpoint"`
	JWKSURI       string `json:"jwks_uri"`
}

func discover(t *testing.T, env *emulatortest.Env) metadata {
	t.Helper()
	var m metadata
	getJSON(t, env, env.DiscoveryURL(), &m)
	if m.Issuer != env.Issuer() {
		t.Fatalf("issuer %q, want %q", m.Issuer, env.Issuer())
	}
	return m
}

// verifyJWT checks a token's RS256 signature against the key set of jwks_uri and returns its
// claims.
func verifyJWT(t *testing.T, env *emulatortest.Env, m metadata, tok string) jwt.MapClaims {
	t.Helper()
	var set struct{ Keys []struct{ Kid, N, E string } }
	getJSON(t, env, m.JWKSURI, &set)
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tk.Header["kid"] {
				n, _ := base64.RawURLEncoding.DecodeString(k.N)
				e, _ := base64.RawURLEncoding.DecodeString(k.E)
				return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(m.Issuer), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("the token does not verify with the published keys: %v", err)
	}
	return claims
}

// authURL is an authorization request of the code flow with PKCE.
func authURL(m metadata, clientID, scope string, change func(url.Values)) string {
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {scope},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	if change != nil {
		change(q)
	}
	return m.AuthURL + "?" + q.Encode()
}

// tokenAnswer is a token endpoint's answer, success or error.
type tokenAnswer struct {
	Status       int
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	Codes        []int  `json:"error_codes"`
}

func postToken(t *testing.T, env *emulatortest.Env, u string, form url.Values) tokenAnswer {
	t.Helper()
	resp, err := env.HTTPClient.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := tokenAnswer{Status: resp.StatusCode}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("POST %s: %d %s: %v", u, resp.StatusCode, b, err)
	}
	return a
}

// wantError fails the test unless the answer is the OAuth error with the AADSTS code.
func (a tokenAnswer) wantError(t *testing.T, status int, code string, aadsts int) {
	t.Helper()
	if a.Status != status || a.Error != code || !slices.Contains(a.Codes, aadsts) || !strings.HasPrefix(a.Description, "AADSTS") {
		t.Fatalf("want %d %s AADSTS%d, got %d %s %v %q", status, code, aadsts, a.Status, a.Error, a.Codes, a.Description)
	}
}

func codeForm(clientID, code, v string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {v}}
}

// signIn signs alice in through the authorize endpoint and returns the code.
func signIn(t *testing.T, env *emulatortest.Env, m metadata, clientID, scope string) string {
	t.Helper()
	loc := env.EntraSignIn(t, authURL(m, clientID, scope, nil), "alice@example.com", "alice-pw")
	if loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" || loc.Path != "/callback" {
		t.Fatalf("redirect %s: want the callback with a code and the state", loc)
	}
	return loc.Query().Get("code")
}

func TestEntraAuthCodePKCE(t *testing.T) {
	env := emulatortest.Start(t)
	admins, devs := env.EntraGroup(t, "admins"), env.EntraGroup(t, "devs")
	alice := env.EntraUser(t, "alice@example.com", "alice-pw", admins)
	env.EntraUser(t, "bob@example.com", "bob-pw", devs)
	client := env.EntraApp(t, redirectURI)
	m := discover(t, env)

	// The form a browser gets.
	resp, err := env.HTTPClient.Get(authURL(m, client, "openid", func(q url.Values) { q.Set("login_hint", "alice@example.com") }))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="password"`) || !strings.Contains(string(page), `value="alice@example.com"`) {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
	}

	scope := "openid profile offline_access api://" + client + "/.default"
	code := signIn(t, env, m, client, scope)
	tok := postToken(t, env, m.TokenURL, codeForm(client, code, verifier))
	if tok.Status != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 3599 || tok.RefreshToken == "" || tok.Scope != scope {
		t.Fatalf("token response: %+v", tok)
	}
	id := verifyJWT(t, env, m, tok.IDToken)
	for k, want := range map[string]any{"aud": client, "tid": env.TenantID, "oid": alice, "preferred_username": "alice@example.com",
		"name": "alice", "nonce": "n-1", "ver": "2.0"} {
		if id[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, id[k], want)
		}
	}
	if g, _ := id["groups"].([]any); len(g) != 1 || g[0] != admins {
		t.Errorf("id_token groups %v, want [%s] (admins only)", id["groups"], admins)
	}
	at := verifyJWT(t, env, m, tok.AccessToken)
	if at["aud"] != "api://"+client || at["azp"] != client || at["scp"] != "user_impersonation" || at["oid"] != alice || at["nonce"] != nil {
		t.Errorf("access token claims: %v", at)
	}
	if at["sub"] == id["sub"] || id["sub"] == "" {
		t.Errorf("sub is pairwise: id_token %v, access token %v", id["sub"], at["sub"])
	}

	// A code is redeemed once; the second attempt also revokes the refresh token it gave.
	postToken(t, env, m.TokenURL, codeForm(client, code, verifier)).wantError(t, 400, "invalid_grant", 54005)
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {tok.RefreshToken}}
	postToken(t, env, m.TokenURL, refresh).wantError(t, 400, "invalid_grant", 9002313)
}

func TestEntraTokenRefusals(t *testing.T) {
	env := emulatortest.Start(t)
	env.EntraUser(t, "alice@example.com", "alice-pw")
	client := env.EntraApp(t, redirectURI)
	other := env.EntraApp(t, redirectURI)
	m := discover(t, env)
	code := signIn(t, env, m, client, "openid")
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		status int
		error  string
		aadsts int
	}{
		{"wrong code_verifier", func(f url.Values) { f.Set("code_verifier", verifier+"x") }, 400, "invalid_grant", 501481},
		{"no code_verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_grant", 50148},
		{"another redirect URI", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1/other") }, 400, "invalid_grant", 50011},
		{"another client", func(f url.Values) { f.Set("client_id", other) }, 400, "invalid_grant", 70000},
		{"unknown client", func(f url.Values) { f.Set("client_id", "d2a3c9a8-0000-4000-8000-000000000000") }, 400, "unauthorized_client", 700016},
		{"a secret from a public client", func(f url.Values) { f.Set("client_secret", "s") }, 401, "invalid_client", 700025},
		{"no code", func(f url.Values) { f.Del("code") }, 400, "invalid_request", 900144},
		{"a made-up code", func(f url.Values) { f.Set("code", "stc.made-up") }, 400, "invalid_grant", 9002313},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := codeForm(client, code, verifier)
			tc.change(f)
			postToken(t, env, m.TokenURL, f).wantError(t, tc.status, tc.error, tc.aadsts)
		})
	}
	// None of the refusals spent the code.
	if tok := postToken(t, env, m.TokenURL, codeForm(client, code, verifier)); tok.Status != 200 || tok.IDToken == "" {
		t.Fatalf("the code after refusals: %+v", tok)
	}
	// At another tenant's endpoint.
	otherTenant := "0e8f6a6e-1111-4222-8333-444455556666"
	env.EntraAppIn(t, otherTenant, redirectURI)
	code = signIn(t, env, m, client, "openid")
	postToken(t, env, env.URL+"/"+otherTenant+"/oauth2/v2.0/token", codeForm(client, code, verifier)).wantError(t, 400, "unauthorized_client", 700016)
}

func TestEntraSignInRefusals(t *testing.T) {
	env := emulatortest.Start(t)
	env.EntraUser(t, "alice@example.com", "alice-pw")
	client := env.EntraApp(t, redirectURI)
	tenantB := "0e8f6a6e-1111-4222-8333-444455556666"
	clientB := env.EntraAppIn(t, tenantB, redirectURI)
	env.EntraUserIn(t, tenantB, "bert@b.example.com", "bert-pw")
	m := discover(t, env)
	mB := m
	mB.AuthURL = strings.Replace(m.AuthURL, env.TenantID, tenantB, 1)
	for _, tc := range []struct {
		name      string
		url       string
		user, pw  string
		status    int
		aadsts    string // shown on the page
		redirect  string // the error sent back to the client instead
		redirCode string
	}{
		{"wrong password", authURL(m, client, "openid", nil), "alice@example.com", "nope", 400, "AADSTS50126", "", ""},
		{"unknown user", authURL(m, client, "openid", nil), "carol@example.com", "x", 400, "AADSTS50034", "", ""},
		{"a user of tenant A at tenant B", authURL(mB, clientB, "openid", nil), "alice@example.com", "alice-pw", 400, "AADSTS50020", "", ""},
		{"tenant B's user at tenant A", authURL(m, client, "openid", nil), "bert@b.example.com", "bert-pw", 400, "AADSTS50020", "", ""},
		{"tenant A's client at tenant B", authURL(mB, client, "openid", nil), "alice@example.com", "alice-pw", 400, "AADSTS700016", "", ""},
		{"unknown tenant", strings.Replace(authURL(m, client, "openid", nil), env.TenantID, "9f0f0f0f-1111-4222-8333-444455556666", 1), "alice@example.com", "alice-pw", 400, "AADSTS90002", "", ""},
		{"unregistered redirect URI", authURL(m, client, "openid", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }), "alice@example.com", "alice-pw", 400, "AADSTS50011", "", ""},
		{"no PKCE", authURL(m, client, "openid", func(q url.Values) { q.Del("code_challenge") }), "alice@example.com", "alice-pw", 302, "", "invalid_request", "AADSTS9002325"},
		{"a short challenge", authURL(m, client, "openid", func(q url.Values) { q.Set("code_challenge", "short") }), "alice@example.com", "alice-pw", 302, "", "invalid_request", "AADSTS501491"},
		{"an unknown resource", authURL(m, client, "openid api://unknown/.default", nil), "alice@example.com", "alice-pw", 302, "", "invalid_resource", "AADSTS500011"},
		{"two resources", authURL(m, client, "api://"+client+"/a https://graph.microsoft.com/User.Read", nil), "alice@example.com", "alice-pw", 302, "", "invalid_scope", "AADSTS700022"},
		{"response_type token", authURL(m, client, "openid", func(q url.Values) { q.Set("response_type", "token") }), "alice@example.com", "alice-pw", 302, "", "unsupported_response_type", "AADSTS70005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *env.HTTPClient
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.PostForm(tc.url, url.Values{"username": {tc.user}, "password": {tc.pw}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.aadsts) {
				t.Fatalf("want %d with %s, got %d %s", tc.status, tc.aadsts, resp.StatusCode, body)
			}
			if tc.redirect == "" {
				return
			}
			loc, _ := resp.Location()
			q := loc.Query()
			if q.Get("error") != tc.redirect || !strings.HasPrefix(q.Get("error_description"), tc.redirCode+":") || q.Get("state") != "st-1" || q.Get("code") != "" {
				t.Fatalf("redirect %s: want error %s %s and the state", loc, tc.redirect, tc.redirCode)
			}
		})
	}
}

func TestEntraDeviceCode(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Entra.DeviceCodeInterval = time.Second })
	g := env.EntraGroup(t, "ops")
	alice := env.EntraUser(t, "alice@example.com", "alice-pw", g)
	client := env.EntraApp(t)
	m := discover(t, env)
	var da struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int    `json:"expires_in"`
		Interval        int    `json:"interval"`
		Message         string `json:"message"`
	}
	resp, err := env.HTTPClient.PostForm(m.DeviceAuthURL, url.Values{"client_id": {client}, "scope": {"openid offline_access api://" + client + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&da); err != nil || resp.StatusCode != 200 {
		t.Fatalf("devicecode: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if da.ExpiresIn != 900 || da.Interval != 1 || len(da.UserCode) != 9 || !strings.Contains(da.Message, da.UserCode) || !strings.Contains(da.Message, da.VerificationURI) {
		t.Fatalf("device authorization: %+v", da)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {client}, "device_code": {da.DeviceCode}}
	postToken(t, env, m.TokenURL, poll).wantError(t, 400, "authorization_pending", 70016)
	postToken(t, env, m.TokenURL, poll).wantError(t, 400, "authorization_pending", 70016) // one retry at once
	postToken(t, env, m.TokenURL, poll).wantError(t, 400, "slow_down", 70016)

	// A wrong code, then a wrong password, then the right ones.
	form := url.Values{"user_code": {"BBBBBBBBB"}, "username": {"alice@example.com"}, "password": {"alice-pw"}}
	if st, body := postPage(t, env, da.VerificationURI, form); st != 400 || !strings.Contains(body, "AADSTS70018") {
		t.Fatalf("a wrong user code: %d %s", st, body)
	}
	form.Set("user_code", strings.ToLower(da.UserCode))
	form.Set("password", "nope")
	if st, body := postPage(t, env, da.VerificationURI, form); st != 400 || !strings.Contains(body, "AADSTS50126") {
		t.Fatalf("a wrong password: %d %s", st, body)
	}
	env.EntraApproveDevice(t, da.VerificationURI, da.UserCode, "alice@example.com", "alice-pw")
	time.Sleep(time.Second)
	tok := postToken(t, env, m.TokenURL, poll)
	if tok.Status != 200 || tok.RefreshToken == "" {
		t.Fatalf("after approval: %+v", tok)
	}
	if c := verifyJWT(t, env, m, tok.AccessToken); c["aud"] != "api://"+client || c["oid"] != alice || len(c["groups"].([]any)) != 1 {
		t.Fatalf("access token claims: %v", c)
	}
	if c := verifyJWT(t, env, m, tok.IDToken); c["aud"] != client || c["tid"] != env.TenantID {
		t.Fatalf("id_token claims: %v", c)
	}
	postToken(t, env, m.TokenURL, poll).wantError(t, 400, "invalid_grant", 54005)
}

// wantNoPasswords fails the test if an admin list shows a password, in any form.
func wantNoPasswords(t *testing.T, env *emulatortest.Env) {
	t.Helper()
	for _, path := range []string{"/_emulator/entra/users", "/_emulator/entra/groups", "/_emulator/entra/applications", "/_emulator/info"} {
		st, body := adminCall(t, env, "GET", path, "Bearer "+env.AdminToken, nil)
		if st != 200 || strings.Contains(body, "secret-pw") || strings.Contains(strings.ToLower(body), "password") {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
	}
}

// postPage posts a form to a page and returns the status and the page.
func postPage(t *testing.T, env *emulatortest.Env, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := env.HTTPClient.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEntraExpiries: an expired code and an expired device code are refused; a declined
// device code too.
func TestEntraExpiries(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) {
		o.Entra = emulator.EntraOptions{AuthCodeLifetime: 50 * time.Millisecond, DeviceCodeLifetime: time.Second, DeviceCodeInterval: time.Second}
	})
	env.EntraUser(t, "alice@example.com", "alice-pw")
	client := env.EntraApp(t, redirectURI)
	m := discover(t, env)
	device := func() (deviceCode, userCode string) {
		resp, err := env.HTTPClient.PostForm(m.DeviceAuthURL, url.Values{"client_id": {client}, "scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var da map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&da); err != nil || da["expires_in"] != 1.0 {
			t.Fatalf("devicecode: %v %v", da, err)
		}
		return da["device_code"].(string), da["user_code"].(string)
	}
	poll := func(code string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {client}, "device_code": {code}}
	}
	declined, userCode := device()
	verification := env.URL + "/" + env.TenantID + "/oauth2/deviceauth"
	if st, body := postPage(t, env, verification, url.Values{"user_code": {userCode}, "action": {"decline"}}); st != 200 {
		t.Fatalf("declining: %d %s", st, body)
	}
	postToken(t, env, m.TokenURL, poll(declined)).wantError(t, 400, "authorization_declined", 65004)

	expired, _ := device()
	code := signIn(t, env, m, client, "openid")
	time.Sleep(1100 * time.Millisecond)
	postToken(t, env, m.TokenURL, codeForm(client, code, verifier)).wantError(t, 400, "invalid_grant", 70008)
	postToken(t, env, m.TokenURL, poll(expired)).wantError(t, 400, "expired_token", 70020)
}

func TestEntraDirectoryAdmin(t *testing.T) {
	env := emulatortest.Start(t)
	g := env.EntraGroup(t, "admins")
	alice := env.EntraUser(t, "alice@example.com", "secret-pw-1", g)
	bob := env.EntraUser(t, "bob@example.com", "secret-pw-2", g)
	client := env.EntraApp(t, "http://localhost/cb", "https://app.example/cb")
	for _, tc := range []struct {
		name, method, path string
		in                 any
		status             int
	}{
		{"a UPN taken, in another case", "POST", "/_emulator/entra/users", map[string]string{"userPrincipalName": "ALICE@example.com", "password": "x"}, 409},
		{"no password", "POST", "/_emulator/entra/users", map[string]string{"userPrincipalName": "carol@example.com"}, 400},
		{"not user@domain", "POST", "/_emulator/entra/users", map[string]string{"userPrincipalName": "carol", "password": "x"}, 400},
		{"an unknown field", "POST", "/_emulator/entra/users", map[string]string{"userPrincipalName": "carol@example.com", "password": "x", "role": "admin"}, 400},
		{"a group of unknown members", "POST", "/_emulator/entra/groups", map[string]any{"displayName": "x", "members": []string{"nobody"}}, 404},
		{"a client ID taken", "POST", "/_emulator/entra/applications", map[string]any{"clientId": client}, 409},
		{"http redirect off loopback", "POST", "/_emulator/entra/applications", map[string]any{"redirectUris": []string{"http://app.example/cb"}}, 400},
		{"delete an unknown user", "DELETE", "/_emulator/entra/users/nobody", nil, 404},
		{"add an unknown member", "POST", "/_emulator/entra/groups/" + g + "/members", map[string]string{"id": "nobody"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := env.Admin(t, tc.method, tc.path, tc.in, nil); st != tc.status {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, st, tc.status)
			}
		})
	}
	wantNoPasswords(t, env)
	var users struct{ Users []emulator.EntraUser }
	env.Admin(t, "GET", "/_emulator/entra/users?tenantId="+env.TenantID, nil, &users)
	if len(users.Users) != 2 || users.Users[0].ID != alice || users.Users[0].TenantID != env.TenantID || users.Users[0].DisplayName != "alice" {
		t.Fatalf("users: %+v", users)
	}
	// Deleting bob takes him out of his group; state.json keeps only hashes, across a restart.
	if st := env.Admin(t, "DELETE", "/_emulator/entra/users/"+bob, nil, nil); st != 204 {
		t.Fatalf("deleting bob: %d", st)
	}
	if err := env.Emulator.Save(); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(env.StateDir, "state.json"))
	if err != nil || strings.Contains(string(state), "secret-pw") || !strings.Contains(string(state), "pbkdf2-sha256$") {
		t.Fatalf("state.json keeps passwords in the clear, or no hash (%v)", err)
	}
	env.Restart(t)
	groups := env.Emulator.EntraGroups("")
	if len(groups) != 1 || !slices.Equal(groups[0].Members, []string{alice}) {
		t.Fatalf("groups after a restart: %+v", groups)
	}
	m := discover(t, env)
	loc := env.EntraSignIn(t, authURL(m, client, "openid", func(q url.Values) { q.Set("redirect_uri", "http://localhost:8123/cb") }), "alice@example.com", "secret-pw-1")
	if loc.Host != "localhost:8123" || loc.Query().Get("code") == "" {
		t.Fatalf("signing in after a restart, to a loopback redirect URI on another port: %s", loc)
	}
}

// TestEntraSignInLogsNoSecrets: refused sign-ins are logged at debug level with their code;
// no password, code, verifier or token is ever logged.
func TestEntraSignInLogsNoSecrets(t *testing.T) {
	logs := &syncBuffer{}
	env := emulatortest.Start(t, func(o *emulator.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	env.EntraUser(t, "alice@example.com", "alice-pw")
	client := env.EntraApp(t, redirectURI)
	m := discover(t, env)
	if st, _ := postPage(t, env, authURL(m, client, "openid", nil), url.Values{"username": {"alice@example.com"}, "password": {"wrong-pw"}}); st != 400 {
		t.Fatalf("wrong password: %d", st)
	}
	code := signIn(t, env, m, client, "openid offline_access")
	tok := postToken(t, env, m.TokenURL, codeForm(client, code, verifier))
	postToken(t, env, m.TokenURL, codeForm(client, code, verifier)).wantError(t, 400, "invalid_grant", 54005)
	out := logs.String()
	if !strings.Contains(out, "sign-in refused") || !strings.Contains(out, "aadsts=50126") {
		t.Errorf("no debug line for the refused sign-in:\n%s", out)
	}
	for name, secret := range map[string]string{"password": "alice-pw", "wrong password": "wrong-pw", "code": code,
		"verifier": verifier, "id_token": tok.IDToken, "access token": tok.AccessToken, "refresh token": tok.RefreshToken} {
		if secret == "" || strings.Contains(out, secret) {
			t.Errorf("the log shows the %s (or it is empty):\n%s", name, out)
		}
	}
}
