package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/entra"
)

// laterVerifier is the EntraVerifier of a server whose application is registered once the
// server's address (its redirect URI) is known.
type laterVerifier struct {
	mu sync.Mutex
	v  *entra.Verifier
}

func (l *laterVerifier) get() *entra.Verifier {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v
}
func (l *laterVerifier) Verify(ctx context.Context, raw string) (entra.Identity, error) {
	return l.get().Verify(ctx, raw)
}
func (l *laterVerifier) LoginInfo() entra.LoginInfo { return l.get().LoginInfo() }
func (l *laterVerifier) HTTPClient() *http.Client   { return l.get().HTTPClient() }

// noRedirect sends a GET with the cookies and returns the answer, a redirect not followed.
func noRedirect(t *testing.T, u string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestConsoleEntraSignIn: the console's sign-in with Entra ID through the emulator: the
// server redirects to Entra ID with PKCE, redeems the code it gets back, and keeps the tokens
// as a session whose cookie authenticates API requests as the Entra ID user (teams from
// groups); an expired access token is renewed with the refresh token; a callback whose state
// is not the one started here is refused; signing out ends the session.
func TestConsoleEntraSignIn(t *testing.T) {
	env := emulatortest.Start(t, func(*emulator.Options) {})
	group := env.EntraGroup(t, "finance-people")
	env.EntraUser(t, "alice@example.com", "alice-pw", group)
	lv := &laterVerifier{}
	as := newAccessServer(t, openSQLite(t), func(c *Config) { c.Entra = lv })
	app := env.EntraApp(t, as.url+EntraCallbackPath)
	v, err := entra.NewVerifier(t.Context(), entra.Config{Authority: env.URL, TenantID: env.TenantID, ClientID: app, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	lv.mu.Lock()
	lv.v = v
	lv.mu.Unlock()
	as.must(http.MethodPost, kindPath("Team"), []byte(`{"apiVersion":"strata.dev/v1alpha1","kind":"Team","metadata":{"name":"finance"},"spec":{"entraGroups":["`+group+`"]}}`))

	start := noRedirect(t, as.url+EntraLoginPath)
	flow := cookieNamed(start, entraFlowCookie)
	authURL := start.Header.Get("Location")
	if start.StatusCode != http.StatusFound || flow == nil || !flow.HttpOnly || !flow.Secure || flow.SameSite != http.SameSiteLaxMode ||
		!strings.HasPrefix(authURL, env.URL+"/"+env.TenantID+"/oauth2/v2.0/authorize?") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Fatalf("GET %s: %d, flow cookie %+v, Location %s", EntraLoginPath, start.StatusCode, flow, authURL)
	}
	callback := env.EntraSignIn(t, authURL, "alice@example.com", "alice-pw")

	wrongState := *callback
	q := wrongState.Query()
	q.Set("state", "not-the-state")
	wrongState.RawQuery = q.Encode()
	if r := noRedirect(t, wrongState.String(), flow); cookieNamed(r, SessionCookie) != nil || !strings.HasPrefix(r.Header.Get("Location"), "/#/signin?error=") {
		t.Errorf("a callback with another state: %d, Location %s", r.StatusCode, r.Header.Get("Location"))
	}
	back := noRedirect(t, callback.String(), flow)
	session := cookieNamed(back, SessionCookie)
	if back.StatusCode != http.StatusFound || back.Header.Get("Location") != "/#/clusters" || session == nil ||
		!session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("the callback: %d, Location %s, cookie %+v", back.StatusCode, back.Header.Get("Location"), session)
	}

	whoami := func() (int, string) {
		r := sessionRequest(t, as, http.MethodGet, WhoAmIPath, session.Value, "", nil)
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, b := whoami(); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) || !strings.Contains(b, `"finance"`) {
		t.Fatalf("whoami with the Entra ID session: %d %s", code, b)
	}

	// The access token expires: the next request renews it with the refresh token.
	id, sess, err := as.srv.entraSessionOf(t.Context(), session.Value)
	if err != nil {
		t.Fatal(err)
	}
	old := sess.Token.AccessToken
	sess.Token.AccessToken, sess.Token.Expiry = "expired", time.Now().Add(-time.Minute)
	if err := as.srv.putEntraSession(t.Context(), id, sess); err != nil {
		t.Fatal(err)
	}
	if code, b := whoami(); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Errorf("whoami once the access token expired: %d %s", code, b)
	}
	if _, renewed, _ := as.srv.entraSessionOf(t.Context(), session.Value); renewed.Token.AccessToken == "expired" || renewed.Token.AccessToken == old {
		t.Errorf("the session's access token was not renewed")
	}
	if r := sessionRequest(t, as, http.MethodGet, WhoAmIPath, session.Value+"x", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session cookie with a wrong secret: %d", r.StatusCode)
	}

	if r := sessionRequest(t, as, http.MethodDelete, SessionPath, session.Value, "", map[string]string{"Sec-Fetch-Site": "same-origin"}); r.StatusCode != http.StatusNoContent {
		t.Errorf("sign-out: %d", r.StatusCode)
	}
	if code, _ := whoami(); code != http.StatusUnauthorized {
		t.Errorf("whoami after sign-out: %d, want 401", code)
	}
	raw, _ := json.Marshal(sess)
	if strings.Contains(as.logs.String(), old) || strings.Contains(as.logs.String(), string(raw[:20])) {
		t.Errorf("the logs hold a token")
	}
}
