// Package storetest is the conformance suite of the controller's Store: the server's local
// store and a gateway's remote store both pass it, so that the one reconciler behaves the
// same wherever it runs.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/store"
)

// Harness is one implementation under test.
type Harness struct {
	// Store is the implementation.
	Store controller.Store
	// Backing is the store the objects live in (the same as Store for the local one); the
	// suite creates its objects there.
	Backing store.Store
	// Account is the name of a stored cloud account whose clusters Store serves, with client
	// secret Secret.
	Account, Secret string
}

// Run runs the suite; newHarness makes a fresh implementation with an empty store but for
// the account.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		f    func(t *testing.T, h Harness)
	}{
		{"get and not found", testGet},
		{"status update and conflicts", testUpdate},
		{"list pages", testList},
		{"leases", testLeases},
		{"secrets", testSecrets},
		{"events", testEvents},
		{"delete", testDelete},
		{"account carries its secret", testAccountSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, newHarness(t)) })
	}
}

// cluster creates a cluster of the harness's account in the backing store.
func cluster(t *testing.T, h Harness, name string) *v1alpha1.Cluster {
	t.Helper()
	cl := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
	cl.Metadata.Name = name
	cl.Spec.CloudAccount = h.Account
	cl.Spec.Tags = []string{"team:a"}
	if err := h.Backing.Create(context.Background(), cl); err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	return cl
}

func getCluster(t *testing.T, s controller.Store, name string) *v1alpha1.Cluster {
	t.Helper()
	obj, err := s.Get(context.Background(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return obj.(*v1alpha1.Cluster)
}

func testGet(t *testing.T, h Harness) {
	cl := cluster(t, h, "a")
	got := getCluster(t, h.Store, "a")
	if got.Metadata.UID != cl.Metadata.UID || got.Spec.CloudAccount != h.Account {
		t.Errorf("got %+v", got.Metadata)
	}
	if _, err := h.Store.Get(context.Background(), v1alpha1.KindCluster, "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent: %v, want ErrNotFound", err)
	}
}

func testUpdate(t *testing.T, h Harness) {
	ctx := context.Background()
	cluster(t, h, "a")
	cl := getCluster(t, h.Store, "a")
	stale := cl.Metadata.ResourceVersion
	cl.Status.Phase = "Provisioning"
	cl.Metadata.Finalizers = []string{controller.Finalizer}
	if err := h.Store.Update(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if cl.Metadata.ResourceVersion == stale {
		t.Error("Update did not set the new resourceVersion on the object")
	}
	got := getCluster(t, h.Store, "a")
	if got.Status.Phase != "Provisioning" || len(got.Metadata.Finalizers) != 1 || got.Metadata.ResourceVersion != cl.Metadata.ResourceVersion {
		t.Errorf("stored %q %v %s", got.Status.Phase, got.Metadata.Finalizers, got.Metadata.ResourceVersion)
	}
	got.Metadata.ResourceVersion = stale
	if err := h.Store.Update(ctx, got); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale update: %v, want ErrConflict", err)
	}
}

func testList(t *testing.T, h Harness) {
	for _, n := range []string{"a", "b", "c"} {
		cluster(t, h, n)
	}
	var names []string
	opts := store.ListOptions{Limit: 2}
	for {
		page, err := h.Store.List(context.Background(), v1alpha1.KindCluster, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range page.Items {
			names = append(names, obj.Key())
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if len(names) != 3 || names[0] != "a" || names[2] != "c" {
		t.Errorf("listed %v", names)
	}
}

func testLeases(t *testing.T, h Harness) {
	ctx := context.Background()
	cluster(t, h, "a")
	ok, err := h.Store.AcquireLease(ctx, "cluster/a", "one", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	if ok, err := h.Store.AcquireLease(ctx, "cluster/a", "two", time.Minute); err != nil || ok {
		t.Fatalf("second holder got the lease: %v %v", ok, err)
	}
	if err := h.Store.ReleaseLease(ctx, "cluster/a", "one"); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Store.AcquireLease(ctx, "cluster/a", "two", time.Minute); err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
}

func testSecrets(t *testing.T, h Harness) {
	ctx := context.Background()
	cl := cluster(t, h, "a")
	name := "cluster/" + cl.Metadata.UID + "/bootstrap"
	if err := h.Store.PutSecret(ctx, name, []byte("ca-key")); err != nil {
		t.Fatal(err)
	}
	b, err := h.Store.GetSecret(ctx, name)
	if err != nil || string(b) != "ca-key" {
		t.Fatalf("get: %q %v", b, err)
	}
	if err := h.Store.DeleteSecret(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.GetSecret(ctx, name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func testEvents(t *testing.T, h Harness) {
	ctx := context.Background()
	cl := cluster(t, h, "a")
	ev := store.Event{Kind: v1alpha1.KindCluster, Key: "a", UID: cl.Metadata.UID, Type: store.EventNormal, Reason: "Test", Message: "hello", Time: time.Now()}
	if err := h.Store.RecordEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	evs, err := h.Backing.ListEvents(ctx, v1alpha1.KindCluster, "a", cl.Metadata.UID)
	if err != nil || len(evs) != 1 || evs[0].Message != "hello" || evs[0].Reason != "Test" {
		t.Errorf("events %+v %v", evs, err)
	}
}

func testDelete(t *testing.T, h Harness) {
	ctx := context.Background()
	cluster(t, h, "a")
	cl := getCluster(t, h.Store, "a")
	now := time.Now().UTC()
	cl.Metadata.DeletionTimestamp = &now
	if err := h.Backing.Update(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.Delete(ctx, v1alpha1.KindCluster, "a", "1"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale delete: %v, want ErrConflict", err)
	}
	if err := h.Store.Delete(ctx, v1alpha1.KindCluster, "a", cl.Metadata.ResourceVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.Get(ctx, v1alpha1.KindCluster, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func testAccountSecret(t *testing.T, h Harness) {
	obj, err := h.Store.Get(context.Background(), v1alpha1.KindCloudAccount, h.Account)
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal(); got != h.Secret {
		t.Errorf("client secret %q, want the stored one", got)
	}
}
