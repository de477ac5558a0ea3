package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
)

// TestWarnings checks which valid objects are accepted with a warning, and where.
func TestWarnings(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	unmanaged := "managedControlPlane:\n  aadProfile:\n    managed: false\n    adminGroupObjectIDs: [6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13]\n"
	layer := func(values string) map[string]any {
		return map[string]any{"spec": map[string]any{"layers": []any{map[string]any{"name": "kubernetes", "type": "kubernetes", "version": "1.30.4", "values": values}}}}
	}
	override := func(values string) map[string]any {
		return map[string]any{"spec": map[string]any{"profiles": []any{map[string]any{"name": "aks", "version": "1.0.0", "values": map[string]any{"kubernetes": values}}}}}
	}
	const groups = "managedControlPlane.aadProfile.adminGroupObjectIDs ignored"
	tests := []struct {
		name  string
		base  string
		patch map[string]any
		want  []string
	}{
		{"AKS profile, managed Entra ID", "ClusterProfile/aks@1.0.0", nil, nil},
		{"AKS profile, unmanaged with admin groups", "ClusterProfile/aks@1.0.0", layer(unmanaged), []string{"spec.layers[0].values." + groups}},
		{"AKS profile, unmanaged without groups", "ClusterProfile/aks@1.0.0", layer("managedControlPlane:\n  aadProfile:\n    managed: false\n"), nil},
		{"IaaS profile", "ClusterProfile/iaas@1.0.0", nil, nil},
		{"AKS cluster on a managed profile", "Cluster/aks", nil, nil},
		{"AKS cluster whose override turns Entra ID off", "Cluster/aks", override("managedControlPlane:\n  aadProfile:\n    managed: false\n    disableLocalAccounts: false\n"),
			[]string{`spec.profiles[0].values["kubernetes"].` + groups}},
		// The fixtures' account names the gateway pcg.
		{"IaaS cluster placed dynamically behind a gateway", "Cluster/iaas", nil, []string{"spec.azure.storage mismatch", "spec.cloudAccount mismatch"}},
		{"IaaS cluster placed statically behind a gateway", "Cluster/static", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: tc.patch}.Apply(t, f))
			if errs != nil {
				t.Fatal(errs)
			}
			v1alpha1.Default(obj)
			errs, warnings := v1alpha1.Check(context.Background(), nil, obj, f)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := fieldRules(warnings); !slices.Equal(got, tc.want) {
				t.Fatalf("warnings = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDynamicPlacementBehindAGateway checks the warning's text, and that an account without a
// gateway, an account that cannot be read or no resolver at all warn of nothing.
func TestDynamicPlacementBehindAGateway(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	fx, _ := f.Get("Cluster/iaas")
	cluster := fx.Object
	w := v1alpha1.Warnings(t.Context(), cluster, f)
	want := `spec.cloudAccount: cloud account "account" goes through private cloud gateway "pcg", but the cluster's network is created by strata and may not route to the gateway's proxy: use static placement in the gateway's network (spec.azure.placement)`
	if len(w) != 2 || w[0].Error() != want {
		t.Fatalf("warnings = %q, want %q first", w, want)
	}
	storage := "spec.azure.storage: gateway-bound cluster uses an auto-created storage account reachable from everywhere; strata recommends a custom storage account (spec.azure.storage.account) restricted to the gateway's VNet with public access disabled"
	if w[1].Error() != storage {
		t.Fatalf("second warning %q, want %q", w[1], storage)
	}
	acc, _ := f.Get("CloudAccount/account")
	direct := *acc.Object.(*v1alpha1.CloudAccount)
	direct.Spec.Gateway = ""
	for name, r := range map[string]v1alpha1.Resolver{
		"an account without gateway": resolverFunc(func(kind, key string) (v1alpha1.Object, error) {
			if kind == v1alpha1.KindCloudAccount {
				return &direct, nil
			}
			return f.Lookup(t.Context(), kind, key)
		}),
		"an account not found": resolverFunc(func(string, string) (v1alpha1.Object, error) { return nil, v1alpha1.ErrNotFound }),
		"no resolver":          nil,
	} {
		if w := v1alpha1.Warnings(t.Context(), cluster, r); len(w) != 0 {
			t.Errorf("%s: warnings = %q, want none", name, w)
		}
	}
}

// resolverFunc is a Resolver of a function.
type resolverFunc func(kind, key string) (v1alpha1.Object, error)

func (f resolverFunc) Lookup(_ context.Context, kind, key string) (v1alpha1.Object, error) {
	return f(kind, key)
}

// TestGatewayNeverConnected: an account bound to a gateway no replica ever connected for is
// warned of; once one has (a heartbeat in its status), it is not.
func TestGatewayNeverConnected(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	acc, _ := f.Get("CloudAccount/account")
	w := v1alpha1.Warnings(t.Context(), acc.Object, f)
	if len(w) != 1 || !strings.HasPrefix(w[0].Error(), `spec.gateway: private cloud gateway "pcg" has never connected`) {
		t.Fatalf("warnings %q", w)
	}
	gw, _ := f.Get("PrivateCloudGateway/pcg")
	now := time.Now()
	gw.Object.(*v1alpha1.PrivateCloudGateway).Status.LastHeartbeat = &now
	if w := v1alpha1.Warnings(t.Context(), acc.Object, f); len(w) != 0 {
		t.Errorf("a gateway that connected once: %q", w)
	}
}
