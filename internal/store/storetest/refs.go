package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

var (
	accountRef = v1alpha1.Ref{Kind: v1alpha1.KindCloudAccount, Key: TargetAccount}
	profileRef = v1alpha1.Ref{Kind: v1alpha1.KindClusterProfile, Key: TargetProfile + "@1.0.0"}
)

func wantReferenceError(t *testing.T, what string, err error, missing, deleting []v1alpha1.Ref) {
	t.Helper()
	var re *store.ReferenceError
	if !errors.As(err, &re) || !errors.Is(err, store.ErrBrokenReference) {
		t.Fatalf("%s: got %v, want a *store.ReferenceError", what, err)
	}
	if !slices.Equal(re.Missing, missing) || !slices.Equal(re.Deleting, deleting) {
		t.Errorf("%s: missing %v and deleting %v, want %v and %v", what, re.Missing, re.Deleting, missing, deleting)
	}
}

func wantInUse(t *testing.T, what string, err error, users ...v1alpha1.Ref) {
	t.Helper()
	var ie *store.InUseError
	if !errors.As(err, &ie) || !errors.Is(err, store.ErrInUse) {
		t.Fatalf("%s: got %v, want a *store.InUseError", what, err)
	}
	if !slices.Equal(ie.Referrers, users) {
		t.Errorf("%s: referrers %v, want %v", what, ie.Referrers, users)
	}
}

func refOf(obj v1alpha1.Object) v1alpha1.Ref {
	return v1alpha1.Ref{Kind: obj.GetTypeMeta().Kind, Key: obj.Key()}
}

func mustReferrers(t *testing.T, s store.Store, ref v1alpha1.Ref) []v1alpha1.Ref {
	t.Helper()
	users, err := s.Referrers(ctx(t), ref.Kind, ref.Key)
	if err != nil {
		t.Fatalf("referrers of %v: %v", ref, err)
	}
	return users
}

// testReferencesMustExist checks that an object referring to objects that do not exist is
// not stored.
func testReferencesMustExist(t *testing.T, s store.Store) {
	cl := NewObject(v1alpha1.KindCluster, "orphan")
	err := s.Create(ctx(t), cl)
	wantReferenceError(t, "create a cluster without its account and profile", err, []v1alpha1.Ref{accountRef, profileRef}, nil)
	if cl.GetMetadata().UID != "" {
		t.Errorf("a refused create set the uid %q", cl.GetMetadata().UID)
	}
	mustCreate(t, s, NewObject(v1alpha1.KindCloudAccount, TargetAccount))
	err = s.Create(ctx(t), NewObject(v1alpha1.KindCluster, "orphan"))
	wantReferenceError(t, "create a cluster without its profile", err, []v1alpha1.Ref{profileRef}, nil)
	if _, err := s.Get(ctx(t), v1alpha1.KindCluster, "orphan"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused cluster was stored: %v", err)
	}

	acct := NewObject(v1alpha1.KindCloudAccount, "behind-gateway").(*v1alpha1.CloudAccount)
	acct.Spec.Gateway = "no-such-gateway"
	err = s.Create(ctx(t), acct)
	wantReferenceError(t, "create an account whose gateway does not exist", err,
		[]v1alpha1.Ref{{Kind: v1alpha1.KindPrivateCloudGateway, Key: "no-such-gateway"}}, nil)

	mustCreate(t, s, NewObject(v1alpha1.KindPrivateCloudGateway, "no-such-gateway"))
	mustCreate(t, s, acct)
	if users := mustReferrers(t, s, v1alpha1.Ref{Kind: v1alpha1.KindPrivateCloudGateway, Key: "no-such-gateway"}); !slices.Equal(users, []v1alpha1.Ref{refOf(acct)}) {
		t.Errorf("referrers of the gateway: %v", users)
	}
}

// testReferencesBlockDeletion checks that an object others refer to is neither deleted nor
// marked for deletion, until they are gone.
func testReferencesBlockDeletion(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	b, a := NewObject(v1alpha1.KindCluster, "b-user"), NewObject(v1alpha1.KindCluster, "a-user")
	mustCreate(t, s, b)
	mustCreate(t, s, a)
	users := []v1alpha1.Ref{refOf(a), refOf(b)}
	for _, target := range []v1alpha1.Ref{accountRef, profileRef} {
		if got := mustReferrers(t, s, target); !slices.Equal(got, users) {
			t.Errorf("referrers of %v: %v, want %v", target, got, users)
		}
		wantInUse(t, "delete "+target.Key, s.Delete(ctx(t), target.Kind, target.Key, ""), users...)
		obj := mustGet(t, s, target.Kind, target.Key)
		now := time.Now().UTC().Truncate(time.Second)
		obj.GetMetadata().DeletionTimestamp = &now
		rv := obj.GetMetadata().ResourceVersion
		wantInUse(t, "mark "+target.Key+" for deletion", s.Update(ctx(t), obj), users...)
		if obj.GetMetadata().ResourceVersion != rv {
			t.Errorf("a refused update changed the resourceVersion")
		}
		if got := mustGet(t, s, target.Kind, target.Key); got.GetMetadata().DeletionTimestamp != nil {
			t.Errorf("%s was marked for deletion while in use", target.Key)
		}
	}
	if err := s.Delete(ctx(t), v1alpha1.KindCluster, "a-user", ""); err != nil {
		t.Fatal(err)
	}
	wantInUse(t, "delete the account used by one cluster", s.Delete(ctx(t), accountRef.Kind, accountRef.Key, ""), refOf(b))
	if err := s.Delete(ctx(t), v1alpha1.KindCluster, "b-user", ""); err != nil {
		t.Fatal(err)
	}
	if got := mustReferrers(t, s, accountRef); len(got) != 0 {
		t.Errorf("referrers after the users were deleted: %v", got)
	}
	if err := s.Delete(ctx(t), accountRef.Kind, accountRef.Key, ""); err != nil {
		t.Errorf("delete of an account no longer used: %v", err)
	}
}

// testReferencesToDeleting checks that nothing new may refer to an object being deleted.
func testReferencesToDeleting(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	acct := mustGet(t, s, accountRef.Kind, accountRef.Key)
	now := time.Now().UTC().Truncate(time.Second)
	acct.GetMetadata().DeletionTimestamp = &now
	acct.GetMetadata().Finalizers = []string{"strata.dev/test"}
	mustUpdate(t, s, acct)
	err := s.Create(ctx(t), NewObject(v1alpha1.KindCluster, "late"))
	wantReferenceError(t, "create a cluster whose account is being deleted", err, nil, []v1alpha1.Ref{accountRef})
	// The object being deleted may still be written (its finalizers removed, its status).
	acct.GetMetadata().Finalizers = nil
	mustUpdate(t, s, acct)
	if err := s.Delete(ctx(t), accountRef.Kind, accountRef.Key, acct.GetMetadata().ResourceVersion); err != nil {
		t.Fatal(err)
	}
}

// testReferencesOnUpdate checks that a spec change is held to its new references, and that the
// stored references follow it.
func testReferencesOnUpdate(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	cl := NewObject(v1alpha1.KindCluster, "moving").(*v1alpha1.Cluster)
	mustCreate(t, s, cl)
	stored := clone(t, cl)

	cl.Spec.CloudAccount = "elsewhere"
	wantReferenceError(t, "move to an account that does not exist", s.Update(ctx(t), cl),
		[]v1alpha1.Ref{{Kind: v1alpha1.KindCloudAccount, Key: "elsewhere"}}, nil)
	sameObject(t, "after a refused move", mustGet(t, s, v1alpha1.KindCluster, "moving"), stored)

	mustCreate(t, s, NewObject(v1alpha1.KindCloudAccount, "elsewhere"))
	mustUpdate(t, s, cl)
	if got := mustReferrers(t, s, accountRef); len(got) != 0 {
		t.Errorf("the old account is still referred to by %v", got)
	}
	if got := mustReferrers(t, s, v1alpha1.Ref{Kind: v1alpha1.KindCloudAccount, Key: "elsewhere"}); !slices.Equal(got, []v1alpha1.Ref{refOf(cl)}) {
		t.Errorf("referrers of the new account: %v", got)
	}
	if err := s.Delete(ctx(t), accountRef.Kind, accountRef.Key, ""); err != nil {
		t.Errorf("delete of the account the cluster left: %v", err)
	}

	// Without a spec change no reference is checked: the status of a cluster is written
	// whatever happens to the objects it refers to.
	cl.Status.Phase = "Provisioning"
	mustUpdate(t, s, cl)
	// A cluster being deleted keeps its references until it is gone.
	now := time.Now().UTC().Truncate(time.Second)
	cl.Metadata.DeletionTimestamp = &now
	mustUpdate(t, s, cl)
	wantInUse(t, "delete the account of a cluster being deleted",
		s.Delete(ctx(t), v1alpha1.KindCloudAccount, "elsewhere", ""), refOf(cl))
}

// testReferenceRaces deletes an account and a profile while clusters that refer to them are
// created, many times over: whichever wins, no cluster may be left referring to an object that
// is gone, and each loser gets the error that says why.
func testReferenceRaces(t *testing.T, s store.Store) {
	const rounds = 50
	c := ctx(t)
	for i := range rounds {
		acct := NewObject(v1alpha1.KindCloudAccount, fmt.Sprintf("acct-%d", i))
		prof := NewObject(v1alpha1.KindClusterProfile, fmt.Sprintf("prof-%d", i))
		mustCreate(t, s, acct)
		mustCreate(t, s, prof)
		cl := NewObject(v1alpha1.KindCluster, fmt.Sprintf("cl-%d", i)).(*v1alpha1.Cluster)
		cl.Spec.CloudAccount = acct.Key()
		cl.Spec.Profiles[0].Name = prof.GetMetadata().Name
		errs := make([]error, 3)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; errs[0] = s.Delete(c, acct.GetTypeMeta().Kind, acct.Key(), "") })
		wg.Go(func() { <-start; errs[1] = s.Delete(c, prof.GetTypeMeta().Kind, prof.Key(), "") })
		wg.Go(func() { <-start; errs[2] = s.Create(c, cl) })
		close(start)
		wg.Wait()
		for j, err := range errs[:2] {
			if err != nil && !errors.Is(err, store.ErrInUse) {
				t.Errorf("round %d: delete %d: %v", i, j, err)
			}
		}
		if errs[2] != nil && !errors.Is(errs[2], store.ErrBrokenReference) {
			t.Errorf("round %d: create: %v", i, errs[2])
		}
		created := errs[2] == nil
		if created && (errs[0] == nil || errs[1] == nil) {
			t.Errorf("round %d: the cluster was created and its account (%v) or profile (%v) deleted", i, errs[0], errs[1])
		}
		for _, target := range []v1alpha1.Ref{refOf(acct), refOf(prof)} {
			_, err := s.Get(c, target.Kind, target.Key)
			if created && err != nil {
				t.Errorf("round %d: the cluster refers to %v: %v", i, target, err)
			}
		}
	}
}

// testProfileSpecFrozenInUse checks that the spec of a profile version cannot change while a
// cluster pins it, that its status and labels still can, and that its spec can again once the
// cluster is gone.
func testProfileSpecFrozenInUse(t *testing.T, s store.Store) {
	CreateTargets(t, s)
	cl := NewObject(v1alpha1.KindCluster, "pins")
	mustCreate(t, s, cl)
	prof := mustGet(t, s, profileRef.Kind, profileRef.Key).(*v1alpha1.ClusterProfile)
	prof.Spec.Layers[0].Values = "changed: true\n"
	err := s.Update(ctx(t), prof)
	wantInUse(t, "change the spec of a pinned profile", err, refOf(cl))
	var ie *store.InUseError
	if errors.As(err, &ie) && !ie.SpecFrozen {
		t.Error("the refusal of a spec change does not say SpecFrozen")
	}

	prof = mustGet(t, s, profileRef.Kind, profileRef.Key).(*v1alpha1.ClusterProfile)
	if prof.Spec.Layers[0].Values == "changed: true\n" {
		t.Fatal("the refused spec change was stored")
	}
	prof.Metadata.Labels = map[string]string{"reviewed": "yes"}
	prof.Status.Phase = "Ready"
	mustUpdate(t, s, prof)

	if err := s.Delete(ctx(t), v1alpha1.KindCluster, cl.Key(), ""); err != nil {
		t.Fatal(err)
	}
	prof = mustGet(t, s, profileRef.Kind, profileRef.Key).(*v1alpha1.ClusterProfile)
	prof.Spec.Layers[0].Values = "changed: true\n"
	mustUpdate(t, s, prof)
}

// testProfileSpecRaces changes the spec of a profile version while a cluster that pins it is
// created, many times over: the profile a cluster pins never changes after the cluster exists.
func testProfileSpecRaces(t *testing.T, s store.Store) {
	const rounds = 50
	c := ctx(t)
	mustCreate(t, s, NewObject(v1alpha1.KindCloudAccount, TargetAccount))
	for i := range rounds {
		prof := NewObject(v1alpha1.KindClusterProfile, fmt.Sprintf("prof-%d", i))
		mustCreate(t, s, prof)
		cl := NewObject(v1alpha1.KindCluster, fmt.Sprintf("cl-%d", i)).(*v1alpha1.Cluster)
		cl.Spec.Profiles[0].Name = prof.GetMetadata().Name
		changed := mustGet(t, s, prof.GetTypeMeta().Kind, prof.Key()).(*v1alpha1.ClusterProfile)
		changed.Spec.Layers[0].Values = "round: " + fmt.Sprint(i) + "\n"
		var createErr, updateErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; createErr = s.Create(c, cl) })
		wg.Go(func() { <-start; updateErr = s.Update(c, changed) })
		close(start)
		wg.Wait()
		if createErr != nil {
			t.Fatalf("round %d: create: %v", i, createErr)
		}
		if updateErr != nil && !errors.Is(updateErr, store.ErrInUse) {
			t.Fatalf("round %d: update: %v", i, updateErr)
		}
		// Both may succeed only when the spec changed before the cluster was stored: resource
		// versions follow the order of the writes.
		if updateErr == nil && rvOf(t, changed) > rvOf(t, cl) {
			t.Errorf("round %d: the spec changed (resourceVersion %s) after the cluster that pins it was stored (%s)",
				i, changed.Metadata.ResourceVersion, cl.Metadata.ResourceVersion)
		}
		again := mustGet(t, s, prof.GetTypeMeta().Kind, prof.Key()).(*v1alpha1.ClusterProfile)
		again.Spec.Layers[0].Values = "later\n"
		wantInUse(t, fmt.Sprintf("round %d: change after the cluster exists", i), s.Update(c, again), refOf(cl))
	}
}

// testBindingReferences checks the references of role bindings: a binding is refused while
// its user, team, custom role or filter does not exist, and each of them, but a built-in role,
// cannot be deleted while a binding refers to it.
func testBindingReferences(t *testing.T, s store.Store) {
	user := v1alpha1.Ref{Kind: v1alpha1.KindUser, Key: TargetUser}
	role := v1alpha1.Ref{Kind: v1alpha1.KindRole, Key: TargetRole}
	filter := v1alpha1.Ref{Kind: v1alpha1.KindTagFilter, Key: TargetFilter}
	wantReferenceError(t, "create a binding before its user, role and filter",
		s.Create(ctx(t), NewObject(v1alpha1.KindRoleBinding, "early")), []v1alpha1.Ref{role, filter, user}, nil)
	CreateTargets(t, s)
	team := NewObject(v1alpha1.KindTeam, "platform")
	mustCreate(t, s, team)
	byUser := NewObject(v1alpha1.KindRoleBinding, "by-user")
	mustCreate(t, s, byUser)
	byTeam := NewObject(v1alpha1.KindRoleBinding, "by-team").(*v1alpha1.RoleBinding)
	byTeam.Spec = v1alpha1.RoleBindingSpec{Subject: v1alpha1.BindingSubject{Team: team.Key()}, Role: authz.RoleClusterViewer}
	mustCreate(t, s, byTeam)

	for _, target := range []v1alpha1.Ref{user, role, filter} {
		wantInUse(t, "delete "+target.Kind+" "+target.Key, s.Delete(ctx(t), target.Kind, target.Key, ""), refOf(byUser))
	}
	wantInUse(t, "delete the team", s.Delete(ctx(t), v1alpha1.KindTeam, team.Key(), ""), refOf(byTeam))
	if got := mustReferrers(t, s, v1alpha1.Ref{Kind: v1alpha1.KindRole, Key: authz.RoleClusterViewer}); len(got) != 0 {
		t.Errorf("a built-in role has referrers %v", got)
	}
	for _, b := range []v1alpha1.Object{byUser, byTeam} {
		if err := s.Delete(ctx(t), v1alpha1.KindRoleBinding, b.Key(), ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []v1alpha1.Ref{user, role, filter, refOf(team)} {
		if err := s.Delete(ctx(t), target.Kind, target.Key, ""); err != nil {
			t.Errorf("delete %s %s once no binding refers to it: %v", target.Kind, target.Key, err)
		}
	}
}

// testAPIKeyReferences checks the reference of an API key to its user: a key is refused while
// its user does not exist, and the user cannot be deleted while a key refers to it; writing the
// key's last use (status only) does not move its generation.
func testAPIKeyReferences(t *testing.T, s store.Store) {
	user := v1alpha1.Ref{Kind: v1alpha1.KindUser, Key: TargetUser}
	wantReferenceError(t, "create a key before its user", s.Create(ctx(t), NewObject(v1alpha1.KindAPIKey, "early")), []v1alpha1.Ref{user}, nil)
	CreateTargets(t, s)
	key := NewObject(v1alpha1.KindAPIKey, "abcdefghijk23456").(*v1alpha1.APIKey)
	mustCreate(t, s, key)
	wantInUse(t, "delete the key's user", s.Delete(ctx(t), v1alpha1.KindUser, TargetUser, ""), refOf(key))

	used := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key.Status.LastUsed = &used
	mustUpdate(t, s, key)
	got := mustGet(t, s, v1alpha1.KindAPIKey, key.Key()).(*v1alpha1.APIKey)
	if got.Metadata.Generation != 1 || got.Status.LastUsed == nil || !got.Status.LastUsed.Equal(used) {
		t.Errorf("after writing the last use: generation %d, lastUsed %v; want 1 and %v", got.Metadata.Generation, got.Status.LastUsed, used)
	}

	if err := s.Delete(ctx(t), v1alpha1.KindAPIKey, key.Key(), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx(t), v1alpha1.KindUser, TargetUser, ""); err != nil {
		t.Errorf("delete the user once no key refers to it: %v", err)
	}
}
