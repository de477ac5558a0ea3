package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestPasswords: who may set a password, its rules, the sign-in and its session key, and what
// is refused (a wrong password, an unknown or disabled user, alike; too many failures).
func TestPasswords(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	const pw = "correct horse battery"
	setPW := func(key, user, password string) *response {
		body, _ := json.Marshal(PasswordChange{Password: password})
		return as.as(key, http.MethodPut, objectPath(v1alpha1.KindUser, user)+"/password", body)
	}
	sets := []struct {
		name, key, user, password string
		code                      int
	}{
		{"admin sets bob's", keys["alice"], "bob", "a first password", http.StatusNoContent},
		{"bob sets his own", keys["bob"], "bob", pw, http.StatusNoContent},
		{"carol sets bob's", keys["carol"], "bob", "carol's choice!!", http.StatusForbidden},
		{"too short", keys["bob"], "bob", "short", http.StatusUnprocessableEntity},
		{"no such user", keys["alice"], "nobody", pw, http.StatusNotFound},
		{"without a key", "", "bob", pw, http.StatusUnauthorized},
	}
	for _, s := range sets {
		if r := setPW(s.key, s.user, s.password); r.code != s.code {
			t.Errorf("%s: %d, want %d: %s", s.name, r.code, s.code, r.body)
		}
	}
	hash, err := as.store.GetSecret(t.Context(), passwordSecretName("bob"))
	if err != nil || strings.Contains(string(hash), "horse") {
		t.Fatalf("the stored password: %q, %v", hash, err)
	}

	login := func(user, password string) *response {
		body, _ := json.Marshal(Credentials{User: user, Password: password})
		return as.as("", http.MethodPost, LoginPath, body)
	}
	r := login("bob", pw)
	var session Session
	if r.code != http.StatusCreated || json.Unmarshal(r.body, &session) != nil || session.Token == "" {
		t.Fatalf("sign-in: %d %s", r.code, r.body)
	}
	if left := time.Until(session.APIKey.Spec.ExpiresAt); session.APIKey.Spec.User != "bob" || left > SessionLifetime || left < SessionLifetime-time.Minute {
		t.Errorf("session key: %+v", session.APIKey.Spec)
	}
	if w := as.as(session.Token, http.MethodGet, WhoAmIPath, nil); w.code != http.StatusOK || !strings.Contains(string(w.body), `"user":"bob"`) {
		t.Errorf("whoami with the session: %d %s", w.code, w.body)
	}
	for _, c := range []struct{ user, password string }{{"bob", "a first password"}, {"nobody", pw}, {"carol", pw}} {
		r := login(c.user, c.password)
		if r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "wrong user name or password") {
			t.Errorf("sign-in %s: %d %s", c.user, r.code, r.body)
		}
	}
	if r := as.as("", http.MethodPost, LoginPath, []byte(`{"user":"bob","password":"x","extra":1}`)); r.code != http.StatusBadRequest {
		t.Errorf("unknown field: %d", r.code)
	}

	// Disabled: refused like a wrong password.
	as.must(http.MethodPut, objectPath(v1alpha1.KindUser, "dave"), []byte(`{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"dave"},"spec":{"disabled":true}}`))
	if r := setPW(keys["alice"], "dave", pw); r.code != http.StatusNoContent {
		t.Fatalf("set dave's: %d %s", r.code, r.body)
	}
	if r := login("dave", pw); r.code != http.StatusUnauthorized {
		t.Errorf("disabled user signs in: %d %s", r.code, r.body)
	}
}

// TestLoginLockout: after 5 failures within the window, even the right password is refused
// with 429 until the window has passed; a success forgets the failures.
func TestLoginLockout(t *testing.T) {
	var l loginLimiter
	now := time.Now()
	for i := range loginFailures {
		if !l.allowed("bob", now) {
			t.Fatalf("refused after %d failures", i)
		}
		l.failed("bob", now)
	}
	if l.allowed("bob", now.Add(loginWindow-time.Second)) {
		t.Error("allowed within the window after 5 failures")
	}
	if !l.allowed("carol", now) {
		t.Error("another user locked out")
	}
	if !l.allowed("bob", now.Add(loginWindow)) {
		t.Error("still locked out once the window passed")
	}
	l.failed("bob", now)
	l.succeeded("bob")
	if f := l.failures["bob"]; f.n != 0 {
		t.Errorf("a success kept the failures: %+v", f)
	}
}

// TestLoginLimiterIsBounded: failures under ever new names do not grow the table without end.
func TestLoginLimiterIsBounded(t *testing.T) {
	var l loginLimiter
	now := time.Now()
	for i := range maxTrackedUsers + 100 {
		l.failed("user-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if len(l.failures) > maxTrackedUsers {
		t.Errorf("%d users tracked, at most %d", len(l.failures), maxTrackedUsers)
	}
}

// TestSignInLockedOut goes through the HTTP API: the sixth attempt answers 429.
func TestSignInLockedOut(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	body, _ := json.Marshal(Credentials{User: "alice", Password: "not the right one"})
	for i := range loginFailures {
		if r := as.as("", http.MethodPost, LoginPath, body); r.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.code)
		}
	}
	if r := as.as("", http.MethodPost, LoginPath, body); r.code != http.StatusTooManyRequests {
		t.Errorf("attempt %d: %d, want 429: %s", loginFailures+1, r.code, r.body)
	}
}
