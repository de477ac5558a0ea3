package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// auditSecret is the client secret of the account the audit test creates: no record, and no
// byte of the database, may hold it.
const auditSecret = "audit-Client-Secret-5f3e9a1c"

// wantAudit is a record the audit test expects; reason is a part of the record's reason.
type wantAudit struct {
	user, verb, kind, key, method string
	code                          int
	result, reason                string
	dryRun                        bool
}

// auditList reads GET AuditPath?query as the key's user.
func (as *accessServer) auditList(key, query string) (AuditList, *response) {
	as.t.Helper()
	r := as.as(key, http.MethodGet, AuditPath+"?"+query, nil)
	var out AuditList
	if r.code == http.StatusOK {
		if err := json.Unmarshal(r.body, &out); err != nil {
			as.t.Fatalf("decode the audit trail: %v: %s", err, r.body)
		}
	}
	return out, r
}

// auditScenario makes the requests whose records the audit test checks, after those of the
// matrix's set-up, and returns what it expects of them, oldest first, and the tokens used.
func auditScenario(t *testing.T, as *accessServer, keys map[string]string) ([]wantAudit, []string) {
	t.Helper()
	made, tokens := auditRequests(t, as, keys)
	return []wantAudit{
		{"bob", "create", "Cluster", "cl-audit", "POST", 201, "allowed", "", false},
		{"bob", "create", "Cluster", "cl-dry", "POST", 200, "allowed", "", true},
		{"carol", "update", "Cluster", "cl-hrprod", "PUT", 403, "denied", "no binding grants cluster.update", false},
		{"bob", "kubeconfig", "Cluster", "cl-finprod", "GET", 409, "failed", ReasonNotReady, false},
		{"alice", "kubeconfig-admin", "Cluster", "cl-finprod", "GET", 409, "failed", ReasonNotReady, false},
		{"", "list", "Cluster", "", "GET", 401, "denied", "no credentials", false},
		{"", "list", "Cluster", "", "GET", 401, "denied", apikey.ErrMismatch.Error(), false},
		{"dave", "list", "Cluster", "", "GET", 403, "denied", "list clusters", false},
		{"alice", "create", "Cluster", "cl-applied", "PUT", 201, "allowed", ApplyCreated, false},
		{"alice", "update", "Cluster", "cl-applied", "PUT", 200, "allowed", ApplyUnchanged, false},
		{"alice", "create", "CloudAccount", "acct-secret", "POST", 201, "allowed", "", false},
		{"bob", "delete", "Cluster", "cl-audit", "DELETE", 200, "allowed", "", false},
		{"alice", "delete", "Cluster", "cl-missing", "DELETE", 404, "failed", ReasonNotFound, false},
		{"bob", "create", v1alpha1.KindAPIKey, made, "POST", 201, "allowed", "", false},
		{"bob", "list", "", "", "GET", 403, "denied", "audit.list", false},
		{"", "list", "", "", "GET", 401, "denied", "no credentials", false},
	}, tokens
}

// auditRequests makes auditScenario's requests, each checked for its code, and returns the id
// of the API key bob makes and every token used.
func auditRequests(t *testing.T, as *accessServer, keys map[string]string) (string, []string) {
	t.Helper()
	alice, bob, carol, dave := keys["alice"], keys["bob"], keys["carol"], keys["dave"]
	mkCluster := func(name string) []byte {
		return encode(t, matrixKinds[0].make(name, map[string]string{"department": "finance"}))
	}
	clusters := kindPath(v1alpha1.KindCluster)
	wrong := bob[:len(bob)-4] + "aaaa"
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	requests := []struct {
		key, method, path string
		body              []byte
		code              int
	}{
		{bob, http.MethodPost, clusters, mkCluster("cl-audit"), http.StatusCreated},
		{bob, http.MethodPost, clusters + "?dryRun=true", mkCluster("cl-dry"), http.StatusOK},
		{carol, http.MethodPut, clusters + "/cl-hrprod", encode(t, matrixKinds[0].make("cl-hrprod", map[string]string{"department": "hr", "env": "prod"})), http.StatusForbidden},
		{bob, http.MethodGet, clusters + "/cl-finprod/kubeconfig", nil, http.StatusConflict},
		{alice, http.MethodGet, clusters + "/cl-finprod/kubeconfig?admin=true", nil, http.StatusConflict},
		{"", http.MethodGet, clusters, nil, http.StatusUnauthorized},
		{wrong, http.MethodGet, clusters, nil, http.StatusUnauthorized},
		// Reads that succeed are not recorded.
		{bob, http.MethodGet, clusters + "/cl-finprod", nil, http.StatusOK},
		{bob, http.MethodGet, clusters, nil, http.StatusOK},
		{bob, http.MethodGet, clusters + "/cl-finprod/events", nil, http.StatusOK},
		{dave, http.MethodGet, clusters, nil, http.StatusForbidden},
		{alice, http.MethodPut, clusters + "/cl-applied", mkCluster("cl-applied"), http.StatusCreated},
		{alice, http.MethodPut, clusters + "/cl-applied", mkCluster("cl-applied"), http.StatusOK},
		{alice, http.MethodPost, kindPath(v1alpha1.KindCloudAccount), encode(t, account("acct-secret", "gw-finprod", auditSecret)), http.StatusCreated},
		{bob, http.MethodDelete, clusters + "/cl-audit", nil, http.StatusOK},
		// A query string is never recorded, whatever it holds.
		{alice, http.MethodDelete, clusters + "/cl-missing?note=" + url.QueryEscape(auditSecret), nil, http.StatusNotFound},
		{bob, http.MethodPost, kindPath(v1alpha1.KindAPIKey), []byte(`{"spec":{"user":"bob","expiresAt":"` + expires + `"}}`), http.StatusCreated},
		{bob, http.MethodGet, AuditPath, nil, http.StatusForbidden},
		{"", http.MethodGet, AuditPath, nil, http.StatusUnauthorized},
	}
	var made APIKeyCreated
	for _, rq := range requests {
		r := as.as(rq.key, rq.method, rq.path, rq.body)
		if r.code != rq.code {
			t.Fatalf("%s %s: %d %s, want %d", rq.method, rq.path, r.code, r.body, rq.code)
		}
		if rq.path == kindPath(v1alpha1.KindAPIKey) {
			if err := json.Unmarshal(r.body, &made); err != nil {
				t.Fatal(err)
			}
		}
	}
	return made.APIKey.Metadata.Name, []string{alice, bob, carol, dave, wrong, made.Token}
}

// checkAuditRecords compares the records after the set-up's, oldest first, with want.
func checkAuditRecords(t *testing.T, got []store.AuditRecord, want []wantAudit, since time.Time) {
	t.Helper()
	if len(got) != len(want) {
		var lines []string
		for _, r := range got {
			lines = append(lines, r.User+" "+r.Verb+" "+r.Kind+" "+r.Key+" "+r.Method+" "+r.Path)
		}
		t.Fatalf("%d records, want %d:\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		g := got[i]
		ok := g.User == w.user && g.Verb == w.verb && g.Kind == w.kind && g.Key == w.key && g.Method == w.method &&
			g.Code == w.code && g.Result == w.result && strings.Contains(g.Reason, w.reason) && g.DryRun == w.dryRun &&
			g.SourceIP == "127.0.0.1" && strings.HasPrefix(g.Path, APIPath+"/") && !strings.Contains(g.Path, "?") &&
			!g.Time.Before(since.Add(-time.Second)) && g.Time.Location() == time.UTC
		if !ok {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// TestAuditTrail makes requests on a server with access control, on SQLite and PostgreSQL:
// writes allowed, refused and failed, dry runs, kubeconfigs, requests without a valid key, and
// reads that go unrecorded; the trail holds one record for each audited request, as expected,
// and no part of a token or a secret, in its records or in the database file.
func TestAuditTrail(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			var dbPath string
			st := ts.open(t)
			if ts.name == "sqlite" {
				dbPath = filepath.Join(t.TempDir(), "strata.db")
				st = openSQLiteAt(t, dbPath)
			}
			as := newAccessServer(t, st)
			keys := setUpMatrix(t, as)
			before, _ := as.auditList(as.admin, "limit=1")
			if len(before.Items) != 1 || before.Items[0].User != "alice" || before.Items[0].Verb != "create" {
				t.Fatalf("the set-up's last record: %+v, want alice's creation of a key", before.Items)
			}
			start := time.Now()
			want, tokens := auditScenario(t, as, keys)

			trail, r := as.auditList(as.admin, "limit=5000")
			if r.code != http.StatusOK || trail.Continue != "" {
				t.Fatalf("the trail as the admin: %d %s", r.code, r.body)
			}
			var got []store.AuditRecord
			for _, rec := range trail.Items {
				if rec.ID > before.Items[0].ID {
					got = append(got, rec)
				}
			}
			slices.Reverse(got)
			checkAuditRecords(t, got, want, start)
			checkNoSecret(t, "the trail's records", r.body, tokens)
			if dbPath != "" {
				checkNoSecret(t, "the database files", dbFiles(t, dbPath), tokens)
			}
		})
	}
}

// checkNoSecret fails unless data holds neither the account's secret, nor a token, nor a
// token's secret.
func checkNoSecret(t *testing.T, what string, data []byte, tokens []string) {
	t.Helper()
	if !bytes.Contains(data, []byte("cl-hrprod")) {
		t.Fatalf("%s do not hold the records' data: the scan proves nothing", what)
	}
	needles := []string{auditSecret}
	for _, tok := range tokens {
		needles = append(needles, tok)
		if _, secret, err := apikey.Parse(tok); err == nil {
			needles = append(needles, secret)
		}
	}
	for _, n := range needles {
		if bytes.Contains(data, []byte(n)) {
			t.Errorf("%s hold %q", what, n)
		}
	}
}

// openSQLiteAt opens a store in the SQLite file at path, closed when the test ends.
func openSQLiteAt(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, testSealer(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// dbFiles returns the bytes of a SQLite database's files, its WAL included.
func dbFiles(t *testing.T, path string) []byte {
	t.Helper()
	var out []byte
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data...)
	}
	return out
}

// TestAuditTrailFilters reads the trail through its query parameters: each filter keeps its
// records, pages cover the trail once, and bad parameters are refused.
func TestAuditTrailFilters(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	auditScenario(t, as, keys)
	all, _ := as.auditList(as.admin, "limit=5000")
	keep := func(match func(store.AuditRecord) bool) []int64 {
		var ids []int64
		for _, r := range all.Items {
			if match(r) {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	mid := url.QueryEscape(all.Items[len(all.Items)/2].Time.Format(time.RFC3339Nano))
	midTime := all.Items[len(all.Items)/2].Time
	tests := []struct {
		query string
		match func(store.AuditRecord) bool
	}{
		{"user=bob", func(r store.AuditRecord) bool { return r.User == "bob" }},
		{"kind=clusters", func(r store.AuditRecord) bool { return r.Kind == v1alpha1.KindCluster }},
		{"kind=CloudAccount", func(r store.AuditRecord) bool { return r.Kind == v1alpha1.KindCloudAccount }},
		{"key=cl-audit", func(r store.AuditRecord) bool { return r.Key == "cl-audit" }},
		{"verb=kubeconfig", func(r store.AuditRecord) bool { return r.Verb == "kubeconfig" }},
		{"result=denied", func(r store.AuditRecord) bool { return r.Result == store.AuditDenied }},
		{"result=failed&user=alice", func(r store.AuditRecord) bool { return r.Result == store.AuditFailed && r.User == "alice" }},
		{"since=" + mid, func(r store.AuditRecord) bool { return !r.Time.Before(midTime) }},
		{"until=" + mid, func(r store.AuditRecord) bool { return r.Time.Before(midTime) }},
	}
	for _, tc := range tests {
		want := keep(tc.match)
		if len(want) == 0 || len(want) == len(all.Items) {
			t.Fatalf("%s keeps %d of %d records: the test proves nothing", tc.query, len(want), len(all.Items))
		}
		got, r := as.auditList(as.admin, tc.query)
		var ids []int64
		for _, rec := range got.Items {
			ids = append(ids, rec.ID)
		}
		if r.code != http.StatusOK || !slices.Equal(ids, want) {
			t.Errorf("%s: %d, records %v, want %v", tc.query, r.code, ids, want)
		}
	}
	if paged, want := auditPages(t, as, "user=alice&limit=7"), keep(func(r store.AuditRecord) bool { return r.User == "alice" }); !slices.Equal(paged, want) {
		t.Errorf("alice's records in pages of 7: %v, want %v", paged, want)
	}
}

// auditPages reads every page of the trail for query and returns the records' IDs.
func auditPages(t *testing.T, as *accessServer, query string) []int64 {
	t.Helper()
	var ids []int64
	next := query
	for pages := 0; ; pages++ {
		page, r := as.auditList(as.admin, next)
		if r.code != http.StatusOK || pages > 1000 {
			t.Fatalf("%s: %d %s", next, r.code, r.body)
		}
		for _, rec := range page.Items {
			ids = append(ids, rec.ID)
		}
		if page.Continue == "" {
			return ids
		}
		next = query + "&continue=" + page.Continue
	}
}

// TestAuditTrailBadQueries: bad parameters are a 400; another method than GET is a write to
// an unknown resource type, recorded as such.
func TestAuditTrailBadQueries(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	for _, bad := range []string{"result=maybe", "since=yesterday", "until=1h", "limit=-1", "limit=x", "continue=x",
		"kind=nothing", "name=x", "user=a&user=b"} {
		if _, r := as.auditList(as.admin, bad); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, r.code, r.body)
		}
	}
	if r := as.as(as.admin, http.MethodPost, AuditPath, []byte("{}")); r.code != http.StatusNotFound {
		t.Errorf("POST %s: %d, want 404", AuditPath, r.code)
	}
	if last, _ := as.auditList(as.admin, "limit=1"); len(last.Items) != 1 || last.Items[0].Method != http.MethodPost ||
		last.Items[0].Path != AuditPath || last.Items[0].Result != store.AuditFailed {
		t.Errorf("POST %s recorded as %+v", AuditPath, last.Items)
	}
}

// TestAuditTrailPermission: the trail needs audit.list from a binding without a filter; a
// binding with a filter is not enough, and without access control anyone reads it.
func TestAuditTrailPermission(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	for _, d := range []string{
		`{"apiVersion":"strata.dev/v1alpha1","kind":"Role","metadata":{"name":"auditor"},"spec":{"permissions":["audit.list"]}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"RoleBinding","metadata":{"name":"carol-auditor"},"spec":{"subject":{"user":"carol"},"role":"auditor"}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"RoleBinding","metadata":{"name":"dave-finance-auditor"},"spec":{"subject":{"user":"dave"},"role":"auditor","filter":"finance"}}`,
	} {
		var head struct{ Kind string }
		_ = json.Unmarshal([]byte(d), &head)
		as.must(http.MethodPost, kindPath(head.Kind), []byte(d))
	}
	for who, want := range map[string]int{"alice": 200, "carol": 200, "bob": 403, "dave": 403, "": 401} {
		if _, r := as.auditList(keys[who], ""); r.code != want {
			t.Errorf("the trail as %q: %d %s, want %d", who, r.code, r.body, want)
		}
	}
	// /metrics refused is recorded too.
	if r := as.as(keys["bob"], http.MethodGet, "/metrics", nil); r.code != http.StatusForbidden {
		t.Fatalf("/metrics as bob: %d", r.code)
	}
	if last, _ := as.auditList(as.admin, "limit=1"); len(last.Items) != 1 || last.Items[0].Path != "/metrics" ||
		last.Items[0].User != "bob" || last.Items[0].Result != store.AuditDenied || last.Items[0].Verb != "get" {
		t.Errorf("/metrics refused to bob recorded as %+v", last.Items)
	}

	open := newTestServer(t)
	open.create(gateway("gw"))
	r := open.do(http.MethodGet, AuditPath, nil, "")
	var trail AuditList
	if err := json.Unmarshal(r.body, &trail); r.code != http.StatusOK || err != nil || len(trail.Items) != 1 {
		t.Fatalf("the trail without access control: %d %s", r.code, r.body)
	}
	if rec := trail.Items[0]; rec.User != "" || rec.Verb != "create" || rec.Key != "gw" || rec.Result != store.AuditAllowed {
		t.Errorf("a create without access control: %+v, want it recorded without a user", rec)
	}
}

// failingAudit is a store whose audit trail cannot be written.
type failingAudit struct{ store.Store }

func (failingAudit) RecordAudit(context.Context, store.AuditRecord) error {
	return errors.New("the audit table is gone")
}

// TestAuditFailureDoesNotFailRequests: a record that cannot be written is logged, and the
// request answered as if it had been.
func TestAuditFailureDoesNotFailRequests(t *testing.T) {
	ts := newTestServerOn(t, failingAudit{openSQLite(t)})
	ts.create(gateway("gw"))
	if !strings.Contains(ts.logs.String(), "the audit table is gone") {
		t.Errorf("the failure to record is not logged:\n%s", ts.logs)
	}
}
