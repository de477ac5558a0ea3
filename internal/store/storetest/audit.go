package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// auditBase is the time of the suite's first audit record.
var auditBase = time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)

// auditSample is the records the audit tests record, oldest first: each filter keeps a few.
func auditSample() []store.AuditRecord {
	rec := func(min int, user, verb, kind, key string, code int, result string) store.AuditRecord {
		method := map[string]string{"create": "POST", "update": "PUT", "delete": "DELETE"}[verb]
		if method == "" {
			method = "GET"
		}
		path := "/api/v1alpha1/" + strings.ToLower(kind) + "s"
		if key != "" {
			path += "/" + key
		}
		return store.AuditRecord{Time: auditBase.Add(time.Duration(min) * time.Minute), User: user, Verb: verb, Kind: kind,
			Key: key, Method: method, Path: path, SourceIP: "192.0.2." + strconv.Itoa(min), Code: code, Result: result}
	}
	out := []store.AuditRecord{
		rec(0, "alice", "create", "Cluster", "web", 201, store.AuditAllowed),
		rec(1, "bob", "update", "Cluster", "web", 403, store.AuditDenied),
		rec(2, "", "list", "Cluster", "", 401, store.AuditDenied),
		rec(3, "alice", "kubeconfig", "Cluster", "web", 200, store.AuditAllowed),
		rec(4, "bob", "create", "CloudAccount", "azure", 422, store.AuditFailed),
		rec(5, "alice", "delete", "Cluster", "db", 200, store.AuditAllowed),
		rec(6, "carol", "update", "ClusterProfile", "base@1.0.0", 200, store.AuditAllowed),
		rec(7, "bob", "kubeconfig-admin", "Cluster", "db", 403, store.AuditDenied),
	}
	out[1].Reason = `Cluster "web": no binding grants cluster.update`
	out[6].DryRun, out[6].Reason = true, "configured"
	return out
}

func mustRecordAudit(t *testing.T, s store.Store, rec store.AuditRecord) {
	t.Helper()
	if err := s.RecordAudit(ctx(t), rec); err != nil {
		t.Fatalf("record audit %+v: %v", rec, err)
	}
}

func mustListAudit(t *testing.T, s store.Store, q store.AuditQuery) store.AuditPage {
	t.Helper()
	page, err := s.ListAudit(ctx(t), q)
	if err != nil {
		t.Fatalf("list audit %+v: %v", q, err)
	}
	return page
}

// recordSample records auditSample and returns it newest first, with the IDs the store gave.
func recordSample(t *testing.T, s store.Store) []store.AuditRecord {
	t.Helper()
	sample := auditSample()
	for _, rec := range sample {
		mustRecordAudit(t, s, rec)
	}
	got := mustListAudit(t, s, store.AuditQuery{}).Items
	if len(got) != len(sample) {
		t.Fatalf("%d records listed, want %d", len(got), len(sample))
	}
	slices.Reverse(sample)
	for i := range sample {
		sample[i].ID = got[i].ID
	}
	return sample
}

// sameAudit fails the test unless got are want, in order, times equal and in UTC.
func sameAudit(t *testing.T, what string, got, want []store.AuditRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d:\n got %s\nwant %s", what, len(got), len(want), describeAudit(got), describeAudit(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC {
			t.Errorf("%s: record %d time %v, want %v in UTC", what, i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s: record %d\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

// describeAudit names records by user, verb, kind and key.
func describeAudit(recs []store.AuditRecord) string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%d:%s/%s/%s/%s", r.ID, r.User, r.Verb, r.Kind, r.Key))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// testAudit records requests and lists them back newest first, every field as recorded, IDs
// growing; a record without a time is stamped when recorded.
func testAudit(t *testing.T, s store.Store) {
	if page := mustListAudit(t, s, store.AuditQuery{}); len(page.Items) != 0 || page.Items == nil || page.Continue != "" {
		t.Fatalf("an empty trail lists %+v, want no records (an empty, non-nil slice)", page)
	}
	want := recordSample(t, s)
	sameAudit(t, "listed", mustListAudit(t, s, store.AuditQuery{}).Items, want)
	for i := 1; i < len(want); i++ {
		if want[i].ID >= want[i-1].ID || want[i].ID <= 0 {
			t.Fatalf("IDs %s do not grow with each record", describeAudit(want))
		}
	}

	// Order is the order of recording, whatever the times say.
	older := store.AuditRecord{Time: auditBase.Add(-time.Hour), User: "dave", Verb: "delete", Kind: "Cluster", Key: "old",
		Method: "DELETE", Path: "/api/v1alpha1/clusters/old", SourceIP: "::1", Code: 404, Result: store.AuditFailed, Reason: "NotFound"}
	mustRecordAudit(t, s, older)
	before := time.Now().Add(-time.Millisecond)
	mustRecordAudit(t, s, store.AuditRecord{Verb: "token", Method: "POST", Result: store.AuditAllowed, Code: 201})
	after := time.Now().Add(time.Millisecond)
	got := mustListAudit(t, s, store.AuditQuery{Limit: 2}).Items
	if len(got) != 2 || got[1].User != "dave" || got[0].Verb != "token" {
		t.Fatalf("the two last records: %s", describeAudit(got))
	}
	if tm := got[0].Time; tm.Before(before) || tm.After(after) || tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0 {
		t.Errorf("a record without time stamped %v, want between %v and %v, in UTC, to the microsecond", tm, before, after)
	}
	older.ID = got[1].ID
	sameAudit(t, "a record older than the others, recorded last", got[1:], []store.AuditRecord{older})
}

// testAuditFilters lists the sample with each filter: every record that matches, none other,
// newest first.
func testAuditFilters(t *testing.T, s store.Store) {
	all := recordSample(t, s) // newest first
	keep := func(match func(store.AuditRecord) bool) []store.AuditRecord {
		var out []store.AuditRecord
		for _, r := range all {
			if match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	at := func(min int) time.Time { return auditBase.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name  string
		q     store.AuditQuery
		match func(store.AuditRecord) bool // nil: no record matches
	}{
		{"user", store.AuditQuery{User: "bob"}, func(r store.AuditRecord) bool { return r.User == "bob" }},
		{"kind", store.AuditQuery{Kind: "CloudAccount"}, func(r store.AuditRecord) bool { return r.Kind == "CloudAccount" }},
		{"key", store.AuditQuery{Key: "web"}, func(r store.AuditRecord) bool { return r.Key == "web" }},
		{"kind and key", store.AuditQuery{Kind: "Cluster", Key: "db"}, func(r store.AuditRecord) bool { return r.Kind == "Cluster" && r.Key == "db" }},
		{"verb", store.AuditQuery{Verb: "kubeconfig"}, func(r store.AuditRecord) bool { return r.Verb == "kubeconfig" }},
		{"result", store.AuditQuery{Result: store.AuditDenied}, func(r store.AuditRecord) bool { return r.Result == store.AuditDenied }},
		{"since, inclusive", store.AuditQuery{Since: at(5)}, func(r store.AuditRecord) bool { return !r.Time.Before(at(5)) }},
		{"until, exclusive", store.AuditQuery{Until: at(2)}, func(r store.AuditRecord) bool { return r.Time.Before(at(2)) }},
		{"since in another zone", store.AuditQuery{Since: at(6).In(time.FixedZone("UTC-7", -7*3600))}, func(r store.AuditRecord) bool { return !r.Time.Before(at(6)) }},
		{"a window", store.AuditQuery{Since: at(1), Until: at(4)}, func(r store.AuditRecord) bool { return !r.Time.Before(at(1)) && r.Time.Before(at(4)) }},
		{"user, result and verb", store.AuditQuery{User: "alice", Result: store.AuditAllowed, Verb: "create"}, func(r store.AuditRecord) bool {
			return r.User == "alice" && r.Result == store.AuditAllowed && r.Verb == "create"
		}},
		{"no such user", store.AuditQuery{User: "nobody"}, nil},
		{"a key is not a prefix", store.AuditQuery{Key: "we"}, nil},
		{"case matters", store.AuditQuery{User: "Alice"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []store.AuditRecord
			if tc.match != nil {
				if want = keep(tc.match); len(want) == 0 || len(want) == len(all) {
					t.Fatalf("filter %q keeps %d of the %d records: the test proves nothing", tc.name, len(want), len(all))
				}
			}
			sameAudit(t, tc.name, mustListAudit(t, s, tc.q).Items, want)
		})
	}
}

// testAuditPaging checks that pages of every size, with and without a filter, cover every
// matching record once, newest first, and that bad queries are refused.
func testAuditPaging(t *testing.T, s store.Store) {
	const n = 23
	for i := range n {
		user := "even"
		if i%2 == 1 {
			user = "odd"
		}
		mustRecordAudit(t, s, store.AuditRecord{Time: auditBase.Add(time.Duration(i) * time.Second), User: user, Verb: "update",
			Kind: "Cluster", Key: fmt.Sprintf("c%02d", i), Method: "PUT", Path: "/p", SourceIP: "127.0.0.1", Code: 200, Result: store.AuditAllowed})
	}
	for _, user := range []string{"", "odd"} {
		all := mustListAudit(t, s, store.AuditQuery{User: user}).Items
		for _, limit := range []int{1, 2, 5, 11, 12, 22, 23, 24, 100} {
			var got []store.AuditRecord
			q := store.AuditQuery{User: user, Limit: limit}
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatalf("user %q limit %d: paging does not end", user, limit)
				}
				page := mustListAudit(t, s, q)
				if len(page.Items) > limit {
					t.Fatalf("user %q limit %d: page of %d", user, limit, len(page.Items))
				}
				got = append(got, page.Items...)
				if page.Continue == "" {
					break
				}
				if len(page.Items) != limit {
					t.Fatalf("user %q limit %d: continue %q after a page of %d", user, limit, page.Continue, len(page.Items))
				}
				q.Continue = page.Continue
			}
			sameAudit(t, fmt.Sprintf("user %q, pages of %d", user, limit), got, all)
		}
	}
	for _, q := range []store.AuditQuery{
		{Continue: "x"}, {Continue: "-3"}, {Continue: "0"}, {Limit: -1}, {Result: "maybe"},
	} {
		if _, err := s.ListAudit(ctx(t), q); err == nil {
			t.Errorf("list audit %+v: no error", q)
		}
	}
}

// testAuditText checks what RecordAudit makes of text: control characters replaced, long text
// cut on a rune boundary, required fields required.
func testAuditText(t *testing.T, s store.Store) {
	long := strings.Repeat("é", 2000) // 4000 bytes
	mustRecordAudit(t, s, store.AuditRecord{User: "eve\x00\x1b[31m", Verb: "create", Kind: "Cluster", Key: "k\ty",
		Method: "POST", Path: "/api/v1alpha1/" + long, SourceIP: "10.0.0.1", Code: 400, Result: store.AuditFailed, Reason: long})
	got := mustListAudit(t, s, store.AuditQuery{}).Items
	if len(got) != 1 {
		t.Fatalf("%d records", len(got))
	}
	r := got[0]
	if r.User != "eve\uFFFD\uFFFD[31m" || r.Key != "k\uFFFDy" {
		t.Errorf("user %q, key %q: want the control characters replaced", r.User, r.Key)
	}
	for name, v := range map[string]string{"path": r.Path, "reason": r.Reason} {
		if len(v) >= 4000 || len(v) < 256 || !strings.HasSuffix(v, "é") {
			t.Errorf("%s of %d bytes (ends %q): want it cut on a rune boundary", name, len(v), v[max(0, len(v)-4):])
		}
	}
	for _, bad := range []store.AuditRecord{
		{Method: "GET", Result: store.AuditAllowed},
		{Verb: "get", Result: store.AuditAllowed},
		{Verb: "get", Method: "GET"},
	} {
		if err := s.RecordAudit(ctx(t), bad); err == nil {
			t.Errorf("record %+v: no error", bad)
		}
	}
	if n := len(mustListAudit(t, s, store.AuditQuery{}).Items); n != 1 {
		t.Errorf("%d records after refused ones, want 1", n)
	}
}

// testAuditConcurrent records from several goroutines at once: every record is kept, under
// an ID of its own.
func testAuditConcurrent(t *testing.T, s store.Store) {
	const writers, each = 8, 10
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec := store.AuditRecord{User: "w" + strconv.Itoa(w), Verb: "update", Key: strconv.Itoa(i), Method: "PUT",
					Code: 200, Result: store.AuditAllowed}
				if err := s.RecordAudit(c, rec); err != nil {
					t.Errorf("record audit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := mustListAudit(t, s, store.AuditQuery{}).Items
	ids := map[int64]bool{}
	for _, r := range got {
		ids[r.ID] = true
	}
	if len(got) != writers*each || len(ids) != writers*each {
		t.Errorf("%d records under %d IDs, want %d", len(got), len(ids), writers*each)
	}
}

// AuditStorage is storage into which many audit records can be written at once, raw, to check
// the retention bound without recording store.MaxAuditRecords records one by one.
type AuditStorage interface {
	Storage
	// FillAudit inserts n records into the audit table of a store opened on this storage, in
	// one statement, with the IDs the table assigns.
	FillAudit(t *testing.T, n int)
	// CountAudit returns how many records the audit table holds and the smallest ID.
	CountAudit(t *testing.T) (n int, oldest int64)
}

// RunAuditRetention checks the bound of the audit trail: a trail filled past
// store.MaxAuditRecords is brought back to it by the next records, oldest first, at most
// store.AuditPruneBatch at a time. newStorage must return fresh, empty storage.
func RunAuditRetention(t *testing.T, newStorage func(t *testing.T) AuditStorage) {
	st := newStorage(t)
	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	const over = store.AuditPruneBatch + 500
	st.FillAudit(t, store.MaxAuditRecords+over-1)
	if n, oldest := st.CountAudit(t); n != store.MaxAuditRecords+over-1 || oldest != 1 {
		t.Fatalf("filled: %d records from ID %d, want %d from 1", n, oldest, store.MaxAuditRecords+over-1)
	}
	rec := store.AuditRecord{User: "alice", Verb: "create", Kind: "Cluster", Key: "web", Method: "POST", Code: 201, Result: store.AuditAllowed}
	tests := []struct {
		wantN      int
		wantOldest int64
	}{
		// The first record is over+1 ahead of the bound's start: a batch goes.
		{store.MaxAuditRecords + over - store.AuditPruneBatch, store.AuditPruneBatch + 1},
		// The second deletes the rest of what is over.
		{store.MaxAuditRecords, over + 2},
		// From then on each record deletes the oldest one.
		{store.MaxAuditRecords, over + 3},
	}
	for i, tc := range tests {
		mustRecordAudit(t, s, rec)
		if n, oldest := st.CountAudit(t); n != tc.wantN || oldest != tc.wantOldest {
			t.Errorf("after record %d: %d records from ID %d, want %d from %d", i+1, n, oldest, tc.wantN, tc.wantOldest)
		}
	}
	page := mustListAudit(t, s, store.AuditQuery{Limit: 3})
	if len(page.Items) != 3 || page.Items[0].User != "alice" || page.Items[2].User != "alice" ||
		page.Items[0].ID != store.MaxAuditRecords+over+2 {
		t.Errorf("the newest records: %s, want the three recorded, the newest ID %d", describeAudit(page.Items), store.MaxAuditRecords+over+2)
	}
}
