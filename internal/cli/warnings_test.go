package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// TestApplyPrintsWarnings checks that strata apply prints the server's warnings on stderr, one
// "Warning: " line each, as kubectl does, and still applies the object; strata validate prints
// the same offline.
func TestApplyPrintsWarnings(t *testing.T) {
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{5}, secrets.KeySize))
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
	file := writeFile(t, t.TempDir(), "profile.yaml", `apiVersion: strata.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: aks-local
spec:
  version: 1.0.0
  cloud: aks
  type: infra
  layers:
  - name: kubernetes
    type: kubernetes
    version: 1.30.4
    values: |
      managedControlPlane:
        aadProfile:
          managed: false
          adminGroupObjectIDs: [6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13]
        sku: Free
`)
	for _, args := range [][]string{{"validate", "-f", file}, {"apply", "--dry-run", "-f", file}, {"apply", "-f", file}} {
		code, out, errOut := run(t, "", append([]string{"--server", hs.URL}, args...)...)
		if code != 0 || !strings.Contains(out, "aks-local@1.0.0") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		want := `Warning: ClusterProfile "aks-local@1.0.0": spec.layers[0].values.managedControlPlane.aadProfile.adminGroupObjectIDs: ignored`
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
			t.Errorf("%v: stderr %q, want one line starting with %q", args, errOut, want)
		}
	}
}
