package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

func mustChanges(t *testing.T, s store.Store, after int64, limit int) []store.Change {
	t.Helper()
	cs, err := s.Changes(ctx(t), after, limit)
	if err != nil {
		t.Fatalf("changes after %d: %v", after, err)
	}
	return cs
}

func mustRV(t *testing.T, s store.Store) int64 {
	t.Helper()
	rv, err := s.ResourceVersion(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

// describeChanges is "TYPE Kind/key@rv" for each change.
func describeChanges(cs []store.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s/%s@%d", c.Type, c.Kind, c.Key, c.ResourceVersion)
	}
	return out
}

// testChanges writes objects of several kinds and reads the change feed: one change per write,
// in order, each with the object as written (as it last was for a deletion) and the write's
// resourceVersion, its secret never opened.
func testChanges(t *testing.T, s store.Store) {
	start := mustRV(t, s)
	if cs := mustChanges(t, s, start, 0); len(cs) != 0 {
		t.Fatalf("changes after the current resourceVersion: %v", describeChanges(cs))
	}
	gw := NewObject(v1alpha1.KindPrivateCloudGateway, "gw")
	mustCreate(t, s, gw)
	acct := NewObject(v1alpha1.KindCloudAccount, "acct").(*v1alpha1.CloudAccount)
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret("feed-secret-value")
	mustCreate(t, s, acct)
	changeSpec(gw, 1)
	mustUpdate(t, s, gw)
	mustUpdate(t, s, acct) // a write that changes nothing is still a change
	acct.Status.Phase = "Ready"
	mustUpdate(t, s, acct)
	stale := clone(t, gw)
	stale.GetMetadata().ResourceVersion = "1"
	wantErr(t, "stale update", s.Update(ctx(t), stale), store.ErrConflict)
	if err := s.Delete(ctx(t), gw.GetTypeMeta().Kind, gw.Key(), ""); err != nil {
		t.Fatal(err)
	}
	last := mustRV(t, s)

	cs := mustChanges(t, s, start, 0)
	want := []string{
		fmt.Sprintf("ADDED PrivateCloudGateway/gw@%d", start+1),
		fmt.Sprintf("ADDED CloudAccount/acct@%d", start+2),
		fmt.Sprintf("MODIFIED PrivateCloudGateway/gw@%d", start+3),
		fmt.Sprintf("MODIFIED CloudAccount/acct@%d", start+4),
		fmt.Sprintf("MODIFIED CloudAccount/acct@%d", start+5),
		fmt.Sprintf("DELETED PrivateCloudGateway/gw@%d", last),
	}
	if got := describeChanges(cs); !slices.Equal(got, want) {
		t.Fatalf("changes:\n%v\nwant\n%v", got, want)
	}
	for _, c := range cs {
		if c.Object.GetTypeMeta().Kind != c.Kind || c.Object.Key() != c.Key ||
			c.Object.GetMetadata().ResourceVersion != strconv.FormatInt(c.ResourceVersion, 10) {
			t.Errorf("change %d carries %s %s at resourceVersion %s", c.ResourceVersion, c.Object.GetTypeMeta().Kind, c.Object.Key(), c.Object.GetMetadata().ResourceVersion)
		}
	}
	// The account as written, its secret reported as set and never opened.
	got := cs[4].Object.(*v1alpha1.CloudAccount)
	if got.Status.Phase != "Ready" || !got.Spec.Azure.ClientSecretSet || !got.Spec.Azure.ClientSecret.Empty() {
		t.Errorf("account in the feed: phase %q, clientSecretSet %v, secret opened %v", got.Status.Phase, got.Spec.Azure.ClientSecretSet, !got.Spec.Azure.ClientSecret.Empty())
	}
	// The deleted gateway as it last was.
	if g := cs[5].Object.(*v1alpha1.PrivateCloudGateway); !slices.Equal(g.Spec.Proxy.NoProxy, gw.(*v1alpha1.PrivateCloudGateway).Spec.Proxy.NoProxy) {
		t.Errorf("deleted gateway in the feed: %+v", g.Spec)
	}

	// Resuming and paging.
	if got := describeChanges(mustChanges(t, s, start+3, 0)); !slices.Equal(got, want[3:]) {
		t.Errorf("changes after %d: %v, want %v", start+3, got, want[3:])
	}
	if got := describeChanges(mustChanges(t, s, start, 2)); !slices.Equal(got, want[:2]) {
		t.Errorf("two changes after %d: %v, want %v", start, got, want[:2])
	}
	if cs := mustChanges(t, s, last, 0); len(cs) != 0 {
		t.Errorf("changes after the last one: %v", describeChanges(cs))
	}
	// A list reflects the last write.
	if res := mustList(t, s, v1alpha1.KindCloudAccount, store.ListOptions{}); res.ResourceVersion != last {
		t.Errorf("list resourceVersion %d, want %d", res.ResourceVersion, last)
	}
	// Refused writes are no changes.
	CreateTargets(t, s)
	mustCreate(t, s, NewObject(v1alpha1.KindCluster, "user"))
	before := mustRV(t, s)
	wantErr(t, "delete in use", s.Delete(ctx(t), v1alpha1.KindCloudAccount, TargetAccount, ""), store.ErrInUse)
	wantErr(t, "create taken", s.Create(ctx(t), NewObject(v1alpha1.KindCluster, "user")), store.ErrAlreadyExists)
	if cs := mustChanges(t, s, before, 0); len(cs) != 0 {
		t.Errorf("refused writes made changes: %v", describeChanges(cs))
	}
}

// testChangesSignal checks that Changed is closed by a write of the store.
func testChangesSignal(t *testing.T, s store.Store) {
	ch := s.Changed()
	select {
	case <-ch:
		// A listener may report its (re)connection once: take the next signal.
		ch = s.Changed()
	default:
	}
	mustCreate(t, s, NewObject(v1alpha1.KindPrivateCloudGateway, "signal"))
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Changed was not closed by a write")
	}
}

// testChangesInCommitOrder writes from many goroutines while a reader follows the feed from
// where it got to: the reader sees every write exactly once, in increasing resourceVersions, as
// one full read afterwards does. A feed whose resourceVersions are not in commit order would
// let the reader step over a write that commits late.
func testChangesInCommitOrder(t *testing.T, s store.Store) {
	const writers, rounds = 8, 25
	start := mustRV(t, s)
	done := make(chan struct{})
	var seen []int64
	var readErr error
	var reader sync.WaitGroup
	reader.Go(func() {
		cursor := start
		for finished := false; ; {
			select {
			case <-done:
				finished = true
			default:
			}
			cs, err := s.Changes(ctx(t), cursor, 7)
			if err != nil {
				readErr = err
				return
			}
			for _, c := range cs {
				seen = append(seen, c.ResourceVersion)
				cursor = c.ResourceVersion
			}
			if finished && len(cs) == 0 {
				return
			}
		}
	})
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range writers {
		wg.Go(func() {
			obj := NewObject(v1alpha1.KindClusterProfile, "writer-"+strconv.Itoa(w))
			if err := s.Create(c, obj); err != nil {
				t.Errorf("create: %v", err)
				return
			}
			for r := range rounds {
				changeSpec(obj, r)
				if err := s.Update(c, obj); err != nil {
					t.Errorf("update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	reader.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	var all []int64
	for _, ch := range mustChanges(t, s, start, 0) {
		all = append(all, ch.ResourceVersion)
	}
	if len(all) != writers*(rounds+1) {
		t.Errorf("%d changes for %d writes", len(all), writers*(rounds+1))
	}
	if !slices.IsSorted(all) {
		t.Errorf("changes out of order: %v", all)
	}
	if !slices.Equal(seen, all) {
		t.Errorf("the reader following the feed saw %d changes, the feed holds %d: missed %v", len(seen), len(all), missing(all, seen))
	}
}

func missing(all, seen []int64) []int64 {
	var out []int64
	for _, rv := range all {
		if !slices.Contains(seen, rv) {
			out = append(out, rv)
		}
	}
	return out
}

// testChangesExpire prunes the feed: a read from before the horizon fails with an
// *ExpiredError, a read from the horizon on goes on.
func testChangesExpire(t *testing.T, s store.Store) {
	start := mustRV(t, s)
	obj := NewObject(v1alpha1.KindPrivateCloudGateway, "old")
	mustCreate(t, s, obj)
	changeSpec(obj, 1)
	mustUpdate(t, s, obj)
	last := mustRV(t, s)
	if err := s.PruneChanges(ctx(t), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if cs := mustChanges(t, s, start, 0); len(cs) != 2 {
		t.Fatalf("pruning changes older than an hour dropped recent ones: %v", describeChanges(cs))
	}
	if err := s.PruneChanges(ctx(t), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Changes(ctx(t), start, 0)
	var ee *store.ExpiredError
	if !errors.As(err, &ee) || !errors.Is(err, store.ErrExpired) {
		t.Fatalf("changes after a pruned resourceVersion: %v, want an *ExpiredError", err)
	}
	if ee.After != start || ee.Horizon != last {
		t.Errorf("expired error %+v, want after %d, horizon %d", ee, start, last)
	}
	if cs := mustChanges(t, s, last, 0); len(cs) != 0 {
		t.Errorf("changes after the horizon: %v", describeChanges(cs))
	}
	if rv := mustRV(t, s); rv != last {
		t.Errorf("resourceVersion %d after pruning every change, want %d", rv, last)
	}
	if res := mustList(t, s, v1alpha1.KindPrivateCloudGateway, store.ListOptions{}); res.ResourceVersion != last {
		t.Errorf("list resourceVersion %d after pruning, want %d", res.ResourceVersion, last)
	}
	changeSpec(obj, 2)
	mustUpdate(t, s, obj)
	if got := describeChanges(mustChanges(t, s, last, 0)); len(got) != 1 || got[0] != fmt.Sprintf("MODIFIED PrivateCloudGateway/old@%d", last+1) {
		t.Errorf("changes after pruning: %v", got)
	}
}

// testChangesOfAnotherStore writes through one store and reads the feed through another on the
// same storage, as two servers sharing a database do; reopened, the feed goes on.
func testChangesOfAnotherStore(t *testing.T, st Storage) {
	sealer := NewSealer(t)
	a, b := mustOpen(t, st, sealer), mustOpen(t, st, sealer)
	defer closeStore(t, b)
	start := mustRV(t, b)
	obj := NewObject(v1alpha1.KindPrivateCloudGateway, "shared")
	mustCreate(t, a, obj)
	if err := a.Delete(ctx(t), obj.GetTypeMeta().Kind, obj.Key(), ""); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("ADDED PrivateCloudGateway/shared@%d", start+1), fmt.Sprintf("DELETED PrivateCloudGateway/shared@%d", start+2)}
	if got := describeChanges(mustChanges(t, b, start, 0)); !slices.Equal(got, want) {
		t.Errorf("changes read by the other store: %v, want %v", got, want)
	}
	closeStore(t, a)
	a = mustOpen(t, st, sealer)
	defer closeStore(t, a)
	if got := describeChanges(mustChanges(t, a, start, 0)); !slices.Equal(got, want) {
		t.Errorf("changes after reopening: %v, want %v", got, want)
	}
}

// testChangesReportSecrets writes objects that carry secrets: each change reports which are
// stored (a created, a modified and a deleted object alike) and holds none of them.
func testChangesReportSecrets(t *testing.T, s store.Store) {
	start := mustRV(t, s)
	acct := NewObject(v1alpha1.KindCloudAccount, "sealed").(*v1alpha1.CloudAccount)
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret("feed-client-secret")
	mustCreate(t, s, acct)
	gw := NewObject(v1alpha1.KindPrivateCloudGateway, "sealed").(*v1alpha1.PrivateCloudGateway)
	gw.Spec.Proxy.HTTPProxy = "http://svc@proxy.corp.example:3128"
	gw.Spec.Proxy.HTTPProxyPassword = v1alpha1.NewSecret("feed-proxy-password")
	mustCreate(t, s, gw)
	got := mustGet(t, s, v1alpha1.KindPrivateCloudGateway, "sealed")
	got.GetStatus().Phase = "Ready"
	mustUpdate(t, s, got)
	for _, kind := range []string{v1alpha1.KindCloudAccount, v1alpha1.KindPrivateCloudGateway} {
		if err := s.Delete(ctx(t), kind, "sealed", ""); err != nil {
			t.Fatal(err)
		}
	}
	cs := mustChanges(t, s, start, 0)
	if len(cs) != 5 {
		t.Fatalf("changes: %v", describeChanges(cs))
	}
	for _, c := range cs {
		switch o := c.Object.(type) {
		case *v1alpha1.CloudAccount:
			if !o.Spec.Azure.ClientSecretSet || !o.Spec.Azure.ClientSecret.Empty() {
				t.Errorf("%s %s: clientSecretSet %v, secret held %v", c.Type, c.Key, o.Spec.Azure.ClientSecretSet, !o.Spec.Azure.ClientSecret.Empty())
			}
		case *v1alpha1.PrivateCloudGateway:
			px := o.Spec.Proxy
			if !px.HTTPProxyPasswordSet || px.HTTPSProxyPasswordSet || !px.HTTPProxyPassword.Empty() {
				t.Errorf("%s %s: httpProxyPasswordSet %v, httpsProxyPasswordSet %v, password held %v",
					c.Type, c.Key, px.HTTPProxyPasswordSet, px.HTTPSProxyPasswordSet, !px.HTTPProxyPassword.Empty())
			}
		}
	}
}
