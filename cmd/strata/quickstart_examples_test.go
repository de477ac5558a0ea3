package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// testTarget is an emulator account with a secret, as quickstart has it.
func testTarget(t *testing.T) emulatorTarget {
	t.Helper()
	objs, err := v1alpha1.Decode([]byte(`apiVersion: strata.dev/v1alpha1
kind: CloudAccount
metadata:
  name: emulator
spec:
  azure:
    tenantID: 6a1f3b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c
    clientID: 1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e
    clientSecret: "s3cret-of-the-emulator"
    environment: Custom
    endpoints:
      resourceManager: https://127.0.0.1:40557
      activeDirectory: https://127.0.0.1:40557/
      storageSuffix: localhost
`))
	if err != nil {
		t.Fatal(err)
	}
	return emulatorTarget{Account: objs[0].(*v1alpha1.CloudAccount), Subscription: "0580617c-aaf6-40db-bc02-272fdd43d022", Location: "westeurope"}
}

func TestEmulatorExamples(t *testing.T) {
	target := testTarget(t)
	files, accounts, err := emulatorExamples(examplefiles.FS, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 2 || accounts[0] != target.Account || accounts[1].Metadata.Name != "emulator-corp-gateway" ||
		accounts[1].Spec.Gateway != "corp-gateway" || accounts[1].Spec.Azure.ClientSecret.Empty() {
		t.Errorf("emulator accounts %+v, want emulator and emulator-corp-gateway (bound to corp-gateway), with their secret", accounts)
	}
	want := map[string]string{ // file: the objects it holds
		"cloudaccount.yaml":         "cloudaccount/emulator",
		"cloudaccount-corp.yaml":    "cloudaccount/emulator-corp-gateway",
		"cluster-aks.yaml":          "cluster/aks-prod",
		"cluster-iaas-dynamic.yaml": "cluster/iaas-dynamic",
		"cluster-iaas-static.yaml":  "cluster/iaas-static",
		"gateway.yaml":              "privatecloudgateway/corp-gateway",
		"profile-aks.yaml":          "clusterprofile/aks-base@1.0.0",
		"profile-iaas.yaml":         "clusterprofile/iaas-base@1.0.0",
		"profile-proxy-demo.yaml":   "clusterprofile/proxy-demo@1.0.0",
	}
	if len(files) != len(want) {
		t.Fatalf("%d files, want %d", len(files), len(want))
	}
	for _, f := range files {
		var names []string
		for _, o := range f.Objs {
			names = append(names, strings.ToLower(o.GetTypeMeta().Kind)+"/"+o.Key())
		}
		if got := strings.Join(names, ","); got != want[f.Name] {
			t.Errorf("%s holds %s, want %s", f.Name, got, want[f.Name])
		}
		if bytes.Contains(f.Data, []byte("s3cret-of-the-emulator")) {
			t.Errorf("%s holds the account's secret:\n%s", f.Name, f.Data)
		}
		orig, _ := fs.ReadFile(examplefiles.FS, f.Name)
		switch {
		case strings.HasPrefix(f.Name, "cluster-"):
			c := f.Objs[0].(*v1alpha1.Cluster)
			wantAccount := map[bool]string{false: "emulator", true: "emulator-corp-gateway"}[f.Name == "cluster-iaas-static.yaml"]
			if c.Spec.CloudAccount != wantAccount || c.Spec.Azure.SubscriptionID != target.Subscription || c.Spec.Azure.Location != "westeurope" {
				t.Errorf("%s: account %q, subscription %q, location %q", f.Name, c.Spec.CloudAccount, c.Spec.Azure.SubscriptionID, c.Spec.Azure.Location)
			}
			firstComment := strings.SplitN(string(orig), "\n", 2)[0]
			if !bytes.Contains(f.Data, []byte(firstComment)) {
				t.Errorf("%s lost the example's comments:\n%s", f.Name, f.Data)
			}
		case strings.HasPrefix(f.Name, "cloudaccount"):
			a := f.Objs[0].(*v1alpha1.CloudAccount)
			if !a.Spec.Azure.ClientSecret.Empty() || a.Spec.Azure.Endpoints == nil || a.Spec.Azure.Endpoints.ResourceManager != "https://127.0.0.1:40557" {
				t.Errorf("the account copy:\n%s", f.Data)
			}
		default:
			if !bytes.Equal(f.Data, orig) {
				t.Errorf("%s is not copied as it is:\n%s", f.Name, f.Data)
			}
		}
	}
	if target.Account.Spec.Azure.ClientSecret.Empty() {
		t.Error("emulatorExamples cleared the secret of the account it was given")
	}
}

// TestEmulatorExamplesRefusesAMissedField checks that a cluster whose fields the rewrite does
// not reach (a flow-style spec, say) is an error, not a copy pointing at the real Azure.
func TestEmulatorExamplesRefusesAMissedField(t *testing.T) {
	src := fstest.MapFS{"c.yaml": {Data: []byte(`apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {cloudAccount: azure-prod, profiles: [{name: p, version: 1.0.0}], azure: {type: iaas, subscriptionID: eb170fb1-b147-4a5e-b0d6-ba70f6c1c938, resourceGroup: rg, location: eastus}, machinePools: []}
`)}}
	_, _, err := emulatorExamples(src, testTarget(t))
	if err == nil || !strings.Contains(err.Error(), "not the emulator's") {
		t.Errorf("emulatorExamples = %v, want an error saying the copy does not use the emulator", err)
	}
}

func TestWriteExampleCopies(t *testing.T) {
	files, _, err := emulatorExamples(examplefiles.FS, testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "examples")
	written, err := writeExampleCopies(dir, files)
	if err != nil || len(written) != len(files) {
		t.Fatalf("first write: %v, %v", written, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f.Name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f.Name, st.Mode().Perm(), err)
		}
	}
	// The user edits a copy; the next run keeps it and writes only what is missing.
	edited := filepath.Join(dir, "cluster-iaas-dynamic.yaml")
	if err := os.WriteFile(edited, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "gateway.yaml")); err != nil {
		t.Fatal(err)
	}
	written, err = writeExampleCopies(dir, files)
	if err != nil || strings.Join(written, ",") != "gateway.yaml" {
		t.Errorf("second write wrote %v, %v; want only gateway.yaml", written, err)
	}
	if data, _ := os.ReadFile(edited); string(data) != "# mine\n" {
		t.Errorf("the user's copy was replaced: %q", data)
	}
}

func TestEmulatorAddressFile(t *testing.T) {
	dir := t.TempDir()
	path := emulatorAddressPath(dir)
	if addr, err := readKeptAddress(path); addr != "" || err != nil {
		t.Errorf("no file: %q, %v", addr, err)
	}
	if err := keepAddress(path, "127.0.0.1:40557"); err != nil {
		t.Fatal(err)
	}
	if err := keepAddress(path, "127.0.0.1:1"); err != nil {
		t.Errorf("keeping again: %v", err)
	}
	if addr, err := readKeptAddress(path); addr != "127.0.0.1:40557" || err != nil {
		t.Errorf("kept: %q, %v", addr, err)
	}
	for _, bad := range []string{"", "40557", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:99999", ":40557", "127.0.0.1:http"} {
		if err := os.WriteFile(path, []byte(bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readKeptAddress(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, path)
		}
	}
	err := emulatorListenError("127.0.0.1:40557", path, errors.New("boom"))
	if !strings.Contains(err.Error(), "127.0.0.1:40557") || !strings.Contains(err.Error(), path) {
		t.Errorf("listen error: %v", err)
	}
}

func TestBuiltByGoRun(t *testing.T) {
	cases := []struct {
		exe, gocache, cacheDir string
		want                   bool
	}{
		{"/root/.cache/go-build/2f/2f28-d/strata", "", "/root/.cache", true},
		{"/cache/go/2f/2f28-d/strata", "/cache/go", "/root/.cache", true},
		{"/tmp/go-build2218476460/b001/exe/strata", "", "/root/.cache", true},
		{"/usr/local/bin/strata", "", "/root/.cache", false},
		{"/home/me/strata/bin/strata", "/cache/go", "/home/me/.cache", false},
		{"/root/.cache/go-buildx/strata", "", "/root/.cache", false},
		{"/work/bin/strata", "", "", false},
	}
	for _, c := range cases {
		if got := builtByGoRun(c.exe, c.gocache, c.cacheDir); got != c.want {
			t.Errorf("builtByGoRun(%q, %q, %q) = %v, want %v", c.exe, c.gocache, c.cacheDir, got, c.want)
		}
	}
}

func TestEnsureExample(t *testing.T) {
	ctx := context.Background()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{5}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{Store: st}).Handler())
	t.Cleanup(func() { hs.Close(); _ = st.Close() })
	cl, err := client.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	target := testTarget(t)
	files, accounts, err := emulatorExamples(examplefiles.FS, target)
	if err != nil {
		t.Fatal(err)
	}
	objs := exampleObjects(files)
	byKey := map[string]v1alpha1.Object{}
	for _, o := range objs {
		byKey[o.Key()] = o
	}
	ensure := func(key string) (string, bool) {
		t.Helper()
		var out bytes.Buffer
		deleting, err := ensureExample(ctx, cl, byKey[key], &out)
		if err != nil {
			t.Fatalf("ensure %s: %v", key, err)
		}
		return out.String(), deleting
	}
	// Everything absent: created in dependency order, the accounts after the gateway they name.
	var out bytes.Buffer
	clusters, err := ensureExamples(ctx, cl, objs, accounts, &out)
	if err != nil {
		t.Fatalf("ensureExamples: %v\n%s", err, out.String())
	}
	want := "privatecloudgateway corp-gateway created\n" +
		"cloudaccount emulator created\ncloudaccount emulator-corp-gateway created\n" +
		"clusterprofile aks-base@1.0.0 created\nclusterprofile iaas-base@1.0.0 created\nclusterprofile proxy-demo@1.0.0 created\n" +
		"cluster aks-prod created\ncluster iaas-dynamic created\ncluster iaas-static created\n"
	if out.String() != want || strings.Join(clusters, ",") != "aks-prod,iaas-dynamic,iaas-static" {
		t.Errorf("ensureExamples printed\n%swant\n%sand returned %v", out.String(), want, clusters)
	}
	if out, _ := ensure("iaas-dynamic"); out != "cluster iaas-dynamic unchanged\n" {
		t.Errorf("as the example: %q", out)
	}
	// The user's day-2 edit is kept.
	edited := byKey["iaas-dynamic"].(*v1alpha1.Cluster)
	changed := *edited
	changed.Spec.MachinePools = slices.Clone(edited.Spec.MachinePools)
	changed.Spec.MachinePools[1].Count = 5
	if _, _, err := cl.Apply(ctx, &changed, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, _ := ensure("iaas-dynamic"); out != "kept your changes to cluster iaas-dynamic\n" {
		t.Errorf("changed: %q", out)
	}
	got, err := cl.Get(ctx, v1alpha1.KindCluster, "iaas-dynamic")
	if err != nil || got.(*v1alpha1.Cluster).Spec.MachinePools[1].Count != 5 {
		t.Errorf("the user's change was undone: %v", err)
	}
	// A cluster being deleted (its controller's finalizer still on it) is left alone.
	obj, err := st.Get(ctx, v1alpha1.KindCluster, "iaas-dynamic")
	if err != nil {
		t.Fatal(err)
	}
	obj.GetMetadata().Finalizers = []string{controller.Finalizer}
	if err := st.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Delete(ctx, v1alpha1.KindCluster, "iaas-dynamic"); err != nil {
		t.Fatal(err)
	}
	if out, deleting := ensure("iaas-dynamic"); out != "cluster iaas-dynamic is being deleted: left as it is\n" || !deleting {
		t.Errorf("being deleted: %q, %v", out, deleting)
	}
}
