package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// testLeases checks taking, renewing, refusing, expiring and releasing a lease.
func testLeases(t *testing.T, s store.Store) {
	c := ctx(t)
	steps := []struct {
		what   string
		do     func() (bool, error)
		wantOK bool
	}{
		{"a takes a free lease", func() (bool, error) { return s.AcquireLease(c, "cluster/web", "a", time.Minute) }, true},
		{"a renews it", func() (bool, error) { return s.AcquireLease(c, "cluster/web", "a", time.Minute) }, true},
		{"b is refused while a holds it", func() (bool, error) { return s.AcquireLease(c, "cluster/web", "b", time.Minute) }, false},
		{"b takes another lease", func() (bool, error) { return s.AcquireLease(c, "cluster/db", "b", time.Minute) }, true},
		{"b releasing a's lease does nothing", func() (bool, error) {
			if err := s.ReleaseLease(c, "cluster/web", "b"); err != nil {
				return false, err
			}
			return s.AcquireLease(c, "cluster/web", "b", time.Minute)
		}, false},
		{"a releases, b takes it", func() (bool, error) {
			if err := s.ReleaseLease(c, "cluster/web", "a"); err != nil {
				return false, err
			}
			return s.AcquireLease(c, "cluster/web", "b", 50*time.Millisecond)
		}, true},
		{"a takes it once b's lease expired", func() (bool, error) {
			time.Sleep(120 * time.Millisecond)
			return s.AcquireLease(c, "cluster/web", "a", time.Minute)
		}, true},
	}
	for _, st := range steps {
		ok, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if ok != st.wantOK {
			t.Fatalf("%s: acquired = %v, want %v", st.what, ok, st.wantOK)
		}
	}
}

// testConcurrentLeases checks that of many holders racing for one free lease exactly one wins.
func testConcurrentLeases(t *testing.T, s store.Store) {
	c := ctx(t)
	for round := range 5 {
		name := fmt.Sprintf("cluster/race-%d", round)
		var winners atomic.Int32
		var wg sync.WaitGroup
		for h := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcquireLease(c, name, fmt.Sprintf("server-%d", h), time.Minute)
				if err != nil {
					t.Errorf("acquire: %v", err)
				}
				if ok {
					winners.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Fatalf("round %d: %d holders got the lease", round, n)
		}
	}
}

// testInternalSecrets checks sealed internal secrets: put, get, replace, delete.
func testInternalSecrets(t *testing.T, s store.Store) {
	c := ctx(t)
	if _, err := s.GetSecret(c, "cluster/web/ca"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing secret: err = %v, want ErrNotFound", err)
	}
	for _, v := range [][]byte{[]byte("first CA key"), []byte("second CA key")} {
		if err := s.PutSecret(c, "cluster/web/ca", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSecret(c, "cluster/web/ca")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("get = %q, %v; want %q", got, err, v)
		}
	}
	if err := s.DeleteSecret(c, "cluster/web/ca"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecret(c, "cluster/web/ca"); err != nil {
		t.Fatalf("deleting an absent secret: %v", err)
	}
	if _, err := s.GetSecret(c, "cluster/web/ca"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted secret: err = %v", err)
	}
}
