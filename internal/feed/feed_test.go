package feed_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// stores are the implementations the feed runs on: each opens a fresh store, and opens
// another store on the same database (another server) when asked.
var stores = []struct {
	name string
	open func(t *testing.T) (st store.Store, another func() store.Store)
}{
	{"sqlite", func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "strata.db")
		sealer := storetest.NewSealer(t)
		open := func() store.Store {
			s, err := sqlite.Open(t.Context(), path, sealer)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	}},
	{"postgres", func(t *testing.T) (store.Store, func() store.Store) {
		_, url := storetest.PostgresSchema(t)
		sealer := storetest.NewSealer(t)
		open := func() store.Store {
			s, err := postgres.Open(t.Context(), url, sealer)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	}},
}

// run runs f on every store.
func run(t *testing.T, f func(t *testing.T, st store.Store, another func() store.Store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st, another := s.open(t)
			f(t, st, another)
		})
	}
}

// start runs a feed of st until the test ends.
func start(t *testing.T, st store.Store, cfg feed.Config) *feed.Feed {
	t.Helper()
	f := feed.New(st, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f
}

func watch(t *testing.T, f *feed.Feed, filter feed.Filter, after int64) *feed.Watcher {
	t.Helper()
	w, err := f.Watch(t.Context(), filter, after)
	if err != nil {
		t.Fatalf("watch %+v after %d: %v", filter, after, err)
	}
	t.Cleanup(w.Stop)
	return w
}

// next returns the next n changes of w as "TYPE Kind/key".
func next(t *testing.T, w *feed.Watcher, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out []string
	for range n {
		c, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("next change after %v: %v", out, err)
		}
		out = append(out, fmt.Sprintf("%s %s/%s", c.Type, c.Kind, c.Key))
	}
	return out
}

func rv(t *testing.T, st store.Store) int64 {
	t.Helper()
	v, err := st.ResourceVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func create(t *testing.T, st store.Store, obj v1alpha1.Object) v1alpha1.Object {
	t.Helper()
	if err := st.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func update(t *testing.T, st store.Store, obj v1alpha1.Object) {
	t.Helper()
	if err := st.Update(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
}

// TestWatch follows writes as they happen: additions, changes and deletions of the watched
// kind, in order, nothing of the others.
func TestWatch(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		f := start(t, st, feed.Config{})
		w := watch(t, f, feed.Filter{Kind: v1alpha1.KindPrivateCloudGateway}, rv(t, st))
		named := watch(t, f, feed.Filter{Kind: v1alpha1.KindPrivateCloudGateway, Name: "b"}, rv(t, st))
		a := create(t, st, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "a"))
		create(t, st, storetest.NewObject(v1alpha1.KindCloudAccount, "other-kind"))
		b := create(t, st, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "b"))
		a.GetStatus().Phase = "Ready"
		update(t, st, a)
		if err := st.Delete(t.Context(), v1alpha1.KindPrivateCloudGateway, "b", b.GetMetadata().ResourceVersion); err != nil {
			t.Fatal(err)
		}
		want := []string{"ADDED PrivateCloudGateway/a", "ADDED PrivateCloudGateway/b", "MODIFIED PrivateCloudGateway/a", "DELETED PrivateCloudGateway/b"}
		if got := next(t, w, 4); !slices.Equal(got, want) {
			t.Errorf("changes %v, want %v", got, want)
		}
		want = []string{"ADDED PrivateCloudGateway/b", "DELETED PrivateCloudGateway/b"}
		if got := next(t, named, 2); !slices.Equal(got, want) {
			t.Errorf("changes of b %v, want %v", got, want)
		}
	})
}

// TestWatchResumes starts watchers from earlier resourceVersions while writes go on: each sees
// every change after its resourceVersion exactly once, in order, first those the feed handed
// out before it started (read from the store), then the later ones.
func TestWatchResumes(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		origin := rv(t, st)
		obj := create(t, st, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "busy"))
		f := start(t, st, feed.Config{Buffer: 1000})
		const writes = 60
		var all []int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range writes {
				obj.GetStatus().Phase = "Step-" + strconv.Itoa(i)
				if err := st.Update(t.Context(), obj); err != nil {
					t.Error(err)
					return
				}
				v, _ := strconv.ParseInt(obj.GetMetadata().ResourceVersion, 10, 64)
				mu.Lock()
				all = append(all, v)
				mu.Unlock()
			}
		})
		// Watchers from the origin and from the middle, started while the writes go on.
		time.Sleep(20 * time.Millisecond)
		from := []int64{origin, origin + writes/3}
		var ws []*feed.Watcher
		for _, after := range from {
			ws = append(ws, watch(t, f, feed.Filter{}, after))
		}
		wg.Wait()
		for i, w := range ws {
			var got []int64
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			for len(got) == 0 || got[len(got)-1] < all[len(all)-1] {
				c, err := w.Next(ctx)
				if err != nil {
					t.Fatalf("watcher from %d: %v after %v", from[i], err, got)
				}
				got = append(got, c.ResourceVersion)
			}
			cancel()
			var want []int64
			for _, v := range append([]int64{origin + 1}, all...) {
				if v > from[i] {
					want = append(want, v)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("watcher from %d got %v\nwant %v", from[i], got, want)
			}
		}
	})
}

// TestSlowWatcherDropped checks that a watcher that does not take its changes is dropped once
// its buffer is full, while the others go on, and that it can watch again from where it got.
func TestSlowWatcherDropped(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		f := start(t, st, feed.Config{Buffer: 3})
		origin := rv(t, st)
		slow := watch(t, f, feed.Filter{}, origin)
		for i := range 5 {
			create(t, st, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "gw-"+strconv.Itoa(i)))
		}
		deadline := time.Now().Add(10 * time.Second)
		for f.Watchers() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.Watchers(); n != 0 {
			t.Fatalf("%d watchers after the slow one's buffer overflowed", n)
		}
		var last int64 = origin
		var err error
		for {
			var c store.Change
			if c, err = slow.Next(t.Context()); err != nil {
				break
			}
			last = c.ResourceVersion
		}
		if !errors.Is(err, feed.ErrDropped) {
			t.Fatalf("the slow watcher ended with %v, want ErrDropped", err)
		}
		again := watch(t, f, feed.Filter{}, last)
		got := next(t, again, int(origin+5-last))
		if len(got) == 0 || got[len(got)-1] != "ADDED PrivateCloudGateway/gw-4" {
			t.Errorf("watching again from %d: %v", last, got)
		}
	})
}

// TestWatchLimits checks the bound on watchers, an expired resourceVersion and the end of the
// feed.
func TestWatchLimits(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		origin := rv(t, st)
		create(t, st, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "old"))
		if err := st.PruneChanges(t.Context(), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := feed.New(st, feed.Config{MaxWatchers: 2})
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()

		if _, err := f.Watch(t.Context(), feed.Filter{}, origin); !errors.Is(err, store.ErrExpired) {
			t.Errorf("watch from a pruned resourceVersion: %v, want ErrExpired", err)
		}
		// Watch waited for the feed to run.
		if err := f.Run(t.Context()); !errors.Is(err, feed.ErrRunning) {
			t.Errorf("a second Run: %v, want ErrRunning", err)
		}
		now := rv(t, st)
		w1, w2 := watch(t, f, feed.Filter{}, now), watch(t, f, feed.Filter{}, now)
		if _, err := f.Watch(t.Context(), feed.Filter{}, now); !errors.Is(err, feed.ErrTooManyWatchers) {
			t.Errorf("a third watcher: %v, want ErrTooManyWatchers", err)
		}
		w2.Stop()
		w3 := watch(t, f, feed.Filter{}, now)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		for _, w := range []*feed.Watcher{w1, w3} {
			if _, err := w.Next(t.Context()); !errors.Is(err, feed.ErrClosed) {
				t.Errorf("a watcher of a stopped feed: %v, want ErrClosed", err)
			}
		}
	})
}

// TestWatchAnotherServer writes through another store on the same database, as another server
// (its controller) does: the feed of this one hands the change out.
func TestWatchAnotherServer(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, another func() store.Store) {
		f := start(t, st, feed.Config{PollInterval: 100 * time.Millisecond})
		w := watch(t, f, feed.Filter{}, rv(t, st))
		other := another()
		obj := create(t, other, storetest.NewObject(v1alpha1.KindPrivateCloudGateway, "elsewhere"))
		obj.GetStatus().Phase = "Ready"
		update(t, other, obj)
		want := []string{"ADDED PrivateCloudGateway/elsewhere", "MODIFIED PrivateCloudGateway/elsewhere"}
		if got := next(t, w, 2); !slices.Equal(got, want) {
			t.Errorf("changes of the other server: %v, want %v", got, want)
		}
	})
}

// TestWatchSecret checks that a change of an account reports its secret as set and never
// holds it.
func TestWatchSecret(t *testing.T) {
	run(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		f := start(t, st, feed.Config{})
		w := watch(t, f, feed.Filter{}, rv(t, st))
		acct := storetest.NewObject(v1alpha1.KindCloudAccount, "sealed").(*v1alpha1.CloudAccount)
		acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret("watch-secret")
		create(t, st, acct)
		c, err := w.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := c.Object.(*v1alpha1.CloudAccount).Spec.Azure
		if !got.ClientSecretSet || got.ClientSecret.Reveal() != "" {
			t.Errorf("account in a change: clientSecretSet %v, secret %q", got.ClientSecretSet, got.ClientSecret.Reveal())
		}
	})
}
