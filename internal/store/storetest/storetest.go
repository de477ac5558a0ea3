package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
)

// Run runs the conformance suite. newStore must return a fresh, empty store each time it is
// called; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"RoundTrip", testRoundTrip},
		{"AlreadyExists", testAlreadyExists},
		{"NotFound", testNotFound},
		{"StaleUpdate", testStaleUpdate},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentWrites", testConcurrentWrites},
		{"UpdateMetadata", testUpdateMetadata},
		{"Generation", testGeneration},
		{"ResourceVersionIncreases", testResourceVersionIncreases},
		{"Secret", testSecret},
		{"ProxyPasswords", testProxyPasswords},
		{"ProfileVersions", testProfileVersions},
		{"Paging", testPaging},
		{"Delete", testDelete},
		{"Events", testEvents},
		{"EventsOfOneObject", testEventsOfOneObject},
		{"EventsNeedUID", testEventsNeedUID},
		{"EventsPruned", testEventsPruned},
		{"ReferencesMustExist", testReferencesMustExist},
		{"ReferencesBlockDeletion", testReferencesBlockDeletion},
		{"ReferencesToDeleting", testReferencesToDeleting},
		{"ReferencesOnUpdate", testReferencesOnUpdate},
		{"ReferenceRaces", testReferenceRaces},
		{"BindingReferences", testBindingReferences},
		{"APIKeyReferences", testAPIKeyReferences},
		{"ProfileSpecFrozenInUse", testProfileSpecFrozenInUse},
		{"ProfileSpecRaces", testProfileSpecRaces},
		{"Changes", testChanges},
		{"ChangesSignal", testChangesSignal},
		{"ChangesInCommitOrder", testChangesInCommitOrder},
		{"ChangesExpire", testChangesExpire},
		{"ChangesReportSecrets", testChangesReportSecrets},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"AuditPaging", testAuditPaging},
		{"AuditText", testAuditText},
		{"AuditConcurrent", testAuditConcurrent},
		{"Leases", testLeases},
		{"ConcurrentLeases", testConcurrentLeases},
		{"InternalSecrets", testInternalSecrets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// ctx returns a context that ends with the test, bounded so that a deadlock fails instead of
// hanging.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustCreate(t *testing.T, s store.Store, obj v1alpha1.Object) {
	t.Helper()
	if err := s.Create(ctx(t), obj); err != nil {
		t.Fatalf("create %s %s: %v", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
}

func mustGet(t *testing.T, s store.Store, kind, key string) v1alpha1.Object {
	t.Helper()
	obj, err := s.Get(ctx(t), kind, key)
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, key, err)
	}
	if obj.GetTypeMeta().Kind != kind || obj.Key() != key {
		t.Fatalf("get %s %s returned %s %s", kind, key, obj.GetTypeMeta().Kind, obj.Key())
	}
	return obj
}

func mustUpdate(t *testing.T, s store.Store, obj v1alpha1.Object) {
	t.Helper()
	if err := s.Update(ctx(t), obj); err != nil {
		t.Fatalf("update %s %s: %v", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
}

func mustList(t *testing.T, s store.Store, kind string, opts store.ListOptions) store.ListResult {
	t.Helper()
	res, err := s.List(ctx(t), kind, opts)
	if err != nil {
		t.Fatalf("list %s %+v: %v", kind, opts, err)
	}
	return res
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// clone returns a deep copy of obj, secret included.
func clone(t *testing.T, obj v1alpha1.Object) v1alpha1.Object {
	t.Helper()
	out := v1alpha1.New(obj.GetTypeMeta().Kind)
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		if err := out.(v1alpha1.SecretCarrier).SetSecretText(sc.SecretText()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// jsonOf returns the JSON of obj (which never holds its secret).
func jsonOf(t *testing.T, obj v1alpha1.Object) string {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func sameObject(t *testing.T, what string, got, want v1alpha1.Object) {
	t.Helper()
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
	if gs, ok := got.(v1alpha1.SecretCarrier); ok {
		if g, w := gs.SecretText(), want.(v1alpha1.SecretCarrier).SecretText(); g != w {
			t.Fatalf("%s: secret %q, want %q", what, g, w)
		}
	}
}

func rvOf(t *testing.T, obj v1alpha1.Object) int64 {
	t.Helper()
	rv, err := strconv.ParseInt(obj.GetMetadata().ResourceVersion, 10, 64)
	if err != nil || rv <= 0 || strconv.FormatInt(rv, 10) != obj.GetMetadata().ResourceVersion {
		t.Fatalf("%s %s: resourceVersion %q is not a positive decimal integer",
			obj.GetTypeMeta().Kind, obj.Key(), obj.GetMetadata().ResourceVersion)
	}
	return rv
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// testRoundTrip creates an object of every kind and reads it back with Get and List.
func testRoundTrip(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	for _, kind := range v1alpha1.Kinds {
		t.Run(kind, func(t *testing.T) {
			obj := NewObject(kind, "round-trip")
			stale := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			obj.GetMetadata().UID = "not-a-uid"
			obj.GetMetadata().Generation = 42
			obj.GetMetadata().ResourceVersion = "42"
			obj.GetMetadata().CreationTimestamp = &stale
			obj.GetMetadata().DeletionTimestamp = &stale
			obj.GetMetadata().Finalizers = []string{"strata.dev/azure"}
			*obj.GetStatus() = v1alpha1.Status{Phase: "Pending", ObservedGeneration: 7}
			before := time.Now().UTC().Truncate(time.Second)
			mustCreate(t, s, obj)
			after := time.Now().UTC()

			meta := obj.GetMetadata()
			if id, err := uuid.Parse(meta.UID); err != nil || id.Version() != 4 || id.String() != meta.UID {
				t.Errorf("uid %q is not a UUID v4", meta.UID)
			}
			if meta.Generation != 1 {
				t.Errorf("generation %d, want 1", meta.Generation)
			}
			rvOf(t, obj)
			if meta.ResourceVersion == "42" {
				t.Errorf("resourceVersion kept the caller's value")
			}
			ct := meta.CreationTimestamp
			if ct == nil || ct.Location() != time.UTC || ct.Before(before) || ct.After(after) ||
				!ct.Equal(ct.Truncate(time.Second)) {
				t.Errorf("creationTimestamp %v, want UTC second between %v and %v", ct, before, after)
			}
			if meta.DeletionTimestamp != nil {
				t.Errorf("deletionTimestamp %v kept on create", meta.DeletionTimestamp)
			}
			if obj.GetStatus().Phase != "Pending" || obj.GetStatus().ObservedGeneration != 7 {
				t.Errorf("status %+v not kept on create", *obj.GetStatus())
			}

			got := mustGet(t, s, kind, obj.Key())
			sameObject(t, "get after create", got, obj)
			if got.GetMetadata().CreationTimestamp.Location() != time.UTC {
				t.Errorf("creationTimestamp read back in %v, want UTC", got.GetMetadata().CreationTimestamp.Location())
			}

			list := mustList(t, s, kind, store.ListOptions{Name: "round-trip"})
			if len(list.Items) != 1 || list.Continue != "" {
				t.Fatalf("list %s: %d items, continue %q; want the one created", kind, len(list.Items), list.Continue)
			}
			sameObject(t, "list after create", list.Items[0], obj)
		})
	}
	// Each kind's list holds only its own objects.
	for _, kind := range v1alpha1.Kinds {
		if n := len(mustList(t, s, kind, store.ListOptions{Name: "round-trip"}).Items); n != 1 {
			t.Errorf("list %s: %d items, want 1", kind, n)
		}
	}
}

func testAlreadyExists(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	for _, kind := range v1alpha1.Kinds {
		first := NewObject(kind, "taken")
		mustCreate(t, s, first)
		second := NewObject(kind, "taken")
		changeSpec(second, 1)
		second.GetMetadata().ResourceVersion = "caller"
		err := s.Create(ctx(t), second)
		wantErr(t, "create "+kind+" again", err, store.ErrAlreadyExists)
		if second.GetMetadata().UID != "" || second.GetMetadata().ResourceVersion != "caller" {
			t.Errorf("failed create changed the object's metadata: %+v", *second.GetMetadata())
		}
		sameObject(t, "object after refused create", mustGet(t, s, kind, first.Key()), first)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	for _, kind := range v1alpha1.Kinds {
		obj := NewObject(kind, "missing")
		_, err := s.Get(ctx(t), kind, obj.Key())
		wantErr(t, "get "+kind, err, store.ErrNotFound)
		obj.GetMetadata().ResourceVersion = "1"
		wantErr(t, "update "+kind, s.Update(ctx(t), obj), store.ErrNotFound)
		wantErr(t, "delete "+kind, s.Delete(ctx(t), kind, obj.Key(), ""), store.ErrNotFound)
		wantErr(t, "delete "+kind+" with resourceVersion", s.Delete(ctx(t), kind, obj.Key(), "1"), store.ErrNotFound)
		if res := mustList(t, s, kind, store.ListOptions{}); len(res.Items) != 0 || res.Continue != "" {
			t.Errorf("list %s of an empty store: %+v", kind, res)
		}
	}
	// A key of another kind is not found either.
	CreateTargets(t, s)
	mustCreate(t, s, NewObject(v1alpha1.KindCluster, "only-cluster"))
	_, err := s.Get(ctx(t), v1alpha1.KindCloudAccount, "only-cluster")
	wantErr(t, "get under another kind", err, store.ErrNotFound)
	_, err = s.Get(ctx(t), "NoSuchKind", "only-cluster")
	wantErr(t, "get of an unknown kind", err, store.ErrNotFound)
}

// testStaleUpdate checks that an update from an old resourceVersion is refused and loses
// nothing.
func testStaleUpdate(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	for _, kind := range v1alpha1.Kinds {
		t.Run(kind, func(t *testing.T) {
			obj := NewObject(kind, "stale")
			mustCreate(t, s, obj)
			old := clone(t, obj)

			changeSpec(obj, 1)
			mustUpdate(t, s, obj)
			current := clone(t, obj)

			changeSpec(old, 2)
			staleRV := old.GetMetadata().ResourceVersion
			wantErr(t, "stale update", s.Update(ctx(t), old), store.ErrConflict)
			if old.GetMetadata().ResourceVersion != staleRV {
				t.Errorf("refused update changed the object's resourceVersion to %q", old.GetMetadata().ResourceVersion)
			}
			sameObject(t, "object after stale update", mustGet(t, s, kind, obj.Key()), current)

			for _, rv := range []string{"", "0", "not-a-number", strconv.FormatInt(rvOf(t, current)+1000, 10)} {
				bad := clone(t, current)
				changeSpec(bad, 3)
				bad.GetMetadata().ResourceVersion = rv
				wantErr(t, fmt.Sprintf("update with resourceVersion %q", rv), s.Update(ctx(t), bad), store.ErrConflict)
			}
			sameObject(t, "object after refused updates", mustGet(t, s, kind, obj.Key()), current)
		})
	}
}

// testConcurrentUpdates runs several updates from the same resourceVersion at once: exactly
// one wins and its content is what is stored.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	const writers = 8
	for _, kind := range v1alpha1.Kinds {
		t.Run(kind, func(t *testing.T) {
			base := NewObject(kind, "contended")
			mustCreate(t, s, base)
			objs := make([]v1alpha1.Object, writers)
			errs := make([]error, writers)
			for i := range objs {
				objs[i] = clone(t, base)
				changeSpec(objs[i], i)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			c := ctx(t)
			for i := range objs {
				wg.Go(func() {
					<-start
					errs[i] = s.Update(c, objs[i])
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("updates %d and %d from the same resourceVersion both succeeded", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, store.ErrConflict):
					t.Fatalf("update %d: got %v, want success or ErrConflict", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no update succeeded")
			}
			got := mustGet(t, s, kind, base.Key())
			sameObject(t, "stored object", got, objs[winner])
			if got.GetMetadata().Generation != 2 {
				t.Errorf("generation %d, want 2", got.GetMetadata().Generation)
			}
		})
	}
}

// testConcurrentCreates creates objects from many goroutines: distinct keys all succeed, and of
// several creates of one key exactly one does.
func testConcurrentCreates(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	const writers = 16
	errs := make([]error, writers)
	same := make([]error, writers)
	var wg sync.WaitGroup
	c := ctx(t)
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.Create(c, NewObject(v1alpha1.KindCluster, "parallel-"+strconv.Itoa(i)))
			same[i] = s.Create(c, NewObject(v1alpha1.KindPrivateCloudGateway, "same"))
		})
	}
	wg.Wait()
	created := 0
	for i := range writers {
		if errs[i] != nil {
			t.Errorf("create parallel-%d: %v", i, errs[i])
		}
		switch {
		case same[i] == nil:
			created++
		case !errors.Is(same[i], store.ErrAlreadyExists):
			t.Errorf("create of a shared key: got %v, want success or ErrAlreadyExists", same[i])
		}
	}
	if created != 1 {
		t.Errorf("%d creates of one key succeeded, want 1", created)
	}
	if n := len(mustList(t, s, v1alpha1.KindCluster, store.ListOptions{}).Items); n != writers {
		t.Errorf("%d clusters stored, want %d", n, writers)
	}
}

// testConcurrentWrites updates distinct objects and records events from many goroutines at
// once: every write succeeds (writers wait for each other instead of failing or deadlocking)
// and none is lost.
func testConcurrentWrites(t *testing.T, s store.Store) {
	const (
		writers = 8
		rounds  = 15
	)
	objs := make([]v1alpha1.Object, writers)
	for i := range objs {
		objs[i] = NewObject(v1alpha1.KindClusterProfile, "writer-"+strconv.Itoa(i))
		mustCreate(t, s, objs[i])
	}
	var wg sync.WaitGroup
	c := ctx(t)
	for i, obj := range objs {
		wg.Go(func() {
			for r := range rounds {
				changeSpec(obj, r)
				if err := s.Update(c, obj); err != nil {
					t.Errorf("writer %d round %d: update: %v", i, r, err)
					return
				}
				ev := store.Event{Kind: v1alpha1.KindClusterProfile, Key: obj.Key(), UID: obj.GetMetadata().UID, Type: store.EventNormal, Reason: "Round", Message: strconv.Itoa(r)}
				if err := s.RecordEvent(c, ev); err != nil {
					t.Errorf("writer %d round %d: record event: %v", i, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, obj := range objs {
		got := mustGet(t, s, v1alpha1.KindClusterProfile, obj.Key())
		sameObject(t, "after concurrent writes", got, obj)
		if g := got.GetMetadata().Generation; g != rounds+1 {
			t.Errorf("%s: generation %d, want %d", obj.Key(), g, rounds+1)
		}
		if evs, err := s.ListEvents(ctx(t), v1alpha1.KindClusterProfile, obj.Key(), obj.GetMetadata().UID); err != nil || len(evs) != rounds {
			t.Errorf("%s: %d events (%v), want %d", obj.Key(), len(evs), err, rounds)
		}
	}
}

// testUpdateMetadata checks what Update keeps from the stored object and what it takes from
// the object given.
func testUpdateMetadata(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	obj := NewObject(v1alpha1.KindCluster, "meta")
	mustCreate(t, s, obj)
	created := clone(t, obj)

	upd := clone(t, obj)
	other := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	deleting := time.Now().UTC().Truncate(time.Second)
	upd.GetMetadata().UID = uuid.NewString()
	upd.GetMetadata().CreationTimestamp = &other
	upd.GetMetadata().Generation = 99
	upd.GetMetadata().DeletionTimestamp = &deleting
	upd.GetMetadata().Finalizers = []string{"strata.dev/azure"}
	upd.GetMetadata().Labels = map[string]string{"team": "apps"}
	*upd.GetStatus() = v1alpha1.Status{Phase: "Deleting", ObservedGeneration: 1,
		Conditions: []v1alpha1.Condition{{Type: "Ready", Status: "False", Reason: "Deleting"}}}
	mustUpdate(t, s, upd)

	meta := upd.GetMetadata()
	if meta.UID != created.GetMetadata().UID {
		t.Errorf("uid %q, want the stored %q", meta.UID, created.GetMetadata().UID)
	}
	if !meta.CreationTimestamp.Equal(*created.GetMetadata().CreationTimestamp) || meta.CreationTimestamp.Location() != time.UTC {
		t.Errorf("creationTimestamp %v, want the stored %v in UTC", meta.CreationTimestamp, created.GetMetadata().CreationTimestamp)
	}
	if meta.Generation != 1 {
		t.Errorf("generation %d after an update that kept the spec, want 1", meta.Generation)
	}
	if rvOf(t, upd) <= rvOf(t, created) {
		t.Errorf("resourceVersion %s did not grow from %s", meta.ResourceVersion, created.GetMetadata().ResourceVersion)
	}
	got := mustGet(t, s, v1alpha1.KindCluster, "meta")
	sameObject(t, "get after update", got, upd)
	if ct := got.GetMetadata().CreationTimestamp; ct.Location() != time.UTC {
		t.Errorf("creationTimestamp read back after update in %v, want UTC", ct.Location())
	}
	if gm := got.GetMetadata(); gm.DeletionTimestamp == nil || !gm.DeletionTimestamp.Equal(deleting) ||
		!slices.Equal(gm.Finalizers, []string{"strata.dev/azure"}) || gm.Labels["team"] != "apps" {
		t.Errorf("metadata given to update not stored: %+v", *gm)
	}
	if got.GetStatus().Phase != "Deleting" || len(got.GetStatus().Conditions) != 1 {
		t.Errorf("status given to update not stored: %+v", *got.GetStatus())
	}
}

// testGeneration checks that the generation moves on spec changes only.
func testGeneration(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	for _, kind := range v1alpha1.Kinds {
		t.Run(kind, func(t *testing.T) {
			obj := NewObject(kind, "gen")
			mustCreate(t, s, obj)
			steps := []struct {
				name   string
				change func(v1alpha1.Object)
				want   int64
			}{
				{"nothing", func(v1alpha1.Object) {}, 1},
				{"status", func(o v1alpha1.Object) { o.GetStatus().Phase = "Ready"; o.GetStatus().ObservedGeneration = 1 }, 1},
				{"labels", func(o v1alpha1.Object) { o.GetMetadata().Labels = map[string]string{"a": "b"} }, 1},
				{"finalizers", func(o v1alpha1.Object) { o.GetMetadata().Finalizers = []string{"x"} }, 1},
				{"spec", func(o v1alpha1.Object) { changeSpec(o, 1) }, 2},
				{"status again", func(o v1alpha1.Object) { o.GetStatus().Phase = "Provisioning" }, 2},
				{"spec again", func(o v1alpha1.Object) { changeSpec(o, 2) }, 3},
			}
			prev := rvOf(t, obj)
			for _, step := range steps {
				// Start from what Get returns, as a server does.
				cur := mustGet(t, s, kind, obj.Key())
				step.change(cur)
				mustUpdate(t, s, cur)
				if g := cur.GetMetadata().Generation; g != step.want {
					t.Errorf("after %s change: generation %d, want %d", step.name, g, step.want)
				}
				if g := mustGet(t, s, kind, obj.Key()).GetMetadata().Generation; g != step.want {
					t.Errorf("after %s change: stored generation %d, want %d", step.name, g, step.want)
				}
				rv := rvOf(t, cur)
				if rv <= prev {
					t.Errorf("after %s change: resourceVersion %d did not grow from %d", step.name, rv, prev)
				}
				prev = rv
			}
		})
	}
}

// testResourceVersionIncreases checks that every write of any kind takes a larger
// resourceVersion.
func testResourceVersionIncreases(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	var last int64
	next := func(what string, obj v1alpha1.Object) {
		t.Helper()
		rv := rvOf(t, obj)
		if rv <= last {
			t.Fatalf("%s: resourceVersion %d after %d", what, rv, last)
		}
		last = rv
	}
	var objs []v1alpha1.Object
	for round := range 3 {
		for _, kind := range v1alpha1.Kinds {
			obj := NewObject(kind, "rv-"+strconv.Itoa(round))
			mustCreate(t, s, obj)
			next("create "+kind, obj)
			objs = append(objs, obj)
		}
	}
	for i, obj := range objs {
		changeSpec(obj, i)
		mustUpdate(t, s, obj)
		next("update "+obj.GetTypeMeta().Kind, obj)
	}
	// A refused write does not move the stored resourceVersion.
	stale := clone(t, objs[0])
	stale.GetMetadata().ResourceVersion = "1"
	wantErr(t, "stale update", s.Update(ctx(t), stale), store.ErrConflict)
	if got := mustGet(t, s, objs[0].GetTypeMeta().Kind, objs[0].Key()); got.GetMetadata().ResourceVersion != objs[0].GetMetadata().ResourceVersion {
		t.Errorf("stale update moved the resourceVersion to %s", got.GetMetadata().ResourceVersion)
	}
}

// testProxyPasswords checks that a gateway's proxy passwords are sealed apart from its JSON,
// opened on reads, reported set, and that they go with their URLs: an update whose URLs hold
// none clears them.
func testProxyPasswords(t *testing.T, s store.Store) {
	const kind = v1alpha1.KindPrivateCloudGateway
	proxy := func(o v1alpha1.Object) *v1alpha1.ProxySettings { return o.(*v1alpha1.PrivateCloudGateway).Spec.Proxy }
	gw := NewObject(kind, "with-password")
	proxy(gw).HTTPProxy = "http://alice:first-proxy-password@proxy.corp.example:3128"
	mustCreate(t, s, gw)
	got := mustGet(t, s, kind, "with-password")
	if p := proxy(got); p.HTTPProxyURL() != "http://alice:first-proxy-password@proxy.corp.example:3128" || !p.HTTPProxyPasswordSet || p.HTTPSProxyPasswordSet {
		t.Fatalf("get: proxy %q set=%v/%v, want the password of the HTTP proxy", p.HTTPProxyURL(), p.HTTPProxyPasswordSet, p.HTTPSProxyPasswordSet)
	}
	if j := jsonOf(t, got); strings.Contains(j, "first-proxy-password") || !strings.Contains(j, `"httpProxy":"http://alice@proxy.corp.example:3128"`) {
		t.Fatalf("the JSON of a read gateway: %s", j)
	}

	// Written back as read, nothing changes; a new password moves the generation.
	mustUpdate(t, s, got)
	if g := got.GetMetadata().Generation; g != 1 {
		t.Errorf("unchanged update: generation %d, want 1", g)
	}
	proxy(got).HTTPProxyPassword = v1alpha1.NewSecret("second-proxy-password")
	mustUpdate(t, s, got)
	if g := got.GetMetadata().Generation; g != 2 {
		t.Errorf("new password: generation %d, want 2", g)
	}
	if p := proxy(mustGet(t, s, kind, "with-password")); p.HTTPProxyPassword.Reveal() != "second-proxy-password" {
		t.Errorf("new password: stored %q", p.HTTPProxyPassword.Reveal())
	}

	// URLs without passwords clear the stored ones.
	cleared := mustGet(t, s, kind, "with-password")
	proxy(cleared).HTTPProxy = "http://proxy.corp.example:3128"
	proxy(cleared).HTTPProxyPassword = v1alpha1.Secret{}
	mustUpdate(t, s, cleared)
	if proxy(cleared).HTTPProxyPasswordSet || cleared.GetMetadata().Generation != 3 {
		t.Errorf("cleared: set=%v generation %d", proxy(cleared).HTTPProxyPasswordSet, cleared.GetMetadata().Generation)
	}
	if p := proxy(mustGet(t, s, kind, "with-password")); !p.HTTPProxyPassword.Empty() || p.HTTPProxyPasswordSet {
		t.Errorf("cleared: the password %q is still stored", p.HTTPProxyPassword.Reveal())
	}
}

// testSecret checks that a CloudAccount's client secret is sealed, opened on reads, kept when an
// update carries none and replaced when it carries one.
func testSecret(t *testing.T, s store.Store) {
	createAccountsWithAndWithoutSecret(t, s)
	updateAccountSecret(t, s)
	listAndClaimAccountSecrets(t, s)
}

// secret returns the Azure credentials of a CloudAccount.
func secret(o v1alpha1.Object) *v1alpha1.AzureCredentials {
	return &o.(*v1alpha1.CloudAccount).Spec.Azure
}

// createAccountsWithAndWithoutSecret creates the accounts no-secret and with-secret and checks
// what a read returns of each.
func createAccountsWithAndWithoutSecret(t *testing.T, s store.Store) {
	const kind = v1alpha1.KindCloudAccount
	plain := NewObject(kind, "no-secret")
	mustCreate(t, s, plain)
	if got := secret(mustGet(t, s, kind, "no-secret")); got.ClientSecretSet || !got.ClientSecret.Empty() {
		t.Errorf("account without secret read back with clientSecretSet=%v", got.ClientSecretSet)
	}

	obj := NewObject(kind, "with-secret")
	secret(obj).ClientSecret = v1alpha1.NewSecret("first-secret-value")
	mustCreate(t, s, obj)
	if !secret(obj).ClientSecretSet {
		t.Error("create did not report clientSecretSet on the object")
	}
	got := mustGet(t, s, kind, "with-secret")
	if a := secret(got); a.ClientSecret.Reveal() != "first-secret-value" || !a.ClientSecretSet {
		t.Fatalf("get: secret %q set=%v, want the one created", a.ClientSecret.Reveal(), a.ClientSecretSet)
	}
	if bytes.Contains([]byte(jsonOf(t, got)), []byte("first-secret-value")) {
		t.Fatal("the JSON of a read object holds its secret")
	}
}

// updateAccountSecret checks updates of with-secret: written back unchanged, without a secret,
// with the same secret, and with a new one.
func updateAccountSecret(t *testing.T, s store.Store) {
	const kind = v1alpha1.KindCloudAccount
	// What Get returned, written back unchanged, changes nothing.
	got := mustGet(t, s, kind, "with-secret")
	mustUpdate(t, s, got)
	if g := got.GetMetadata().Generation; g != 1 {
		t.Errorf("update with the read object unchanged: generation %d, want 1", g)
	}

	// An update without a secret keeps the stored one.
	noSecret := mustGet(t, s, kind, "with-secret")
	secret(noSecret).ClientSecret = v1alpha1.Secret{}
	secret(noSecret).ClientSecretSet = false
	noSecret.GetStatus().Phase = "Ready"
	mustUpdate(t, s, noSecret)
	if !secret(noSecret).ClientSecretSet {
		t.Error("update without secret: object not reported with clientSecretSet")
	}
	if noSecret.GetMetadata().Generation != 1 {
		t.Errorf("update without secret: generation %d, want 1", noSecret.GetMetadata().Generation)
	}
	if a := secret(mustGet(t, s, kind, "with-secret")); a.ClientSecret.Reveal() != "first-secret-value" || !a.ClientSecretSet {
		t.Errorf("update without secret: stored secret %q set=%v, want the first one kept", a.ClientSecret.Reveal(), a.ClientSecretSet)
	}

	// The same secret again is no change.
	same := mustGet(t, s, kind, "with-secret")
	secret(same).ClientSecret = v1alpha1.NewSecret("first-secret-value")
	mustUpdate(t, s, same)
	if same.GetMetadata().Generation != 1 {
		t.Errorf("update with the same secret: generation %d, want 1", same.GetMetadata().Generation)
	}

	// A new secret replaces it and moves the generation.
	rotated := mustGet(t, s, kind, "with-secret")
	secret(rotated).ClientSecret = v1alpha1.NewSecret("second-secret-value")
	mustUpdate(t, s, rotated)
	if rotated.GetMetadata().Generation != 2 {
		t.Errorf("update with a new secret: generation %d, want 2", rotated.GetMetadata().Generation)
	}
	got = mustGet(t, s, kind, "with-secret")
	if a := secret(got); a.ClientSecret.Reveal() != "second-secret-value" || !a.ClientSecretSet {
		t.Errorf("after rotation: secret %q set=%v, want the second one", a.ClientSecret.Reveal(), a.ClientSecretSet)
	}
	if got.GetMetadata().Generation != 2 {
		t.Errorf("after rotation: stored generation %d, want 2", got.GetMetadata().Generation)
	}
}

// listAndClaimAccountSecrets checks that List opens secrets, and that a caller cannot claim a
// secret that is not stored.
func listAndClaimAccountSecrets(t *testing.T, s store.Store) {
	const kind = v1alpha1.KindCloudAccount
	// List opens secrets too.
	list := mustList(t, s, kind, store.ListOptions{})
	if len(list.Items) != 2 {
		t.Fatalf("list: %d accounts, want 2", len(list.Items))
	}
	for _, item := range list.Items {
		want := ""
		if item.Key() == "with-secret" {
			want = "second-secret-value"
		}
		if a := secret(item); a.ClientSecret.Reveal() != want || a.ClientSecretSet != (want != "") {
			t.Errorf("list %s: secret %q set=%v, want %q", item.Key(), a.ClientSecret.Reveal(), a.ClientSecretSet, want)
		}
	}

	// A client cannot claim a secret that is not stored.
	claim := mustGet(t, s, kind, "no-secret")
	secret(claim).ClientSecretSet = true
	mustUpdate(t, s, claim)
	if secret(claim).ClientSecretSet || secret(mustGet(t, s, kind, "no-secret")).ClientSecretSet {
		t.Error("clientSecretSet sent by the caller was stored")
	}
	if claim.GetMetadata().Generation != 1 {
		t.Errorf("clientSecretSet sent by the caller moved the generation to %d", claim.GetMetadata().Generation)
	}
}

// testProfileVersions checks that versions of one ClusterProfile coexist under their own keys.
func testProfileVersions(t *testing.T, s store.Store) {
	const kind = v1alpha1.KindClusterProfile
	profile := func(name, version string) v1alpha1.Object {
		p := NewObject(kind, name).(*v1alpha1.ClusterProfile)
		p.Spec.Version = version
		return p
	}
	for _, p := range []v1alpha1.Object{
		profile("base", "2.0.0"), profile("base", "1.0.0"), profile("addons", "1.0.0"), profile("base-x", "1.0.0"),
	} {
		mustCreate(t, s, p)
	}
	for _, key := range []string{"base@1.0.0", "base@2.0.0"} {
		got := mustGet(t, s, kind, key)
		if v := got.(*v1alpha1.ClusterProfile).Spec.Version; "base@"+v != key {
			t.Errorf("get %s returned version %s", key, v)
		}
	}
	keys := func(res store.ListResult) []string {
		var out []string
		for _, item := range res.Items {
			out = append(out, item.Key())
		}
		return out
	}
	if got := keys(mustList(t, s, kind, store.ListOptions{Name: "base"})); !slices.Equal(got, []string{"base@1.0.0", "base@2.0.0"}) {
		t.Errorf("list name=base: %v", got)
	}
	if got := keys(mustList(t, s, kind, store.ListOptions{})); !slices.Equal(got, []string{"addons@1.0.0", "base-x@1.0.0", "base@1.0.0", "base@2.0.0"}) {
		t.Errorf("list: %v, want every version in key order", got)
	}
	page := mustList(t, s, kind, store.ListOptions{Name: "base", Limit: 1})
	if got := keys(page); !slices.Equal(got, []string{"base@1.0.0"}) || page.Continue == "" {
		t.Fatalf("list name=base limit=1: %v continue %q", got, page.Continue)
	}
	page = mustList(t, s, kind, store.ListOptions{Name: "base", Limit: 1, Continue: page.Continue})
	if got := keys(page); !slices.Equal(got, []string{"base@2.0.0"}) || page.Continue != "" {
		t.Fatalf("list name=base second page: %v continue %q", got, page.Continue)
	}
	if err := s.Delete(ctx(t), kind, "base@1.0.0", ""); err != nil {
		t.Fatalf("delete base@1.0.0: %v", err)
	}
	if got := keys(mustList(t, s, kind, store.ListOptions{Name: "base"})); !slices.Equal(got, []string{"base@2.0.0"}) {
		t.Errorf("list name=base after deleting 1.0.0: %v", got)
	}
}

// testPaging checks that pages of every size cover every object once, in key order.
func testPaging(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	const kind = v1alpha1.KindCluster
	var want []string
	for i := range 23 {
		// Names whose creation order is not their key order; bytewise order puts upper case
		// and digits before lower case.
		name := fmt.Sprintf("c%02d", (i*7)%23)
		if i%5 == 0 {
			name = "Z" + name
		}
		mustCreate(t, s, NewObject(kind, name))
		want = append(want, name)
	}
	mustCreate(t, s, NewObject(v1alpha1.KindCloudAccount, "c99")) // another kind, never listed
	slices.Sort(want)

	all := mustList(t, s, kind, store.ListOptions{})
	var got []string
	for _, item := range all.Items {
		got = append(got, item.Key())
	}
	if !slices.Equal(got, want) || all.Continue != "" {
		t.Fatalf("list without limit: %v continue %q\nwant %v", got, all.Continue, want)
	}

	for _, limit := range []int{1, 2, 5, 7, 22, 23, 24, 100} {
		var got []string
		var opts = store.ListOptions{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			res := mustList(t, s, kind, opts)
			if len(res.Items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(res.Items))
			}
			for _, item := range res.Items {
				got = append(got, item.Key())
			}
			if res.Continue == "" {
				break
			}
			if len(res.Items) != limit || res.Continue != res.Items[len(res.Items)-1].Key() {
				t.Fatalf("limit %d: continue %q after a page of %d ending at %v", limit, res.Continue, len(res.Items), got[len(got)-1])
			}
			opts.Continue = res.Continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages gave %v\nwant %v", limit, got, want)
		}
	}

	// A continue token whose object was deleted meanwhile still resumes after it.
	page := mustList(t, s, kind, store.ListOptions{Limit: 3})
	if err := s.Delete(ctx(t), kind, page.Continue, ""); err != nil {
		t.Fatal(err)
	}
	rest := mustList(t, s, kind, store.ListOptions{Continue: page.Continue})
	if len(rest.Items) != len(want)-3 || rest.Items[0].Key() != want[3] {
		t.Errorf("list after a deleted continue key: %d items from %s, want %d from %s",
			len(rest.Items), rest.Items[0].Key(), len(want)-3, want[3])
	}
}

func testDelete(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	for _, kind := range v1alpha1.Kinds {
		t.Run(kind, func(t *testing.T) {
			obj := NewObject(kind, "doomed")
			mustCreate(t, s, obj)
			first := obj.GetMetadata().ResourceVersion
			changeSpec(obj, 1)
			mustUpdate(t, s, obj)

			for _, rv := range []string{first, "0", "not-a-number", strconv.FormatInt(rvOf(t, obj)+1000, 10)} {
				wantErr(t, fmt.Sprintf("delete with resourceVersion %q", rv),
					s.Delete(ctx(t), kind, obj.Key(), rv), store.ErrConflict)
			}
			sameObject(t, "object after refused delete", mustGet(t, s, kind, obj.Key()), obj)

			if err := s.Delete(ctx(t), kind, obj.Key(), obj.GetMetadata().ResourceVersion); err != nil {
				t.Fatalf("delete with the current resourceVersion: %v", err)
			}
			_, err := s.Get(ctx(t), kind, obj.Key())
			wantErr(t, "get after delete", err, store.ErrNotFound)
			wantErr(t, "delete again", s.Delete(ctx(t), kind, obj.Key(), ""), store.ErrNotFound)

			// Unconditional delete, and the key can be used again.
			again := NewObject(kind, "doomed")
			mustCreate(t, s, again)
			if again.GetMetadata().UID == obj.GetMetadata().UID {
				t.Error("a recreated object kept the old uid")
			}
			if err := s.Delete(ctx(t), kind, again.Key(), ""); err != nil {
				t.Fatalf("unconditional delete: %v", err)
			}
			if res := mustList(t, s, kind, store.ListOptions{Name: "doomed"}); len(res.Items) != 0 {
				t.Errorf("list after delete: %d items", len(res.Items))
			}
		})
	}
}

// Storage is a place where a store keeps its data, which can be opened several times and read
// raw.
type Storage interface {
	// Open opens a store on this storage with sealer. The suite closes it. It may be called
	// from several goroutines at once.
	Open(ctx context.Context, sealer *secrets.Sealer) (store.Store, error)
	// Dump returns every column of every row of every table as stored (bytea and blobs as
	// their bytes, text as its UTF-8), and for a file database the bytes of its files (WAL
	// included). It may be called while a store is open.
	Dump(t *testing.T) []byte
}

// RunStorage runs the checks that reopen a store or read what it wrote. newStorage must return
// fresh, empty storage each time it is called.
func RunStorage(t *testing.T, newStorage func(t *testing.T) Storage) {
	tests := []struct {
		name string
		run  func(t *testing.T, st Storage)
	}{
		{"Reopen", testReopen},
		{"ConcurrentOpen", testConcurrentOpen},
		{"WrongKey", testWrongKey},
		{"SecretNotStoredInPlainText", testSecretAtRest},
		{"ChangesOfAnotherStore", testChangesOfAnotherStore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStorage(t)) })
	}
}

func mustOpen(t *testing.T, st Storage, sealer *secrets.Sealer) store.Store {
	t.Helper()
	s, err := st.Open(ctx(t), sealer)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func closeStore(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// testReopen checks that a store opened again finds what it held, and goes on with larger
// resourceVersions.
func testReopen(t *testing.T, st Storage) {
	sealer := NewSealer(t)
	s := mustOpen(t, st, sealer)
	CreateTargets(t, s)
	var objs []v1alpha1.Object
	for _, kind := range v1alpha1.Kinds {
		obj := NewObject(kind, "kept")
		if kind == v1alpha1.KindCloudAccount {
			obj.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret = v1alpha1.NewSecret("kept-secret")
		}
		mustCreate(t, s, obj)
		changeSpec(obj, 1)
		mustUpdate(t, s, obj)
		objs = append(objs, obj)
	}
	clusterUID := objs[slices.Index(v1alpha1.Kinds, v1alpha1.KindCluster)].GetMetadata().UID
	ev := store.Event{Kind: v1alpha1.KindCluster, Key: "kept", UID: clusterUID, Type: store.EventNormal, Reason: "Kept", Message: "m"}
	if err := s.RecordEvent(ctx(t), ev); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)

	for round := range 2 { // the second opening finds the migrations applied
		s = mustOpen(t, st, sealer)
		var last int64
		for _, obj := range objs {
			got := mustGet(t, s, obj.GetTypeMeta().Kind, obj.Key())
			sameObject(t, "after reopening", got, obj)
			last = max(last, rvOf(t, obj))
		}
		if evs, err := s.ListEvents(ctx(t), v1alpha1.KindCluster, "kept", clusterUID); err != nil || len(evs) != 1 || evs[0].Reason != "Kept" {
			t.Errorf("events after reopening: %+v %v", evs, err)
		}
		fresh := NewObject(v1alpha1.KindPrivateCloudGateway, "after-reopen-"+strconv.Itoa(round))
		mustCreate(t, s, fresh)
		if rvOf(t, fresh) <= last {
			t.Errorf("resourceVersion %d after reopening, not above %d", rvOf(t, fresh), last)
		}
		closeStore(t, s)
	}
}

// testConcurrentOpen opens fresh storage from several goroutines at once: each migration must
// be applied once, without any opening failing.
func testConcurrentOpen(t *testing.T, st Storage) {
	sealer := NewSealer(t)
	const openers = 4
	stores := make([]store.Store, openers)
	errs := make([]error, openers)
	var wg sync.WaitGroup
	c := ctx(t)
	for i := range openers {
		wg.Go(func() { stores[i], errs[i] = st.Open(c, sealer) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			defer closeStore(t, stores[i])
		} else {
			t.Errorf("opening %d of %d at once: %v", i+1, openers, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	CreateTargets(t, stores[0])
	for i, s := range stores {
		mustCreate(t, s, NewObject(v1alpha1.KindCluster, "from-"+strconv.Itoa(i)))
	}
	if n := len(mustList(t, stores[0], v1alpha1.KindCluster, store.ListOptions{}).Items); n != openers {
		t.Errorf("%d clusters, want %d", n, openers)
	}
}

// testWrongKey opens a store with another key: sealed secrets must fail to open, not read as
// garbage, while objects without a secret stay readable.
func testWrongKey(t *testing.T, st Storage) {
	s := mustOpen(t, st, NewSealer(t))
	acct := NewObject(v1alpha1.KindCloudAccount, "sealed")
	acct.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret = v1alpha1.NewSecret("sealed-secret")
	mustCreate(t, s, acct)
	mustCreate(t, s, NewObject(v1alpha1.KindPrivateCloudGateway, "open"))
	closeStore(t, s)

	s = mustOpen(t, st, NewSealer(t))
	defer closeStore(t, s)
	obj, err := s.Get(ctx(t), v1alpha1.KindCloudAccount, "sealed")
	if err == nil {
		t.Fatalf("get with another key succeeded, secret %q", obj.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal())
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get with another key: %v, want a decryption error", err)
	}
	if _, err := s.List(ctx(t), v1alpha1.KindCloudAccount, store.ListOptions{}); err == nil {
		t.Error("list with another key succeeded")
	}
	gw := mustGet(t, s, v1alpha1.KindPrivateCloudGateway, "open")
	gw.GetStatus().Phase = "Ready"
	mustUpdate(t, s, gw)
}

// testSecretAtRest writes secrets through every path and checks that no plain text reaches
// the storage, while the rest of the object does.
func testSecretAtRest(t *testing.T, st Storage) {
	const (
		first  = "PLAINTEXT-first-7c1d2e"
		second = "PLAINTEXT-second-9a8b7c"
		marker = "client-visible-4f5e6d" // a non-secret value, to prove the dump sees the data
	)
	s := mustOpen(t, st, NewSealer(t))
	acct := NewObject(v1alpha1.KindCloudAccount, "at-rest").(*v1alpha1.CloudAccount)
	acct.Spec.Azure.ClientID = marker
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret(first)
	mustCreate(t, s, acct)
	got := mustGet(t, s, v1alpha1.KindCloudAccount, "at-rest")
	got.GetStatus().Phase = "Ready"
	mustUpdate(t, s, got) // written back with the opened secret in it
	got.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret = v1alpha1.NewSecret(second)
	mustUpdate(t, s, got)
	other := NewObject(v1alpha1.KindCloudAccount, "at-rest-2").(*v1alpha1.CloudAccount)
	other.Spec.Azure.ClientSecret = v1alpha1.NewSecret(first)
	mustCreate(t, s, other)
	// A proxy's password is a secret too, given in its URL.
	gw := NewObject(v1alpha1.KindPrivateCloudGateway, "at-rest").(*v1alpha1.PrivateCloudGateway)
	gw.Spec.Proxy.HTTPProxy = "http://proxy-user:" + first + "@proxy.corp.example:3128"
	gw.Spec.Proxy.HTTPSProxy = "http://proxy-user:" + second + "@proxy.corp.example:3129"
	mustCreate(t, s, gw)
	gotGW := mustGet(t, s, v1alpha1.KindPrivateCloudGateway, "at-rest")
	gotGW.GetStatus().Phase = "Ready"
	mustUpdate(t, s, gotGW)

	check := func(when string) {
		t.Helper()
		dump := st.Dump(t)
		if !bytes.Contains(dump, []byte(marker)) {
			t.Fatalf("%s: the dump (%d bytes) does not hold the object's clientID: it does not see the data", when, len(dump))
		}
		for _, secret := range []string{first, second} {
			if i := bytes.Index(dump, []byte(secret)); i >= 0 {
				t.Errorf("%s: plain-text secret %q found in the stored bytes at offset %d", when, secret, i)
			}
		}
	}
	check("store open")
	closeStore(t, s)
	check("store closed")
}
