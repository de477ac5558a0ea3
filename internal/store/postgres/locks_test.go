package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// openWithTargets opens a store in st and creates the objects a cluster refers to.
func openWithTargets(t *testing.T, st storage) store.Store {
	t.Helper()
	s, err := st.Open(t.Context(), storetest.NewSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.CreateTargets(t, s)
	return s
}

// lockRow begins a transaction of its own that locks the row of kind/key FOR UPDATE, as a
// deleter does, and returns it.
func lockRow(t *testing.T, st storage, kind, key string) pgx.Tx {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), st.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tag, err := tx.Exec(t.Context(), `SELECT 1 FROM objects WHERE kind = $1 AND key = $2 FOR UPDATE`, kind, key)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("lock %s %s: %v (%d rows)", kind, key, err, tag.RowsAffected())
	}
	return tx
}

// TestReferrerWaitsForDeleter holds the row of an account as a deleter does: a cluster created
// meanwhile waits for that transaction, and once the deletion commits it is refused, so the
// two cannot both succeed whatever the timing.
func TestReferrerWaitsForDeleter(t *testing.T) {
	st := newStorage(t)
	s := openWithTargets(t, st)
	deleter := lockRow(t, st, v1alpha1.KindCloudAccount, storetest.TargetAccount)

	done := make(chan error, 1)
	go func() { done <- s.Create(t.Context(), storetest.NewObject(v1alpha1.KindCluster, "racer")) }()
	select {
	case err := <-done:
		t.Fatalf("the create did not wait for the transaction holding its account: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := deleter.Exec(t.Context(), `DELETE FROM objects WHERE kind = $1 AND key = $2`,
		v1alpha1.KindCloudAccount, storetest.TargetAccount); err != nil {
		t.Fatal(err)
	}
	if err := deleter.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	var re *store.ReferenceError
	if err := <-done; !errors.As(err, &re) || len(re.Missing) != 1 || re.Missing[0].Key != storetest.TargetAccount {
		t.Fatalf("create after the account was deleted: %v, want its account missing", err)
	}
}

// TestDeleterWaitsForReferrer checks the other order: a deletion that starts while a cluster
// is being created waits for it and then finds the cluster.
func TestDeleterWaitsForReferrer(t *testing.T) {
	st := newStorage(t)
	s := openWithTargets(t, st)
	conn, err := pgx.Connect(t.Context(), st.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// A referrer's transaction that has locked its targets and not yet committed.
	referrer, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := referrer.Exec(t.Context(), `SELECT 1 FROM objects WHERE kind = $1 AND key = $2 FOR KEY SHARE`,
		v1alpha1.KindCloudAccount, storetest.TargetAccount); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Delete(t.Context(), v1alpha1.KindCloudAccount, storetest.TargetAccount, "") }()
	select {
	case err := <-done:
		t.Fatalf("the delete did not wait for the transaction holding the account: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := referrer.Exec(t.Context(), `INSERT INTO refs (kind, key, target_kind, target_key) VALUES ('Cluster', 'racer', $1, $2)`,
		v1alpha1.KindCloudAccount, storetest.TargetAccount); err != nil {
		t.Fatal(err)
	}
	if err := referrer.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete after a referrer committed: %v, want ErrInUse", err)
	}
}

// TestStatusWriteLocksNoTarget checks that writing a cluster's status, or changing its spec
// without changing what it refers to, does not touch its account: it goes through while
// another transaction holds the account's row.
func TestStatusWriteLocksNoTarget(t *testing.T) {
	st := newStorage(t)
	s := openWithTargets(t, st)
	cl := storetest.NewObject(v1alpha1.KindCluster, "busy").(*v1alpha1.Cluster)
	if err := s.Create(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
	holder := lockRow(t, st, v1alpha1.KindCloudAccount, storetest.TargetAccount)
	defer holder.Rollback(context.Background())

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	cl.Status.Phase = "Provisioning"
	if err := s.Update(ctx, cl); err != nil {
		t.Fatalf("status write while the account is held: %v", err)
	}
	cl.Spec.MachinePools[1].Count++
	if err := s.Update(ctx, cl); err != nil {
		t.Fatalf("spec change with the same references while the account is held: %v", err)
	}
}

// TestChangedByAnotherServer checks that a write committed by one store closes the Changed
// channel of another on the same database: PostgreSQL notifies it.
func TestChangedByAnotherServer(t *testing.T) {
	st := newStorage(t)
	sealer := storetest.NewSealer(t)
	open := func() store.Store {
		s, err := st.Open(t.Context(), sealer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the other store's Changed was not closed", what)
		}
	}
	// The first signal comes once b listens: from its connection or from the write.
	first := b.Changed()
	if err := a.Create(t.Context(), storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "one")); err != nil {
		t.Fatal(err)
	}
	wait("first write", first)
	next := b.Changed()
	if err := a.Create(t.Context(), storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "two")); err != nil {
		t.Fatal(err)
	}
	wait("second write", next)
}
