package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
)

// apiServerLB is a merge patch setting spec.azure.apiServerLB.
func apiServerLB(lb map[string]any) map[string]any {
	return map[string]any{"spec": map[string]any{"azure": map[string]any{"apiServerLB": lb}}}
}

// TestAPIServerLBRules checks the rules of spec.azure.apiServerLB on Cluster/static (control-plane
// subnet 10.10.0.0/24), Cluster/iaas (dynamic placement) and Cluster/aks.
func TestAPIServerLBRules(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	internal := func(fields map[string]any) map[string]any {
		lb := map[string]any{"type": "Internal", "staticIP": "10.10.0.10"}
		for k, v := range fields {
			lb[k] = v
		}
		return apiServerLB(lb)
	}
	tests := []struct {
		name     string
		base     string
		patch    map[string]any
		want     []string
		mentions string
	}{
		{"internal with a static IP", "Cluster/static", internal(nil), nil, ""},
		{"internal with every field", "Cluster/static", internal(map[string]any{"ipAllocationMethod": "Static", "privateDNSName": "api.c1.corp.example", "privateDNSZoneResourceGroup": "dns-rg"}), nil, ""},
		{"public, spelled out", "Cluster/static", apiServerLB(map[string]any{"type": "Public"}), nil, ""},
		{"public on dynamic placement", "Cluster/iaas", apiServerLB(map[string]any{"type": "Public"}), nil, ""},
		{"the first usable address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0.4"}), nil, ""},
		{"the last usable address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0.254"}), nil, ""},

		{"unknown type", "Cluster/static", apiServerLB(map[string]any{"type": "Private"}), []string{"spec.azure.apiServerLB.type enum"}, "Public, Internal"},
		{"internal without a static IP", "Cluster/static", apiServerLB(map[string]any{"type": "Internal"}), []string{"spec.azure.apiServerLB.staticIP required"}, "a static IP is required"},
		{"dynamic allocation", "Cluster/static", internal(map[string]any{"ipAllocationMethod": "Dynamic"}), []string{"spec.azure.apiServerLB.ipAllocationMethod forbidden"}, "a static IP is required"},
		{"unknown allocation", "Cluster/static", internal(map[string]any{"ipAllocationMethod": "Sticky"}), []string{"spec.azure.apiServerLB.ipAllocationMethod enum"}, ""},
		{"internal on dynamic placement", "Cluster/iaas", apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.0.0.10"}), []string{"spec.azure.placement required"}, "static placement"},
		{"not an address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0"}), []string{"spec.azure.apiServerLB.staticIP format"}, "IPv4"},
		{"an IPv6 address", "Cluster/static", internal(map[string]any{"staticIP": "fd00::10"}), []string{"spec.azure.apiServerLB.staticIP format"}, ""},
		{"outside the control-plane subnet", "Cluster/static", internal(map[string]any{"staticIP": "10.10.1.10"}), []string{"spec.azure.apiServerLB.staticIP outside-network"}, "10.10.0.0/24"},
		{"the network address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0.0"}), []string{"spec.azure.apiServerLB.staticIP reserved"}, "first four"},
		{"Azure's DNS address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0.3"}), []string{"spec.azure.apiServerLB.staticIP reserved"}, ""},
		{"the broadcast address", "Cluster/static", internal(map[string]any{"staticIP": "10.10.0.255"}), []string{"spec.azure.apiServerLB.staticIP reserved"}, ""},
		{"a two-label DNS name", "Cluster/static", internal(map[string]any{"privateDNSName": "api.internal"}), []string{"spec.azure.apiServerLB.privateDNSName format"}, "three labels"},
		{"an uppercase DNS name", "Cluster/static", internal(map[string]any{"privateDNSName": "API.c1.corp.example"}), []string{"spec.azure.apiServerLB.privateDNSName format"}, ""},
		{"a DNS label of 64", "Cluster/static", internal(map[string]any{"privateDNSName": "api." + strings.Repeat("a", 64) + ".example"}), []string{"spec.azure.apiServerLB.privateDNSName too-long"}, ""},
		{"a bad zone resource group", "Cluster/static", internal(map[string]any{"privateDNSZoneResourceGroup": "dns rg"}), []string{"spec.azure.apiServerLB.privateDNSZoneResourceGroup format"}, ""},
		{"internal fields on a public LB", "Cluster/static", apiServerLB(map[string]any{"type": "Public", "staticIP": "10.10.0.10", "privateDNSName": "api.c1.corp.example"}),
			[]string{"spec.azure.apiServerLB.privateDNSName forbidden", "spec.azure.apiServerLB.staticIP forbidden"}, "Internal"},
		{"on AKS", "Cluster/aks", apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.10"}), []string{"spec.azure.apiServerLB forbidden"}, "iaas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: tc.patch}.Apply(t, f))
			if errs != nil {
				t.Fatal(errs)
			}
			v1alpha1.Default(obj)
			errs = v1alpha1.Validate(context.Background(), obj, f)
			if got := fieldRules(errs); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", got, tc.want, errs)
			}
			if tc.mentions != "" && !strings.Contains(errs.Error(), tc.mentions) {
				t.Errorf("the errors do not say %q:\n%v", tc.mentions, errs)
			}
		})
	}
}

// TestAPIServerLBDefaults checks the defaults of an Internal load balancer, that Default is
// idempotent, and what InternalAPIServer returns.
func TestAPIServerLBDefaults(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: "Cluster/static", Patch: apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.10"})}.Apply(t, f))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	v1alpha1.Default(obj)
	c := obj.(*v1alpha1.Cluster)
	want := v1alpha1.APIServerLB{Type: "Internal", IPAllocationMethod: "Static", StaticIP: "10.10.0.10",
		PrivateDNSName: "apiserver.static.strata.internal", PrivateDNSZoneResourceGroup: "strata-clusters"}
	if got := *c.Spec.Azure.APIServerLB; got != want {
		t.Errorf("defaulted = %+v, want %+v", got, want)
	}
	if record, zone := v1alpha1.SplitPrivateDNSName(want.PrivateDNSName); record != "apiserver" || zone != "static.strata.internal" {
		t.Errorf("split = %q, %q", record, zone)
	}
	// InternalAPIServer defaults a copy, whatever the stored object holds.
	raw := &v1alpha1.Cluster{Metadata: v1alpha1.ObjectMeta{Name: "c1"}, Spec: v1alpha1.ClusterSpec{Azure: v1alpha1.ClusterAzure{
		Type: "iaas", ResourceGroup: "rg", APIServerLB: &v1alpha1.APIServerLB{Type: "Internal", StaticIP: "10.0.0.10"}}}}
	if lb := v1alpha1.InternalAPIServer(raw); lb == nil || lb.PrivateDNSName != "apiserver.c1.strata.internal" || lb.PrivateDNSZoneResourceGroup != "rg" {
		t.Errorf("InternalAPIServer = %+v", lb)
	}
	if raw.Spec.Azure.APIServerLB.PrivateDNSName != "" {
		t.Error("InternalAPIServer changed the cluster")
	}
	for name, lb := range map[string]*v1alpha1.APIServerLB{"absent": nil, "public": {Type: "Public"}} {
		raw.Spec.Azure.APIServerLB = lb
		if got := v1alpha1.InternalAPIServer(raw); got != nil {
			t.Errorf("%s: InternalAPIServer = %+v, want nil", name, got)
		}
	}
	public := &v1alpha1.Cluster{Spec: v1alpha1.ClusterSpec{Azure: v1alpha1.ClusterAzure{APIServerLB: &v1alpha1.APIServerLB{}}}}
	v1alpha1.Default(public)
	if got := *public.Spec.Azure.APIServerLB; got != (v1alpha1.APIServerLB{Type: "Public"}) {
		t.Errorf("an empty block defaults to %+v, want a Public one", got)
	}
}

// TestAPIServerLBImmutable checks that the load balancer cannot change once the cluster
// exists, and that writing out its defaults, or an empty Public block, is no change.
func TestAPIServerLBImmutable(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	internal := apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.10"})
	tests := []struct {
		name        string
		old, update map[string]any
		want        []string
	}{
		{"unchanged", internal, internal, nil},
		{"defaults written out", internal, apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.10", "ipAllocationMethod": "Static",
			"privateDNSName": "apiserver.static.strata.internal", "privateDNSZoneResourceGroup": "strata-clusters"}), nil},
		{"absent to Public", nil, apiServerLB(map[string]any{"type": "Public"}), nil},
		{"public to internal", nil, internal, []string{"spec.azure.apiServerLB immutable"}},
		{"internal to public", internal, map[string]any{"spec": map[string]any{"azure": map[string]any{"apiServerLB": nil}}}, []string{"spec.azure.apiServerLB immutable"}},
		{"another address", internal, apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.11"}), []string{"spec.azure.apiServerLB immutable"}},
		{"another name", internal, apiServerLB(map[string]any{"type": "Internal", "staticIP": "10.10.0.10", "privateDNSName": "api.c1.corp.example"}), []string{"spec.azure.apiServerLB immutable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decode := func(patches ...map[string]any) v1alpha1.Object {
				var extra []map[string]any
				for _, p := range patches {
					if p != nil {
						extra = append(extra, p)
					}
				}
				obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: "Cluster/static"}.Apply(t, f, extra...))
				if errs != nil {
					t.Fatal(errs)
				}
				v1alpha1.Default(obj)
				return obj
			}
			old := decode(tc.old)
			errs := v1alpha1.ValidateUpdate(context.Background(), old, decode(tc.old, tc.update), f)
			if got := fieldRules(errs); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", got, tc.want, errs)
			}
		})
	}
}

// TestGatewayStorageWarning checks when a cluster behind a gateway is warned of the storage
// account strata would create, and the warning's text.
func TestGatewayStorageWarning(t *testing.T) {
	const want = "gateway-bound cluster uses an auto-created storage account reachable from everywhere; strata recommends a custom storage account (spec.azure.storage.account) restricted to the gateway's VNet with public access disabled"
	cluster := func(typ string, storage *v1alpha1.CustomStorage) *v1alpha1.Cluster {
		return &v1alpha1.Cluster{Spec: v1alpha1.ClusterSpec{Azure: v1alpha1.ClusterAzure{Type: typ, Storage: storage}}}
	}
	custom := &v1alpha1.CustomStorage{Account: "corpimages"}
	tests := []struct {
		name         string
		c            *v1alpha1.Cluster
		gatewayBound bool
		want         string
	}{
		{"iaas behind a gateway, generated storage", cluster("iaas", nil), true, want},
		{"iaas behind a gateway, custom account", cluster("iaas", custom), true, ""},
		{"iaas behind a gateway, custom container only", cluster("iaas", &v1alpha1.CustomStorage{Container: "vhds"}), true, ""},
		{"iaas without a gateway", cluster("iaas", nil), false, ""},
		{"aks behind a gateway", cluster("aks", nil), true, ""},
		{"no cluster", nil, true, ""},
	}
	for _, tc := range tests {
		if got := v1alpha1.GatewayStorageWarning(tc.c, tc.gatewayBound); got != tc.want {
			t.Errorf("%s: warning = %q, want %q", tc.name, got, tc.want)
		}
	}
}
