package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/console"
)

// sessionRequest sends a request to the access server with the given cookie (empty: none)
// and extra headers.
func sessionRequest(t *testing.T, as *accessServer, method, path, cookie string, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, as.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// sessionCookieOf returns the session cookie a response sets, or nil.
func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	return nil
}

// TestConsoleSession: the console's sign-in sets an HttpOnly, Secure, SameSite=Strict cookie
// holding a session key that authenticates API requests, never shown in the answer; other
// origins can neither sign in nor write with it; signing out deletes the key.
func TestConsoleSession(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	body, _ := json.Marshal(PasswordChange{Password: "correct horse battery"})
	if r := as.as(keys["bob"], http.MethodPut, objectPath(v1alpha1.KindUser, "bob")+"/password", body); r.code != http.StatusNoContent {
		t.Fatalf("set bob's password: %d %s", r.code, r.body)
	}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}

	if r := sessionRequest(t, as, http.MethodPost, SessionPath, "", `{"user":"bob","password":"wrong horse battery"}`, sameOrigin); r.StatusCode != http.StatusUnauthorized || sessionCookieOf(r) != nil {
		t.Errorf("a wrong password: %d, cookie %v", r.StatusCode, sessionCookieOf(r))
	}
	if r := sessionRequest(t, as, http.MethodPost, SessionPath, "", `{"user":"bob","password":"correct horse battery"}`, crossSite); r.StatusCode != http.StatusForbidden || sessionCookieOf(r) != nil {
		t.Errorf("a sign-in from another site's page: %d, cookie %v", r.StatusCode, sessionCookieOf(r))
	}
	r := sessionRequest(t, as, http.MethodPost, SessionPath, "", `{"user":"bob","password":"correct horse battery"}`, sameOrigin)
	answer, _ := io.ReadAll(r.Body)
	c := sessionCookieOf(r)
	if r.StatusCode != http.StatusCreated || c == nil {
		t.Fatalf("sign-in: %d %s", r.StatusCode, answer)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("session cookie attributes: %+v", c)
	}
	if left := time.Until(c.Expires); left > SessionLifetime || left < SessionLifetime-time.Minute {
		t.Errorf("session cookie expires in %s, want %s", left, SessionLifetime)
	}
	if strings.Contains(string(answer), c.Value) || !strings.Contains(string(answer), `"user":"bob"`) {
		t.Errorf("the sign-in's answer shows the token or not the user: %s", answer)
	}

	whoami := func(cookie string, headers map[string]string) (int, string) {
		r := sessionRequest(t, as, http.MethodGet, WhoAmIPath, cookie, "", headers)
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, b := whoami(c.Value, nil); code != http.StatusOK || !strings.Contains(b, `"user":"bob"`) {
		t.Errorf("whoami with the cookie: %d %s", code, b)
	}
	if code, b := whoami(c.Value, map[string]string{"Authorization": "Bearer " + keys["alice"]}); code != http.StatusOK || !strings.Contains(b, `"user":"alice"`) {
		t.Errorf("a key in the header is used before the cookie: %d %s", code, b)
	}
	if code, _ := whoami(c.Value, map[string]string{"Authorization": "Bearer not-a-key"}); code != http.StatusUnauthorized {
		t.Errorf("a bad Authorization header with a good cookie: %d, want 401", code)
	}

	cluster := `{"apiVersion":"strata.dev/v1alpha1","kind":"Cluster","metadata":{"name":"x"},"spec":{}}`
	if r := sessionRequest(t, as, http.MethodPost, kindPath(v1alpha1.KindCluster), c.Value, cluster, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("a write from another site's page with the cookie: %d, want 403", r.StatusCode)
	}
	// Bob may not create that cluster (it lacks his filter's tag): the refusal is authorization's,
	// for bob, not the cross-origin one.
	r = sessionRequest(t, as, http.MethodPost, kindPath(v1alpha1.KindCluster), c.Value, cluster, sameOrigin)
	if b, _ := io.ReadAll(r.Body); r.StatusCode == http.StatusUnauthorized || strings.Contains(string(b), "cross-origin") || !strings.Contains(string(b), "tag department") {
		t.Errorf("a write from the console's own page: %d %s", r.StatusCode, b)
	}

	out := sessionRequest(t, as, http.MethodDelete, SessionPath, c.Value, "", sameOrigin)
	if cleared := sessionCookieOf(out); out.StatusCode != http.StatusNoContent || cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("sign-out: %d, cookie %+v", out.StatusCode, cleared)
	}
	if code, _ := whoami(c.Value, nil); code != http.StatusUnauthorized {
		t.Errorf("the cookie after sign-out: %d, want 401", code)
	}
	if out := sessionRequest(t, as, http.MethodDelete, SessionPath, c.Value, "", sameOrigin); out.StatusCode != http.StatusNoContent {
		t.Errorf("signing out twice: %d", out.StatusCode)
	}
}

// TestConsoleServed: the page and its files are served without credentials, with the
// content security policy; other paths are still the API's 404.
func TestConsoleServed(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	cases := []struct {
		path, contentType, contains string
		code                        int
	}{
		{"/", "text/html", `src="/ui/app.js"`, http.StatusOK},
		{"/ui/app.js", "text/javascript", "", http.StatusOK},
		{"/ui/style.css", "text/css", "", http.StatusOK},
		{"/ui/vendor/js-yaml.mjs", "text/javascript", "@license MIT", http.StatusOK},
		{"/ui/", "", "", http.StatusNotFound},
		{"/ui/nope.js", "", "", http.StatusNotFound},
		{"/ui/../go.mod", "", "", http.StatusNotFound},
		{"/nope", "application/json", `"reason":"NotFound"`, http.StatusNotFound},
	}
	for _, c := range cases {
		r := sessionRequest(t, as, http.MethodGet, c.path, "", "", nil)
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != c.code || !strings.HasPrefix(r.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(b), c.contains) {
			t.Errorf("GET %s: %d %q %.200s", c.path, r.StatusCode, r.Header.Get("Content-Type"), b)
		}
		if c.code == http.StatusOK && r.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, r.Header.Get("Content-Security-Policy"))
		}
	}
}
