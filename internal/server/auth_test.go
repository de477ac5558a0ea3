package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/console"
)

// routeRequest turns a pattern of apiRoutes into a request: its method (GET for a pattern
// without one) and a path with every wildcard filled.
func routeRequest(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodPatch, pattern // a method no pattern names: methodNotAllowed
	}
	path = strings.NewReplacer("{plural}", "clusters", "{key}", "c1", "{what}", "locations").Replace(path)
	return method, path
}

// TestAuthenticationRequired walks every registered route (apiRoutes and otherRoutes, which
// routes registers): none answers without a valid key (401), whatever the method; a malformed,
// unknown or wrong key is refused alike; only /healthz, /readyz and the sign-in flow (the
// sign-in configuration, the password sign-in) are public; /metrics needs a key whose user may
// read metrics.
func TestAuthenticationRequired(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	bad := map[string]string{
		"none":         "",
		"malformed":    "not-a-key",
		"unknown":      "strata_aaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"wrong secret": keys["bob"][:len(keys["bob"])-4] + "aaaa",
	}
	for _, rt := range as.srv.apiRoutes() {
		method, path := routeRequest(rt.pattern)
		for name, key := range bad {
			r := as.as(key, method, path, nil)
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %s key: %d (WWW-Authenticate %q), want 401", method, path, name, r.code, r.header.Get("WWW-Authenticate"))
			}
			if st := r.status(t); st.Reason != ReasonUnauthorized {
				t.Errorf("%s %s with %s key: reason %q", method, path, name, st.Reason)
			}
		}
	}
	public := map[string]int{
		"GET /healthz": http.StatusOK, "GET /readyz": http.StatusOK, "GET " + AuthConfigPath: http.StatusOK,
		// An empty body: no credentials to check.
		"POST " + LoginPath: http.StatusBadRequest, "POST " + SessionPath: http.StatusBadRequest,
		// Without a session cookie, there is no session to end.
		"DELETE " + SessionPath: http.StatusNoContent,
		// The console's sign-in with Entra ID: offered by servers with Entra ID only; a callback
		// that was not started here sends the browser back to the sign-in page (a 302 to /).
		"GET " + EntraLoginPath: http.StatusNotFound, "GET " + EntraCallbackPath: http.StatusOK, // the sign-in page, redirect followed
		// The console's page and files hold no secret (and its folder is not listed).
		"GET /{$}": http.StatusOK, "GET " + console.AssetsPath: http.StatusNotFound,
	}
	for _, rt := range as.srv.otherRoutes() {
		method, path, _ := strings.Cut(strings.TrimSuffix(rt.pattern, "{$}"), " ")
		if want, ok := public[rt.pattern]; ok != rt.public {
			t.Errorf("%s: public %v, want %v", rt.pattern, rt.public, ok)
		} else if ok {
			if r := as.as("", method, path, nil); r.code != want {
				t.Errorf("%s without a key: %d, want %d", rt.pattern, r.code, want)
			}
			continue
		}
		if path == CanIPath {
			path += "?verb=get&kind=clusters" // without them, a 400 says what is missing
		}
		for name, key := range bad {
			if r := as.as(key, method, path, nil); r.code != http.StatusUnauthorized {
				t.Errorf("%s with %s key: %d, want 401", rt.pattern, name, r.code)
			}
		}
	}
	metrics := []struct {
		who  string
		code int
	}{{"", http.StatusUnauthorized}, {"dave", http.StatusForbidden}, {"bob", http.StatusForbidden}, {"alice", http.StatusOK}}
	for _, m := range metrics {
		if r := as.as(keys[m.who], http.MethodGet, "/metrics", nil); r.code != m.code {
			t.Errorf("GET /metrics as %q: %d, want %d", m.who, r.code, m.code)
		}
	}
}

// TestRevokedAndExpiredKeys: a revoked key is refused until re-activated; an expired one is
// refused.
func TestRevokedAndExpiredKeys(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	id := strings.SplitN(strings.TrimPrefix(keys["bob"], "strata_"), "_", 2)[0]
	path := kindPath("APIKey") + "/" + id
	setRevoked := func(revoked bool) {
		var doc map[string]any
		if err := json.Unmarshal(as.must(http.MethodGet, path, nil).body, &doc); err != nil {
			t.Fatal(err)
		}
		doc["spec"].(map[string]any)["revoked"] = revoked
		body, _ := json.Marshal(doc)
		as.must(http.MethodPut, path, body)
	}
	clusters := kindPath("Cluster")
	if r := as.as(keys["bob"], http.MethodGet, clusters, nil); r.code != http.StatusOK {
		t.Fatalf("bob's key before revocation: %d %s", r.code, r.body)
	}
	setRevoked(true)
	if r := as.as(keys["bob"], http.MethodGet, clusters, nil); r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "revoked") {
		t.Errorf("a revoked key: %d %s, want 401 saying revoked", r.code, r.body)
	}
	setRevoked(false)
	if r := as.as(keys["bob"], http.MethodGet, clusters, nil); r.code != http.StatusOK {
		t.Errorf("a re-activated key: %d %s", r.code, r.body)
	}
	token, err := Bootstrap(t.Context(), as.store, "alice", time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if r := as.as(token, http.MethodGet, clusters, nil); r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "expired") {
		t.Errorf("an expired key: %d %s, want 401 saying expired", r.code, r.body)
	}
}

// TestOwnAPIKeys: everyone makes, lists, revokes and deletes their own keys without a
// binding; another user's keys are absent to them, and making one for another user needs an
// unscoped apiKey.create (the admin's).
func TestOwnAPIKeys(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	mk := func(key, user string) *response {
		return as.as(key, http.MethodPost, kindPath("APIKey"), []byte(`{"spec":{"user":"`+user+`","expiresAt":"`+expires+`"}}`))
	}
	if r := mk(keys["dave"], "dave"); r.code != http.StatusCreated {
		t.Fatalf("dave makes his own key: %d %s", r.code, r.body)
	}
	if r := mk(keys["bob"], "alice"); r.code != http.StatusForbidden {
		t.Errorf("bob makes a key for alice: %d %s, want 403", r.code, r.body)
	}
	if r := mk(keys["alice"], "carol"); r.code != http.StatusCreated {
		t.Errorf("the admin makes a key for carol: %d %s", r.code, r.body)
	}
	users := func(key string) []string {
		var list struct {
			Items []struct{ Spec struct{ User string } }
		}
		r := as.as(key, http.MethodGet, kindPath("APIKey"), nil)
		if err := json.Unmarshal(r.body, &list); err != nil || r.code != http.StatusOK {
			t.Fatalf("list keys: %d %s", r.code, r.body)
		}
		var out []string
		for _, it := range list.Items {
			out = append(out, it.Spec.User)
		}
		return out
	}
	for _, u := range users(keys["dave"]) {
		if u != "dave" {
			t.Errorf("dave lists a key of %s", u)
		}
	}
	if n := len(users(keys["dave"])); n != 2 {
		t.Errorf("dave lists %d keys, want his 2", n)
	}
	if n := len(users(keys["alice"])); n < 6 {
		t.Errorf("the admin lists %d keys, want every key", n)
	}
	aliceKey := strings.SplitN(strings.TrimPrefix(keys["alice"], "strata_"), "_", 2)[0]
	if r := as.as(keys["dave"], http.MethodGet, kindPath("APIKey")+"/"+aliceKey, nil); r.code != http.StatusNotFound {
		t.Errorf("dave gets alice's key: %d, want 404", r.code)
	}
	if r := as.as(keys["dave"], http.MethodDelete, kindPath("APIKey")+"/"+aliceKey, nil); r.code != http.StatusNotFound {
		t.Errorf("dave deletes alice's key: %d, want 404", r.code)
	}
	daveKey := strings.SplitN(strings.TrimPrefix(keys["dave"], "strata_"), "_", 2)[0]
	if r := as.as(keys["dave"], http.MethodDelete, kindPath("APIKey")+"/"+daveKey, nil); r.code != http.StatusOK {
		t.Errorf("dave deletes his own key: %d %s", r.code, r.body)
	}
	if r := as.as(keys["dave"], http.MethodGet, kindPath("APIKey"), nil); r.code != http.StatusUnauthorized {
		t.Errorf("dave's deleted key still works: %d", r.code)
	}
}

// TestCanI: the can-i endpoint answers yes or no for the caller, with the binding that
// decided, by the same rules as the requests themselves.
func TestCanI(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	tests := []struct {
		who, query string
		allowed    bool
		binding    string
		reason     string // a part of the reason
	}{
		{"bob", "verb=update&kind=clusters&name=cl-finprod", true, "finance-editors", "filter finance"},
		{"bob", "verb=update&kind=clusters&name=cl-hrprod", false, "", "not found"},
		{"bob", "verb=delete&kind=cloudaccounts&name=acct-finprod", false, "", "no binding grants cloudAccount.delete"},
		{"bob", "verb=create&kind=clusters", true, "finance-editors", "some objects"},
		{"carol", "verb=get&kind=clusters&name=cl-hrprod", true, "prod-viewers", ""},
		{"carol", "verb=delete&kind=clusters&name=cl-hrprod", false, "", "cluster.delete"},
		{"dave", "verb=list&kind=clusters", false, "", "no binding grants cluster.list"},
		{"alice", "verb=kubeconfig-admin&kind=clusters&name=cl-none", true, "alice-admin", "every object"},
	}
	for _, tt := range tests {
		t.Run(tt.who+"?"+tt.query, func(t *testing.T) {
			r := as.as(keys[tt.who], http.MethodGet, CanIPath+"?"+tt.query, nil)
			var ans CanI
			if err := json.Unmarshal(r.body, &ans); err != nil || r.code != http.StatusOK {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if ans.Allowed != tt.allowed || ans.Binding != tt.binding || !strings.Contains(ans.Reason, tt.reason) {
				t.Errorf("got %+v, want allowed %v by %q, reason with %q", ans, tt.allowed, tt.binding, tt.reason)
			}
		})
	}
	for _, q := range []string{"verb=fly&kind=clusters", "kind=clusters", "verb=get&kind=clusters&extra=1"} {
		if r := as.as(keys["bob"], http.MethodGet, CanIPath+"?"+q, nil); r.code != http.StatusBadRequest {
			t.Errorf("can-i?%s: %d, want 400", q, r.code)
		}
	}
	if r := as.as("", http.MethodGet, CanIPath+"?verb=get&kind=clusters", nil); r.code != http.StatusUnauthorized {
		t.Errorf("can-i without a key: %d, want 401", r.code)
	}
}

// TestWhoAmI: the whoami endpoint names the key's user, its teams and the bindings that apply
// to it, and answers 401 without a key.
func TestWhoAmI(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	tests := []struct {
		key  string
		code int
		want WhoAmI
	}{
		{"", http.StatusUnauthorized, WhoAmI{}},
		{keys["bob"], http.StatusOK, WhoAmI{AccessControl: true, User: "bob", Bindings: []string{"finance-editors"}}},
		{keys["carol"], http.StatusOK, WhoAmI{AccessControl: true, User: "carol", Teams: []string{"viewers"}, Bindings: []string{"prod-viewers"}}},
		{keys["dave"], http.StatusOK, WhoAmI{AccessControl: true, User: "dave"}},
	}
	for _, tt := range tests {
		r := as.as(tt.key, http.MethodGet, WhoAmIPath, nil)
		if r.code != tt.code {
			t.Fatalf("whoami: %d, want %d: %s", r.code, tt.code, r.body)
		}
		if tt.code != http.StatusOK {
			continue
		}
		var got WhoAmI
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("whoami: %+v, want %+v", got, tt.want)
		}
	}
}
