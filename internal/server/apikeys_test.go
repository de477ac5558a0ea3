package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// keyUser is a user who may hold API keys.
func keyUser(name string, disabled bool) *v1alpha1.User {
	u := v1alpha1.New(v1alpha1.KindUser).(*v1alpha1.User)
	u.Metadata.Name = name
	u.Spec.Disabled = disabled
	return u
}

// createdKey is the decoded answer of POST /apikeys.
type createdKey struct {
	APIKey *v1alpha1.APIKey `json:"apiKey"`
	Token  string           `json:"token"`
}

// makeKey POSTs a key's spec and fails the test unless it gets 201.
func (ts *testServer) makeKey(user, description string, expires time.Time) createdKey {
	ts.t.Helper()
	body := fmt.Sprintf(`{"spec": {"user": %q, "description": %q, "expiresAt": %q}}`, user, description, expires.UTC().Format(time.RFC3339))
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindAPIKey), []byte(body), "application/json")
	if r.code != http.StatusCreated {
		ts.t.Fatalf("make a key for %s: %d %s", user, r.code, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		ts.t.Errorf("Cache-Control of a new key = %q, want no-store", cc)
	}
	var out createdKey
	if err := json.Unmarshal(r.body, &out); err != nil || out.APIKey == nil {
		ts.t.Fatalf("decode the new key from %s: %v", r.body, err)
	}
	return out
}

// storedKey reads a key from the store.
func (ts *testServer) storedKey(id string) *v1alpha1.APIKey {
	ts.t.Helper()
	obj, err := ts.store.Get(context.Background(), v1alpha1.KindAPIKey, id)
	if err != nil {
		ts.t.Fatalf("get key %s: %v", id, err)
	}
	return obj.(*v1alpha1.APIKey)
}

// wantKeyErr checks keyPrincipal's answer to token at now.
func (ts *testServer) wantKeyErr(what, token string, now time.Time, want error) {
	ts.t.Helper()
	user, err := ts.srv.keyPrincipal(context.Background(), token, now)
	switch {
	case want == nil && err != nil:
		ts.t.Errorf("%s: refused: %v", what, err)
	case want != nil && !errors.Is(err, want):
		ts.t.Errorf("%s: user %q, error %v; want %v", what, user, err, want)
	case want != nil && user != "":
		ts.t.Errorf("%s: user %q returned with the error", what, user)
	}
}

// TestAPIKeys makes a key over the real API and follows it through its life: shown once, the
// hash alone kept and sealed (the database file is scanned for the token, its secret and the
// hash), authenticated by keyPrincipal until it expires, refused with a wrong secret, revoked
// and re-activated by apply, its last use written at most once a minute, its user kept while
// it exists, its hash deleted with it. It runs on SQLite, whose file it scans, and on
// PostgreSQL.
func TestAPIKeys(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "strata.db")
		st, err := sqlite.Open(context.Background(), dbPath, testSealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		testAPIKeyLife(t, st, dbPath)
	})
	t.Run("postgres", func(t *testing.T) { testAPIKeyLife(t, openPostgres(t, testSealer(t)), "") })
}

// testAPIKeyLife is TestAPIKeys on st; dbPath, when set, is the SQLite file to scan.
func testAPIKeyLife(t *testing.T, st store.Store, dbPath string) {
	ts := newTestServerOn(t, st)
	ctx := context.Background()
	for _, u := range []*v1alpha1.User{keyUser("alice", false), keyUser("bob", true)} {
		if r := ts.apply(u, ""); r.code != http.StatusCreated {
			t.Fatalf("apply user %s: %d %s", u.Metadata.Name, r.code, r.body)
		}
	}

	start := time.Now()
	made := ts.makeKey("alice", "CI pipeline", start.Add(24*time.Hour))
	k := made.APIKey
	id, secret, err := apikey.Parse(made.Token)
	if err != nil || id != k.Metadata.Name || !v1alpha1.IsAPIKeyID(id) {
		t.Fatalf("token %q does not fit key %q: %v", made.Token, k.Metadata.Name, err)
	}
	sum := sha256.Sum256([]byte(secret))
	hash := hex.EncodeToString(sum[:])
	if k.Spec.User != "alice" || k.Spec.Description != "CI pipeline" || k.Spec.Revoked || k.Metadata.Generation != 1 || k.Status.LastUsed != nil {
		t.Errorf("new key: %+v %+v", k.Spec, k.Status)
	}
	if got, want := k.Spec.ExpiresAt, start.Add(24*time.Hour).UTC().Truncate(time.Second); !got.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", got, want)
	}
	if got := ts.events(v1alpha1.KindAPIKey, id); len(got) != 1 || got[0] != EventAPIKeyCreated {
		t.Errorf("events of a new key: %v", got)
	}
	stored, err := st.GetSecret(ctx, apiKeySecretName(id))
	if err != nil || string(stored) != hash {
		t.Fatalf("secret %s = %q, %v; want the hash", apiKeySecretName(id), stored, err)
	}

	// keyPrincipal: the token works; a wrong secret, another id, a malformed token do not.
	now := start.Add(time.Minute)
	if user, err := ts.srv.keyPrincipal(ctx, made.Token, now); err != nil || user != "alice" {
		t.Fatalf("keyPrincipal = %q, %v; want alice", user, err)
	}
	other, _, _ := apikey.New(nil, now)
	otherID, otherSecret, _ := apikey.Parse(other)
	ts.wantKeyErr("wrong secret", apikey.Prefix+id+"_"+otherSecret, now, apikey.ErrMismatch)
	ts.wantKeyErr("unknown id", apikey.Prefix+otherID+"_"+secret, now, apikey.ErrMismatch)
	ts.wantKeyErr("id that is not one", apikey.Prefix+"Not-An-Id_"+secret, now, apikey.ErrMismatch)
	ts.wantKeyErr("malformed", "Bearer "+made.Token, now, apikey.ErrMalformed)
	ts.wantKeyErr("expired", made.Token, k.Spec.ExpiresAt, apikey.ErrExpired)
	ts.wantKeyErr("long expired", made.Token, k.Spec.ExpiresAt.Add(24*time.Hour), apikey.ErrExpired)

	// The use is written once, then not again within the minute, then again.
	used := ts.storedKey(id)
	if used.Status.LastUsed == nil || !used.Status.LastUsed.Equal(now.UTC().Truncate(time.Second)) || used.Metadata.Generation != 1 {
		t.Fatalf("after a use: lastUsed %v, generation %d; want %v and 1", used.Status.LastUsed, used.Metadata.Generation, now)
	}
	ts.wantKeyErr("used 30 s later", made.Token, now.Add(30*time.Second), nil)
	if again := ts.storedKey(id); again.Metadata.ResourceVersion != used.Metadata.ResourceVersion {
		t.Errorf("a use within the minute was written: resourceVersion %s, then %s", used.Metadata.ResourceVersion, again.Metadata.ResourceVersion)
	}
	later := now.Add(61 * time.Second)
	ts.wantKeyErr("used a minute later", made.Token, later, nil)
	if again := ts.storedKey(id); again.Status.LastUsed == nil || !again.Status.LastUsed.Equal(later.UTC().Truncate(time.Second)) || again.Metadata.Generation != 1 {
		t.Errorf("after a use a minute later: lastUsed %v, generation %d", again.Status.LastUsed, again.Metadata.Generation)
	}

	// Apply revokes and re-activates, and changes the description; not the user nor the expiry.
	cur := ts.get(v1alpha1.KindAPIKey, id, http.StatusOK).object(t, v1alpha1.KindAPIKey).(*v1alpha1.APIKey)
	cur.Metadata.ResourceVersion = ""
	cur.Spec.Revoked = true
	if r := ts.apply(cur, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	ts.wantKeyErr("revoked", made.Token, later, apikey.ErrRevoked)
	ts.wantKeyErr("revoked, with a wrong secret", apikey.Prefix+id+"_"+otherSecret, later, apikey.ErrMismatch)
	cur.Spec.Revoked, cur.Spec.Description = false, "CI pipeline, again"
	if r := ts.apply(cur, ""); r.code != http.StatusOK {
		t.Fatalf("re-activate: %d %s", r.code, r.body)
	}
	ts.wantKeyErr("re-activated", made.Token, later, nil)
	if got := ts.storedKey(id); got.Status.LastUsed == nil || got.Spec.Description != "CI pipeline, again" {
		t.Errorf("after the applies: %+v %+v", got.Spec, got.Status)
	}
	changed := *cur
	changed.Spec.User, changed.Spec.ExpiresAt = "bob", cur.Spec.ExpiresAt.Add(time.Hour)
	r := ts.apply(&changed, "")
	if st := r.status(t); r.code != http.StatusUnprocessableEntity || len(st.Errors) != 2 ||
		!hasError(st, "spec.user", v1alpha1.RuleImmutable) || !hasError(st, "spec.expiresAt", v1alpha1.RuleImmutable) {
		t.Errorf("apply of another user and expiry: %d %s", r.code, r.body)
	}

	// A disabled user's key is refused, after its secret is checked.
	alice := keyUser("alice", true)
	ts.apply(alice, "")
	ts.wantKeyErr("user disabled", made.Token, later, ErrUserDisabled)
	ts.wantKeyErr("user disabled, wrong secret", apikey.Prefix+id+"_"+otherSecret, later, apikey.ErrMismatch)
	alice.Spec.Disabled = false
	ts.apply(alice, "")
	ts.wantKeyErr("user enabled again", made.Token, later, nil)

	// The user cannot go while the key refers to it.
	r = ts.do(http.MethodDelete, kindPath(v1alpha1.KindUser)+"/alice", nil, "")
	if st := r.status(t); r.code != http.StatusConflict || st.Reason != ReasonInUse {
		t.Fatalf("delete the key's user: %d %s", r.code, r.body)
	}
	mustContain(t, "message", r.status(t).Message, `is in use by APIKey "`+id+`"`)

	// Nothing but the answer of the creation ever held the token; nothing held the hash.
	ts.get(v1alpha1.KindAPIKey, id, http.StatusOK)
	ts.do(http.MethodGet, kindPath(v1alpha1.KindAPIKey), nil, "")
	ts.do(http.MethodGet, kindPath(v1alpha1.KindAPIKey)+"/"+id+"/events", nil, "")
	ts.mu.Lock()
	bodies := ts.bodies
	ts.mu.Unlock()
	holding := 0
	for _, b := range bodies {
		if strings.Contains(b, secret) {
			holding++
		}
		if strings.Contains(b, hash) {
			t.Errorf("a response holds the hash: %s", b)
		}
	}
	if holding != 1 {
		t.Errorf("%d responses hold the secret, want the creation's alone", holding)
	}
	for _, s := range []string{made.Token, secret, hash} {
		if strings.Contains(ts.logs.String(), s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	if dbPath != "" {
		db := databaseBytes(t, dbPath)
		for what, s := range map[string]string{"token": made.Token, "secret": secret, "hash": hash, "hash (upper case)": strings.ToUpper(hash)} {
			if bytes.Contains(db, []byte(s)) {
				t.Errorf("the database files hold the key's %s", what)
			}
		}
		if bytes.Contains(db, sum[:]) {
			t.Errorf("the database files hold the hash's bytes")
		}
		if !bytes.Contains(db, []byte(id)) {
			t.Errorf("the database files do not hold the key's id: the scan reads nothing")
		}
	}

	// Deleting the key deletes its hash; then the user can go.
	if r := ts.do(http.MethodDelete, kindPath(v1alpha1.KindAPIKey)+"/"+id, nil, ""); r.code != http.StatusOK {
		t.Fatalf("delete the key: %d %s", r.code, r.body)
	}
	if _, err := st.GetSecret(ctx, apiKeySecretName(id)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the hash of a deleted key: %v, want not found", err)
	}
	ts.wantKeyErr("deleted", made.Token, later, apikey.ErrMismatch)
	if r := ts.do(http.MethodDelete, kindPath(v1alpha1.KindUser)+"/alice", nil, ""); r.code != http.StatusOK {
		t.Errorf("delete the user without keys: %d %s", r.code, r.body)
	}
}

// databaseBytes reads a SQLite database's files: the main file, its WAL and shared memory.
func databaseBytes(t *testing.T, path string) []byte {
	t.Helper()
	var out []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data...)
	}
	return out
}

// TestAPIKeyCreation checks what POST /apikeys refuses (a name, no or a too distant expiry, a
// user that does not exist) and accepts (a body of a spec alone, in JSON or YAML; a dry run
// without a token), and that apply makes no key.
func TestAPIKeyCreation(t *testing.T) {
	ts := newTestServer(t)
	ts.apply(keyUser("alice", false), "")
	in := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	path := kindPath(v1alpha1.KindAPIKey)
	tests := []struct {
		name, body, contentType string
		code                    int
		errors                  []string
	}{
		{"a name", `{"apiVersion":"strata.dev/v1alpha1","kind":"APIKey","metadata":{"name":"abcdefghijk23456"},"spec":{"user":"alice","expiresAt":"` + in(time.Hour) + `"}}`,
			"application/json", 422, []string{"metadata.name forbidden"}},
		{"no expiry", `{"spec":{"user":"alice"}}`, "application/json", 422, []string{"spec.expiresAt required"}},
		{"an expiry beyond the maximum", `{"spec":{"user":"alice","expiresAt":"` + in(MaxAPIKeyLifetime+time.Hour) + `"}}`, "", 422, []string{"spec.expiresAt range"}},
		{"an expiry past", `{"spec":{"user":"alice","expiresAt":"` + in(-time.Hour) + `"}}`, "", 422, []string{"spec.expiresAt range"}},
		{"a user that does not exist, and a past expiry", `{"spec":{"user":"nobody","expiresAt":"` + in(-time.Hour) + `"}}`, "", 422,
			[]string{"spec.user not-found", "spec.expiresAt range"}},
		{"an expiry that is not a time", `{"spec":{"user":"alice","expiresAt":"tomorrow"}}`, "", 400, []string{"spec.expiresAt format"}},
		{"a secret", `{"spec":{"user":"alice","expiresAt":"` + in(time.Hour) + `","hash":"00"}}`, "", 400, []string{"spec.hash unknown-field"}},
		{"another kind", `{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"x"}}`, "", 400, []string{"kind mismatch"}},
		{"a spec alone", `{"spec":{"user":"alice","expiresAt":"` + in(time.Hour) + `"}}`, "application/json", 201, nil},
		{"a spec alone in YAML", "spec:\n  user: alice\n  expiresAt: " + in(time.Hour) + "\n", "application/yaml", 201, nil},
		{"a whole object without a name", "apiVersion: strata.dev/v1alpha1\nkind: APIKey\nmetadata: {labels: {team: ci}}\nspec:\n  user: alice\n  expiresAt: " + in(time.Hour) + "\n",
			"application/yaml", 201, nil},
		{"the longest expiry", `{"spec":{"user":"alice","expiresAt":"` + in(MaxAPIKeyLifetime-time.Minute) + `"}}`, "", 201, nil},
	}
	made := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(http.MethodPost, path, []byte(tc.body), tc.contentType)
			if r.code != tc.code {
				t.Fatalf("%d %s, want %d", r.code, r.body, tc.code)
			}
			if tc.code != http.StatusCreated {
				var got []string
				for _, e := range r.status(t).Errors {
					got = append(got, e.Field+" "+string(e.Rule))
				}
				if strings.Join(got, ";") != strings.Join(tc.errors, ";") {
					t.Errorf("errors %q, want %q", got, tc.errors)
				}
				return
			}
			made++
			var out createdKey
			if err := json.Unmarshal(r.body, &out); err != nil || out.Token == "" || !v1alpha1.IsAPIKeyID(out.APIKey.Metadata.Name) {
				t.Errorf("answer %s: %v", r.body, err)
			}
		})
	}
	if got := listNames(t, ts, v1alpha1.KindAPIKey); len(got) != made {
		t.Errorf("%d keys stored, want %d", len(got), made)
	}

	r := ts.do(http.MethodPost, path+"?dryRun=true", []byte(`{"spec":{"user":"alice","expiresAt":"`+in(time.Hour)+`"}}`), "")
	var dry createdKey
	if err := json.Unmarshal(r.body, &dry); r.code != http.StatusOK || err != nil || dry.Token != "" || dry.APIKey == nil {
		t.Errorf("dry run: %d %s", r.code, r.body)
	}
	if got := listNames(t, ts, v1alpha1.KindAPIKey); len(got) != made {
		t.Errorf("a dry run stored a key: %v", got)
	}

	// Apply makes no key, dry run or not: the server names it and makes its secret.
	k := v1alpha1.New(v1alpha1.KindAPIKey).(*v1alpha1.APIKey)
	k.Metadata.Name = "abcdefghijk23456"
	k.Spec = v1alpha1.APIKeySpec{User: "alice", ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	for _, q := range []string{"", "?dryRun=true"} {
		r := ts.apply(k, q)
		if st := r.status(t); r.code != http.StatusConflict || !strings.Contains(st.Message, "POST "+APIPath+"/apikeys") {
			t.Errorf("apply%s of a key that does not exist: %d %s", q, r.code, r.body)
		}
	}
	ts.get(v1alpha1.KindAPIKey, k.Metadata.Name, http.StatusNotFound)
}

// TestAPIKeyRoute checks the route of key creation as routes() registers it beside the generic
// POST /{plural}: the more specific pattern serves POST /apikeys.
func TestAPIKeyRoute(t *testing.T) {
	st := openSQLite(t)
	srv := New(Config{Store: st})
	// The patterns of routes() that also match the path do not conflict with it.
	routes := http.NewServeMux()
	routes.HandleFunc("POST "+APIPath+"/{plural}", srv.api(authz.VerbCreate, srv.create))
	routes.HandleFunc(APIPath+"/{plural}", srv.api("", methodNotAllowed("GET, POST")))
	routes.HandleFunc("POST "+APIPath+"/apikeys", srv.createAPIKey)
	if _, pattern := routes.Handler(httptest.NewRequest(http.MethodPost, APIPath+"/apikeys", nil)); pattern != "POST "+APIPath+"/apikeys" {
		t.Errorf("POST /apikeys is served by %q", pattern)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+APIPath+"/apikeys", srv.createAPIKey)
	mux.Handle("/", srv.Handler())
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ts := &testServer{t: t, srv: srv, store: st, url: hs.URL, logs: &syncBuffer{}}
	ts.apply(keyUser("alice", false), "")
	made := ts.makeKey("alice", "", time.Now().Add(time.Hour))
	if user, err := srv.keyPrincipal(t.Context(), made.Token, time.Now()); err != nil || user != "alice" {
		t.Errorf("keyPrincipal = %q, %v", user, err)
	}
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindAPIKey), []byte(`{"spec":{"user":"alice"}}`), "")
	if st := r.status(t); r.code != http.StatusUnprocessableEntity || !hasError(st, "spec.expiresAt", v1alpha1.RuleRequired) {
		t.Errorf("no expiry through the route: %d %s", r.code, r.body)
	}
}
