package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// apiServer starts a strata server on a real SQLite store, without controllers, and returns
// its URL and the store, through which tests write what a controller would (status, events).
func apiServer(t *testing.T) (string, store.Store) {
	t.Helper()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{Store: st}).Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = st.Close()
	})
	return hs.URL, st
}

// applyExamples applies the named files of examples/ with the CLI.
func applyExamples(t *testing.T, srv string, files ...string) {
	t.Helper()
	args := []string{"--server", srv, "apply"}
	for _, f := range files {
		args = append(args, "-f", filepath.Join("..", "..", "examples", f))
	}
	if code, out, errOut := run(t, "", args...); code != 0 {
		t.Fatalf("apply %v: exit %d\nstdout:\n%s\nstderr:\n%s", files, code, out, errOut)
	}
}

// setClusterStatus changes a stored cluster as its controller would.
func setClusterStatus(t *testing.T, st store.Store, name string, change func(*v1alpha1.Cluster)) {
	t.Helper()
	ctx := context.Background()
	obj, err := st.Get(ctx, v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatal(err)
	}
	c := obj.(*v1alpha1.Cluster)
	change(c)
	if err := st.Update(ctx, c); err != nil {
		t.Fatalf("update cluster %s: %v", name, err)
	}
}
