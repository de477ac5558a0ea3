package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// statusWriter writes the status of kind/key through the store, as the controller does, until
// stop is closed: read, set the phase to a new value, update, and read again on a conflict. It
// returns the phase of its last successful write.
func statusWriter(ctx context.Context, t *testing.T, st store.Store, kind, key string, stop <-chan struct{}) <-chan string {
	last := make(chan string, 1)
	go func() {
		written := ""
		defer func() { last <- written }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			obj, err := st.Get(ctx, kind, key)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if err != nil {
				t.Errorf("status writer: get: %v", err)
				return
			}
			phase := "Pass-" + strconv.Itoa(i)
			obj.GetStatus().Phase = phase
			switch err := st.Update(ctx, obj); {
			case err == nil:
				written = phase
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			default:
				t.Errorf("status writer: update: %v", err)
				return
			}
		}
	}()
	return last
}

// TestBlindPutsAllLand sends 20 PUTs without a resourceVersion at once, each with its own spec,
// while a controller-like writer keeps updating the status: every PUT succeeds, the stored spec
// is one of theirs, the generation counts all 20, and the status the writer last stored is kept.
func TestBlindPutsAllLand(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			srv := newTestServerOn(t, ts.open(t))
			srv.create(gateway("pcg"))
			const writers = 20
			stop := make(chan struct{})
			lastStatus := statusWriter(t.Context(), t, srv.store, v1alpha1.KindPrivateCloudGateway, "pcg", stop)

			results := make([]*response, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					gw := gateway("pcg")
					gw.Spec.Network.VirtualNetwork = fmt.Sprintf("vnet-%d", i)
					results[i] = srv.apply(gw, "")
				})
			}
			wg.Wait()
			close(stop)
			phase := <-lastStatus

			landed := 0
			for i, r := range results {
				if r.code == http.StatusOK && r.header.Get(ApplyResultHeader) == ApplyConfigured {
					landed++
				} else {
					t.Errorf("PUT %d: %d %q %s", i, r.code, r.header.Get(ApplyResultHeader), r.body)
				}
			}
			if landed != writers {
				t.Fatalf("%d of %d blind PUTs landed", landed, writers)
			}
			got := srv.get(v1alpha1.KindPrivateCloudGateway, "pcg", http.StatusOK).object(t, v1alpha1.KindPrivateCloudGateway).(*v1alpha1.PrivateCloudGateway)
			var vnets []string
			for i := range writers {
				vnets = append(vnets, fmt.Sprintf("vnet-%d", i))
			}
			if !slices.Contains(vnets, got.Spec.Network.VirtualNetwork) {
				t.Errorf("stored virtualNetwork %q is none of the PUTs'", got.Spec.Network.VirtualNetwork)
			}
			if got.Metadata.Generation != 1+writers {
				t.Errorf("generation %d after %d spec changes, want %d", got.Metadata.Generation, writers, 1+writers)
			}
			if phase != "" && got.Status.Phase != phase {
				t.Errorf("status phase %q, want %q: a PUT lost the status written meanwhile", got.Status.Phase, phase)
			}
		})
	}
}

// TestConcurrentDeletesAllAnswer sends 20 DELETEs of an object with a finalizer at once while
// a controller-like writer keeps updating its status: each answers 200 with the object marked
// for deletion, and the mark is set once.
func TestConcurrentDeletesAllAnswer(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			srv := newTestServerOn(t, ts.open(t))
			gw := gateway("pcg")
			gw.Metadata.Finalizers = []string{"strata.dev/test"}
			if err := srv.store.Create(t.Context(), gw); err != nil {
				t.Fatal(err)
			}
			const writers = 20
			stop := make(chan struct{})
			lastStatus := statusWriter(t.Context(), t, srv.store, v1alpha1.KindPrivateCloudGateway, "pcg", stop)
			results := make([]*response, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() { results[i] = srv.do(http.MethodDelete, objPath(gw), nil, "") })
			}
			wg.Wait()
			close(stop)
			<-lastStatus
			for i, r := range results {
				if r.code != http.StatusOK || r.object(t, v1alpha1.KindPrivateCloudGateway).GetMetadata().DeletionTimestamp == nil {
					t.Errorf("DELETE %d: %d %s", i, r.code, r.body)
				}
			}
			if ev := srv.events(v1alpha1.KindPrivateCloudGateway, "pcg"); !slices.Equal(ev, []string{EventDeletionRequested}) {
				t.Errorf("events %v, want one %s", ev, EventDeletionRequested)
			}
		})
	}
}
