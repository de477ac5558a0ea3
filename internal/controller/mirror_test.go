package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// mirrored returns the keys of the mirror's clusters with their resourceVersions.
func mirrored(m *mirror) []string {
	var out []string
	m.each(kindCluster, func(obj v1alpha1.Object) {
		out = append(out, obj.Key()+"@"+obj.GetMetadata().ResourceVersion)
	})
	return out
}

// stored returns the keys of the store's clusters with their resourceVersions.
func stored(t *testing.T, st store.Store) []string {
	t.Helper()
	page, err := st.List(context.Background(), kindCluster, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, obj := range page.Items {
		out = append(out, obj.Key()+"@"+obj.GetMetadata().ResourceVersion)
	}
	return out
}

// countingStore counts the lists of a store.
type countingStore struct {
	store.Store
	lists int
}

func (s *countingStore) List(ctx context.Context, kind string, opts store.ListOptions) (store.ListResult, error) {
	s.lists++
	return s.Store.List(ctx, kind, opts)
}

// TestMirrorFollowsTheStore checks that the mirror holds what the store holds after creations,
// updates and deletions, reading the change feed rather than listing, and lists again when the
// feed no longer holds what it needs.
func TestMirrorFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: sqliteStore(t)}
	m := newMirror(st, kindCluster, kindAccount)
	create := func(name string) v1alpha1.Object {
		obj := storetest.NewObject(kindCluster, name)
		if err := st.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	check := func(what string, lists int) {
		t.Helper()
		if err := m.sync(ctx); err != nil {
			t.Fatalf("%s: sync: %v", what, err)
		}
		if got, want := mirrored(m), stored(t, st.Store); !slices.Equal(got, want) {
			t.Errorf("%s: mirror %v, store %v", what, got, want)
		}
		if st.lists != lists {
			t.Errorf("%s: %d lists so far, want %d", what, st.lists, lists)
		}
	}
	for _, ref := range []v1alpha1.Object{storetest.NewObject(kindAccount, "acct-1"), storetest.NewObject(v1alpha1.KindClusterProfile, "base")} {
		if err := st.Create(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	a := create("a")
	create("b")
	check("first sync", 2) // clusters and cloud accounts
	create("c")
	a.GetMetadata().Labels["team"] = "data"
	if err := st.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	check("after a creation and an update", 2)
	if err := st.Delete(ctx, kindCluster, "b", ""); err != nil {
		t.Fatal(err)
	}
	check("after a deletion", 2)
	check("with nothing changed", 2)

	// d's creation is pruned from the feed before the mirror read it: it must list again.
	create("d")
	if err := st.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	create("e")
	check("after the feed was pruned", 4)
}

// TestMirrorKeepsLaterVersions checks that a change older than the version the mirror holds
// (a list read after it) is not applied, nor a deletion of an object made again since.
func TestMirrorKeepsLaterVersions(t *testing.T) {
	obj := func(rv string) v1alpha1.Object {
		o := storetest.NewObject(kindCluster, "a")
		o.GetMetadata().ResourceVersion = rv
		return o
	}
	tests := []struct {
		name   string
		held   string // "" none
		change store.Change
		want   string // resourceVersion held after, "" none
	}{
		{"new object", "", store.Change{Type: store.ChangeAdded, Kind: kindCluster, Key: "a", ResourceVersion: 5, Object: obj("5")}, "5"},
		{"newer version", "5", store.Change{Type: store.ChangeModified, Kind: kindCluster, Key: "a", ResourceVersion: 7, Object: obj("7")}, "7"},
		{"older version", "9", store.Change{Type: store.ChangeModified, Kind: kindCluster, Key: "a", ResourceVersion: 7, Object: obj("7")}, "9"},
		{"deletion", "5", store.Change{Type: store.ChangeDeleted, Kind: kindCluster, Key: "a", ResourceVersion: 6, Object: obj("6")}, ""},
		{"deletion before a re-creation", "9", store.Change{Type: store.ChangeDeleted, Kind: kindCluster, Key: "a", ResourceVersion: 6, Object: obj("6")}, "9"},
		{"another kind", "", store.Change{Type: store.ChangeAdded, Kind: v1alpha1.KindClusterProfile, Key: "a", ResourceVersion: 5, Object: obj("5")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMirror(nil, kindCluster)
			if tt.held != "" {
				m.objs[kindCluster]["a"] = obj(tt.held)
			}
			m.apply(tt.change)
			got := ""
			if o, ok := m.objs[kindCluster]["a"]; ok {
				got = o.GetMetadata().ResourceVersion
			}
			if got != tt.want {
				t.Errorf("holds version %q, want %q", got, tt.want)
			}
		})
	}
}
