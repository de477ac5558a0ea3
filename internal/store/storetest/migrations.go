package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// Legacy is storage that can be brought to the schema of an earlier strata and written to as
// that strata did, to check what the later migrations make of its rows.
type Legacy interface {
	Storage
	// MigrateTo applies the implementation's migrations up to version, and records them as
	// applied.
	MigrateTo(t *testing.T, version int)
	// InsertObject stores a row of the objects table as written at that version: the key,
	// name, uid, generation 1, resourceVersion rv, creation time and JSON document of obj,
	// which carries no secret.
	InsertObject(t *testing.T, obj v1alpha1.Object, rv int64)
	// InsertEvent stores a row of the events table as written at that version.
	InsertEvent(t *testing.T, ev store.Event)
}

// RunMigrations checks what the migrations make of the rows of an earlier schema.
// newLegacy must return fresh, empty storage each time it is called.
func RunMigrations(t *testing.T, newLegacy func(t *testing.T) Legacy) {
	t.Run("EventsGetTheirObjectsUID", func(t *testing.T) { testMigrateEventUIDs(t, newLegacy(t)) })
	t.Run("ReferencesOfStoredObjects", func(t *testing.T) { testMigrateRefs(t, newLegacy(t)) })
	t.Run("ChangesStartAfterStoredWrites", func(t *testing.T) { testMigrateChanges(t, newLegacy(t)) })
	t.Run("ProxyPasswordsSealed", func(t *testing.T) { testMigrateProxyPasswords(t, newLegacy(t)) })
	t.Run("AuditTrailStartsEmpty", func(t *testing.T) { testMigrateAudit(t, newLegacy(t)) })
}

// testMigrateAudit opens a store of version 6, before the audit trail: the trail starts empty,
// records from then on, and the stored objects are as they were.
func testMigrateAudit(t *testing.T, st Legacy) {
	st.MigrateTo(t, 6)
	gw := legacyObject(NewObject(v1alpha1.KindPrivateCloudGateway, "gw"), "00000000-0000-4000-8000-000000000001", time.Now().UTC().Truncate(time.Second))
	st.InsertObject(t, gw, 3)

	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	if page := mustListAudit(t, s, store.AuditQuery{}); len(page.Items) != 0 {
		t.Fatalf("a migrated store's audit trail: %s, want it empty", describeAudit(page.Items))
	}
	mustRecordAudit(t, s, store.AuditRecord{User: "alice", Verb: "delete", Kind: gw.GetTypeMeta().Kind, Key: gw.Key(),
		Method: "DELETE", Code: 200, Result: store.AuditAllowed})
	if got := mustListAudit(t, s, store.AuditQuery{}).Items; len(got) != 1 || got[0].Key != "gw" || got[0].ID <= 0 {
		t.Errorf("after the migration, records %s, want the one recorded", describeAudit(got))
	}
	mustGet(t, s, gw.GetTypeMeta().Kind, gw.Key())
}

// testMigrateProxyPasswords stores a gateway as version 5 did, its proxy password in its JSON:
// opening the store seals the password, which reads still report.
func testMigrateProxyPasswords(t *testing.T, st Legacy) {
	st.MigrateTo(t, 5)
	const password = "legacy-Pr0xy-pw-91d3"
	gw := legacyObject(NewObject(v1alpha1.KindPrivateCloudGateway, "gw"), "00000000-0000-4000-8000-000000000001", time.Now().UTC().Truncate(time.Second))
	px := gw.(*v1alpha1.PrivateCloudGateway).Spec.Proxy
	px.HTTPProxy = "http://alice:" + password + "@proxy.corp.example:3128"
	st.InsertObject(t, gw, 3)
	if !bytes.Contains(st.Dump(t), []byte(password)) {
		t.Fatal("the legacy row does not hold the password: the test proves nothing")
	}

	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	if bytes.Contains(st.Dump(t), []byte(password)) {
		t.Error("the proxy password is still stored in plain text after the migration")
	}
	got := mustGet(t, s, v1alpha1.KindPrivateCloudGateway, "gw").(*v1alpha1.PrivateCloudGateway).Spec.Proxy
	if !got.HTTPProxyPasswordSet || got.HTTPProxyURL() != "http://alice:"+password+"@proxy.corp.example:3128" {
		t.Errorf("after the migration the proxy is %q (password set: %v), want its password kept", got.HTTPProxyURL(), got.HTTPProxyPasswordSet)
	}
}

// legacyObject returns obj with the metadata an earlier strata stored: a uid and a creation
// time.
func legacyObject(obj v1alpha1.Object, uid string, created time.Time) v1alpha1.Object {
	m := obj.GetMetadata()
	m.UID, m.Generation, m.CreationTimestamp = uid, 1, &created
	return obj
}

// LegacyData is the JSON document an earlier strata stored for obj written at resourceVersion
// rv: a gateway's proxy URLs with their passwords, which it did not seal.
func LegacyData(t *testing.T, obj v1alpha1.Object, rv int64) []byte {
	t.Helper()
	obj.GetMetadata().ResourceVersion = strconv.FormatInt(rv, 10)
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	gw, ok := obj.(*v1alpha1.PrivateCloudGateway)
	if !ok {
		return data
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	gw.RevealSecrets(doc)
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	return data
}

// testMigrateEventUIDs stores events without a UID as version 2 did: those recorded since the
// stored object was created get its UID, older ones (an earlier object of the name) none.
func testMigrateEventUIDs(t *testing.T, st Legacy) {
	st.MigrateTo(t, 2)
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	const uid = "3b0c6f1e-2a4d-4c8e-9f7a-5d1e2c3b4a59"
	st.InsertObject(t, legacyObject(NewObject(v1alpha1.KindPrivateCloudGateway, "gw"), uid, created), 1)
	ev := func(when time.Time, reason string) store.Event {
		return store.Event{Kind: v1alpha1.KindPrivateCloudGateway, Key: "gw", Type: store.EventNormal, Reason: reason, Message: reason, Time: when}
	}
	before := ev(created.Add(-time.Minute), "Earlier")
	at := ev(created.Add(123*time.Millisecond), "Created")
	later := ev(created.Add(time.Hour), "Updated")
	other := store.Event{Kind: v1alpha1.KindCluster, Key: "gone", Type: store.EventNormal, Reason: "Deleted", Message: "m", Time: created}
	for _, e := range []store.Event{before, at, later, other} {
		st.InsertEvent(t, e)
	}

	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	at.UID, later.UID = uid, uid
	sameEvents(t, "the object's events", mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "gw", uid), []store.Event{at, later})
	sameEvents(t, "every event of the key", mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "gw", ""), []store.Event{before, at, later})
	sameEvents(t, "events of a deleted object", mustListEvents(t, s, v1alpha1.KindCluster, "gone", ""), []store.Event{other})
}

// testMigrateRefs stores objects as version 3 did, before the store kept references: opening
// the store fills their references, which then hold.
func testMigrateRefs(t *testing.T, st Legacy) {
	st.MigrateTo(t, 3)
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	gw := NewObject(v1alpha1.KindPrivateCloudGateway, "gw")
	acct := NewObject(v1alpha1.KindCloudAccount, TargetAccount)
	acct.(*v1alpha1.CloudAccount).Spec.Gateway = "gw"
	prof := NewObject(v1alpha1.KindClusterProfile, TargetProfile)
	cl := NewObject(v1alpha1.KindCluster, "web")
	// A cluster that pins the same profile twice has one reference to it.
	twice := NewObject(v1alpha1.KindCluster, "twice").(*v1alpha1.Cluster)
	twice.Spec.Profiles = append(twice.Spec.Profiles, twice.Spec.Profiles[0])
	for i, obj := range []v1alpha1.Object{gw, acct, prof, cl, twice} {
		st.InsertObject(t, legacyObject(obj, fmt.Sprintf("00000000-0000-4000-8000-%012d", i), created), int64(i+1))
	}

	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	users := []v1alpha1.Ref{refOf(twice), refOf(cl)}
	if got := mustReferrers(t, s, accountRef); !slices.Equal(got, users) {
		t.Errorf("referrers of the account: %v, want %v", got, users)
	}
	if got := mustReferrers(t, s, profileRef); !slices.Equal(got, users) {
		t.Errorf("referrers of the profile: %v, want %v", got, users)
	}
	wantInUse(t, "delete the gateway", s.Delete(ctx(t), gw.GetTypeMeta().Kind, gw.Key(), ""), refOf(acct))
	wantInUse(t, "delete the account", s.Delete(ctx(t), accountRef.Kind, accountRef.Key, ""), users...)
	for _, obj := range []v1alpha1.Object{twice, cl, prof, acct, gw} {
		if err := s.Delete(ctx(t), obj.GetTypeMeta().Kind, obj.Key(), ""); err != nil {
			t.Errorf("delete %s %s in dependency order: %v", obj.GetTypeMeta().Kind, obj.Key(), err)
		}
	}
}

// testMigrateChanges stores objects as version 4 did, before the change feed: the feed starts
// after their writes, and a watch from before them must list instead.
func testMigrateChanges(t *testing.T, st Legacy) {
	st.MigrateTo(t, 4)
	gw := legacyObject(NewObject(v1alpha1.KindPrivateCloudGateway, "gw"), "00000000-0000-4000-8000-000000000001", time.Now().UTC().Truncate(time.Second))
	st.InsertObject(t, gw, 7)

	s := mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	if rv := mustRV(t, s); rv != 7 {
		t.Errorf("resourceVersion %d, want the last stored write's, 7", rv)
	}
	if _, err := s.Changes(ctx(t), 6, 0); !errors.Is(err, store.ErrExpired) {
		t.Errorf("changes after 6: %v, want ErrExpired", err)
	}
	if cs := mustChanges(t, s, 7, 0); len(cs) != 0 {
		t.Errorf("changes after 7: %v", describeChanges(cs))
	}
	got := mustGet(t, s, gw.GetTypeMeta().Kind, gw.Key())
	got.GetStatus().Phase = "Ready"
	mustUpdate(t, s, got)
	if cs := describeChanges(mustChanges(t, s, 7, 0)); !slices.Equal(cs, []string{"MODIFIED PrivateCloudGateway/gw@8"}) {
		t.Errorf("changes after the first write: %v", cs)
	}
}
