package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestServerProvisionsAndDeletes runs the real `strata server` process against an emulator over
// HTTPS: the example IaaS cluster is applied with the CLI, reaches Running, its resources are
// checked in the emulator, and `strata delete` removes every one of them but the resource group.
func TestServerProvisionsAndDeletes(t *testing.T) {
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "finance-dev-rg")
	srv := startServer(t)
	dir := t.TempDir()
	cluster, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-dynamic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(cluster), "cloudAccount: azure-prod", "cloudAccount: emulator")
	text = strings.ReplaceAll(text, "eb170fb1-b147-4a5e-b0d6-ba70f6c1c938", env.SubscriptionID)
	files := map[string]string{
		"1-account.yaml": env.Emulator.CloudAccountYAML("emulator"),
		"3-cluster.yaml": text,
	}
	profile, err := os.ReadFile(filepath.Join(examples, "profile-iaas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files["2-profile.yaml"] = string(profile)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"1-account.yaml", "2-profile.yaml", "3-cluster.yaml"} {
		if r := strata(t, srv.URL, "", "apply", "-f", filepath.Join(dir, name)); r.Code != 0 {
			t.Fatalf("apply %s: %s", name, r)
		}
	}

	cl, err := clientFor(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		obj, err := cl.Get(ctx, v1alpha1.KindCluster, "iaas-dynamic")
		if err == nil && obj.(*v1alpha1.Cluster).Status.Phase == "Running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not Running after 90s: %v %+v\nlogs:\n%s", err, obj, srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := strata(t, srv.URL, "", "get", "clusters"); !strings.Contains(r.Stdout, "Running") {
		t.Errorf("get clusters: %s", r)
	}

	counts := func() map[string]int {
		n := map[string]int{}
		for _, r := range env.Emulator.Engine().Snapshot().Resources {
			if strings.Contains(strings.ToLower(r.ID), "/resourcegroups/finance-dev-rg/providers/") {
				n[r.Type]++
			}
		}
		return n
	}
	got := counts()
	want := map[string]int{
		"Microsoft.Network/virtualNetworks": 1, "Microsoft.Network/virtualNetworks/subnets": 2,
		"Microsoft.Network/networkSecurityGroups": 2, "Microsoft.Network/natGateways": 1,
		"Microsoft.Network/publicIPAddresses": 2, "Microsoft.Network/loadBalancers": 1,
		"Microsoft.Network/networkInterfaces": 6, "Microsoft.Compute/virtualMachines": 6,
		"Microsoft.Compute/images": 1, "Microsoft.Storage/storageAccounts": 1,
		"Microsoft.Storage/storageAccounts/blobServices/containers": 1,
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%d %s, want %d (all: %v)", got[typ], typ, n, got)
		}
	}

	if r := strata(t, srv.URL, "", "delete", "cluster", "iaas-dynamic"); r.Code != 0 {
		t.Fatalf("delete: %s", r)
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		_, err := cl.Get(ctx, v1alpha1.KindCluster, "iaas-dynamic")
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "not found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there 90s after delete: %v\nlogs:\n%s", err, srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for typ, n := range counts() {
		if typ != "Microsoft.Storage/storageAccounts/blobServices" {
			t.Errorf("left behind: %d %s", n, typ)
		}
	}
	var rg bool
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		if strings.HasSuffix(strings.ToLower(r.ID), "/resourcegroups/finance-dev-rg") {
			rg = true
		}
	}
	if !rg {
		t.Error("the resource group was deleted")
	}
}
