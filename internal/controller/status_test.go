package controller

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// sqliteStore is a SQLite store in the test's directory, closed when the test ends.
func sqliteStore(t *testing.T) store.Store {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sq, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	return sq
}

// slowStore is a real SQLite store whose updates take a while and are counted, so that
// status changes made during one have to wait for it.
type slowStore struct {
	store.Store
	updates atomic.Int64
}

func (s *slowStore) Update(ctx context.Context, obj v1alpha1.Object) error {
	s.updates.Add(1)
	time.Sleep(20 * time.Millisecond)
	return s.Store.Update(ctx, obj)
}

// TestStatusWritesAreGroupCommitted changes a pass's status from many goroutines at once: each
// change is in the store when its update returns, and changes made while a write was out go
// out together, in fewer writes than changes.
func TestStatusWritesAreGroupCommitted(t *testing.T) {
	ctx := context.Background()
	sq := sqliteStore(t)
	st := &slowStore{Store: sq}
	acct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	acct.Metadata.Name = "a1"
	if err := sq.Create(ctx, acct); err != nil {
		t.Fatal(err)
	}
	cl := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
	cl.Metadata.Name = "c1"
	cl.Spec.CloudAccount = "a1" // the store keeps a cluster only with its account
	if err := sq.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	obj, err := sq.Get(ctx, v1alpha1.KindCluster, "c1")
	if err != nil {
		t.Fatal(err)
	}
	p := newPass(New(Config{Store: st}), obj.(*v1alpha1.Cluster))

	const changes = 20
	var wg sync.WaitGroup
	for i := range changes {
		wg.Go(func() {
			k := fmt.Sprintf("node-%02d", i)
			if err := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
				s.Inventory = append(s.Inventory, v1alpha1.InventoryItem{Key: k})
			}); err != nil {
				t.Error(err)
				return
			}
			stored, err := sq.Get(ctx, v1alpha1.KindCluster, "c1")
			if err != nil {
				t.Error(err)
				return
			}
			if item(&stored.(*v1alpha1.Cluster).Status, k) == nil {
				t.Errorf("update of %s returned before the store held it", k)
			}
		})
	}
	wg.Wait()
	stored, err := sq.Get(ctx, v1alpha1.KindCluster, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stored.(*v1alpha1.Cluster).Status.Inventory); n != changes {
		t.Errorf("the store holds %d of %d changes", n, changes)
	}
	if n := st.updates.Load(); n >= changes {
		t.Errorf("%d changes made at once took %d writes: want them grouped", changes, n)
	}
	t.Logf("%d changes, %d writes", changes, st.updates.Load())
}
