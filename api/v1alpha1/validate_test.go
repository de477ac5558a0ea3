package v1alpha1_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
	"github.com/strata-dev/strata/examples"
)

var fieldRules = v1alpha1test.FieldRules

func TestFixturesAreValid(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	for _, fx := range f {
		if errs := v1alpha1.Validate(context.Background(), fx.Object, f); len(errs) > 0 {
			t.Errorf("%s: %v", fx.ID, errs)
		}
	}
}

func TestInvalidInputs(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	cases := v1alpha1test.LoadCases(t)
	if len(cases) < 60 {
		t.Fatalf("only %d invalid cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			obj, errs := v1alpha1.DecodeObject(tc.Apply(t, f))
			if errs == nil {
				v1alpha1.Default(obj)
				if tc.Update {
					base, _ := f.Get(tc.Base)
					errs = v1alpha1.ValidateUpdate(context.Background(), base.Object, obj, f)
				} else {
					errs = v1alpha1.Validate(context.Background(), obj, f)
				}
			}
			if got, want := fieldRules(errs), tc.Want(); !slices.Equal(got, want) {
				t.Fatalf("errors = %q, want %q\n%v", got, want, errs)
			}
			for _, e := range errs {
				if len(e.Message) < 8 {
					t.Errorf("%s: message %q does not say the rule", e.Field, e.Message)
				}
				if e.Rule == v1alpha1.RuleReserved && strings.HasPrefix(e.Field, "spec.tags[") {
					var i int
					fmt.Sscanf(e.Field, "spec.tags[%d]", &i)
					tag := obj.(*v1alpha1.Cluster).Spec.Tags[i]
					if !strings.Contains(e.Message, fmt.Sprintf("%q", tag)) {
						t.Errorf("reserved-tag message %q does not name the tag %q", e.Message, tag)
					}
				}
			}
		})
	}
}

// TestEveryErrorAtOnce checks that validation does not stop at the first broken rule.
func TestEveryErrorAtOnce(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	doc := v1alpha1test.Case{Base: "Cluster/iaas", Patch: map[string]any{
		"metadata": map[string]any{"name": "Bad"},
		"spec": map[string]any{
			"tags":  []any{"azure:x", "windows:y"},
			"azure": map[string]any{"location": "West Europe", "subscriptionID": "x"},
		},
	}}.Apply(t, f)
	obj, derrs := v1alpha1.DecodeObject(doc)
	if derrs != nil {
		t.Fatal(derrs)
	}
	v1alpha1.Default(obj)
	got := fieldRules(v1alpha1.Validate(context.Background(), obj, f))
	want := []string{"metadata.name format", "spec.azure.location format", "spec.azure.subscriptionID format", "spec.tags[0] reserved", "spec.tags[1] reserved"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDefaults(t *testing.T) {
	fx, _ := v1alpha1test.LoadFixtures(t).Get("Cluster/iaas")
	c := fx.Object.(*v1alpha1.Cluster)
	cp := c.Spec.MachinePools[0]
	if *cp.Min != 3 || *cp.Max != 3 || cp.OSDisk.SizeGB != 60 || cp.OSDisk.Type != "Standard_LRS" || cp.InstanceType != v1alpha1.DefaultInstanceType {
		t.Errorf("control-plane pool defaults: %+v min=%d max=%d", cp, *cp.Min, *cp.Max)
	}
	if w := c.Spec.MachinePools[1]; *w.Min != 1 || *w.Max != 5 {
		t.Errorf("explicit min/max overwritten: %d/%d", *w.Min, *w.Max)
	}
	pcg := &v1alpha1.PrivateCloudGateway{Spec: v1alpha1.PrivateCloudGatewaySpec{Proxy: &v1alpha1.ProxySettings{HTTPProxy: "http://p:3128"}}}
	v1alpha1.Default(pcg)
	v1alpha1.Default(pcg)
	if pcg.Spec.Proxy.HTTPSProxy != "http://p:3128" || !slices.Equal(pcg.Spec.Proxy.NoProxy, []string{v1alpha1.InstanceMetadataIP}) {
		t.Errorf("gateway defaults: %+v", pcg.Spec.Proxy)
	}
	acct := &v1alpha1.CloudAccount{}
	v1alpha1.Default(acct)
	if acct.Spec.Azure.Environment != v1alpha1.EnvironmentPublic {
		t.Errorf("environment default = %q", acct.Spec.Azure.Environment)
	}
	prof := &v1alpha1.ClusterProfile{}
	v1alpha1.Default(prof)
	if prof.Spec.Version != "1.0.0" {
		t.Errorf("profile version default = %q", prof.Spec.Version)
	}
}

// TestUpdateKeepsSecret checks that an update may leave out the client secret when one is stored.
func TestUpdateKeepsSecret(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	fx, _ := f.Get("CloudAccount/account")
	old := fx.Object
	upd := *old.(*v1alpha1.CloudAccount)
	upd.Spec.Azure.ClientSecret = v1alpha1.Secret{}
	if errs := v1alpha1.ValidateUpdate(context.Background(), old, &upd, f); len(errs) > 0 {
		t.Fatalf("update without secret refused: %v", errs)
	}
	if errs := v1alpha1.Validate(context.Background(), &upd, f); len(errs) != 1 || errs[0].Field != "spec.azure.clientSecret" {
		t.Fatalf("create without secret: %v", errs)
	}
}

// TestSecretTargetChanges checks which changes of an account say that its client secret would
// go somewhere else.
func TestSecretTargetChanges(t *testing.T) {
	base := v1alpha1.AzureCredentials{
		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		ClientSecret: v1alpha1.NewSecret("s"), Environment: v1alpha1.EnvironmentCustom,
		Endpoints: &v1alpha1.CloudEndpoints{ResourceManager: "https://arm.example/", ActiveDirectory: "https://login.example/", StorageSuffix: "blob.example", CABundle: "pem"},
	}
	tests := []struct {
		name   string
		change func(a *v1alpha1.AzureCredentials)
		want   []string
	}{
		{"nothing", func(*v1alpha1.AzureCredentials) {}, nil},
		{"the secret itself", func(a *v1alpha1.AzureCredentials) { a.ClientSecret = v1alpha1.Secret{} }, nil},
		{"tenant", func(a *v1alpha1.AzureCredentials) { a.TenantID = "0c263486-ca8b-474c-81ef-346c7ebeea82" }, []string{"tenantID"}},
		{"client", func(a *v1alpha1.AzureCredentials) { a.ClientID = "0074ad29-0377-473f-8280-fc6c8872b24d" }, []string{"clientID"}},
		{"Entra ID and Resource Manager", func(a *v1alpha1.AzureCredentials) {
			a.Endpoints.ActiveDirectory, a.Endpoints.ResourceManager = "https://evil.example/", "https://evil.example/"
		}, []string{"endpoints.resourceManager", "endpoints.activeDirectory"}},
		{"storage suffix", func(a *v1alpha1.AzureCredentials) { a.Endpoints.StorageSuffix = "evil.example" }, []string{"endpoints.storageSuffix"}},
		{"CA bundle", func(a *v1alpha1.AzureCredentials) { a.Endpoints.CABundle = "other pem" }, []string{"endpoints.caBundle"}},
		{"to the public cloud", func(a *v1alpha1.AzureCredentials) { a.Environment, a.Endpoints = v1alpha1.EnvironmentPublic, nil },
			[]string{"environment", "endpoints.resourceManager", "endpoints.activeDirectory", "endpoints.storageSuffix", "endpoints.caBundle"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := base
			ep := *base.Endpoints
			after.Endpoints = &ep
			tc.change(&after)
			if got := v1alpha1.SecretTargetChanges(base, after); !slices.Equal(got, tc.want) {
				t.Fatalf("changes = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExamplesAreValid validates the repository's examples against each other.
func TestExamplesAreValid(t *testing.T) {
	paths, err := fs.Glob(examples.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var all v1alpha1test.Fixtures
	kinds := map[string]bool{}
	for _, p := range paths {
		data, err := fs.ReadFile(examples.FS, p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := v1alpha1.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(objs) == 0 {
			t.Errorf("%s holds no object", p)
		}
		for _, o := range objs {
			v1alpha1.Default(o)
			kinds[o.GetTypeMeta().Kind] = true
			all = append(all, v1alpha1test.Fixture{ID: o.GetTypeMeta().Kind + "/" + o.Key(), Object: o})
		}
	}
	// The examples show every kind; an empty or broken embed must not pass as valid.
	for _, k := range []string{v1alpha1.KindCloudAccount, v1alpha1.KindPrivateCloudGateway, v1alpha1.KindClusterProfile, v1alpha1.KindCluster} {
		if !kinds[k] {
			t.Errorf("no example of kind %s among %v", k, paths)
		}
	}
	for _, fx := range all {
		if errs := v1alpha1.Validate(context.Background(), fx.Object, all); len(errs) > 0 {
			t.Errorf("%s: %v", fx.ID, errs)
		}
	}
}

// TestValidUpdates checks that the changes AKS makes in place are accepted: each case validates
// the fixture Base patched with New as an update of Base patched with Old.
func TestValidUpdates(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	override := func(values string) map[string]any {
		return map[string]any{"spec": map[string]any{"profiles": []any{
			map[string]any{"name": "aks", "version": "1.0.0", "values": map[string]any{"kubernetes": "managedControlPlane:\n" + values}},
		}}}
	}
	pools := func(p ...map[string]any) map[string]any {
		list := make([]any, len(p))
		for i := range p {
			list[i] = p[i]
		}
		return map[string]any{"spec": map[string]any{"machinePools": list}}
	}
	system := map[string]any{"name": "system", "system": true, "count": 3, "zones": []any{"1", "2", "3"}}
	user := map[string]any{"name": "user", "count": 0, "min": 0, "max": 10, "maxPods": 110}
	with := func(pool map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range pool {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name     string
		base     string
		old, new map[string]any
	}{
		{name: "nothing changed", base: "Cluster/aks"},
		{name: "iaas cluster scaled", base: "Cluster/iaas", new: map[string]any{"spec": map[string]any{"machinePools": []any{
			map[string]any{"name": "control-plane", "controlPlane": true, "count": 3, "zones": []any{"1", "2", "3"}},
			map[string]any{"name": "workers", "count": 4, "min": 2, "max": 8},
		}}}},
		{name: "SKU Free to Standard", base: "Cluster/aks", old: override("  sku: Free\n")},
		{name: "SKU Standard to Free", base: "Cluster/aks", new: override("  sku: Free\n")},
		{name: "upgrade channel rapid to stable", base: "Cluster/aks", new: override("  autoUpgradeProfile:\n    upgradeChannel: stable\n")},
		{name: "auto upgrades turned off with channel none", base: "Cluster/aks", new: override("  autoUpgradeProfile:\n    upgradeChannel: none\n")},
		{name: "auto upgrades set up", base: "Cluster/aks", old: override("  autoUpgradeProfile: null\n")},
		{name: "admin group changed", base: "Cluster/aks", new: override("  aadProfile:\n    adminGroupObjectIDs:\n      - 0b9a3f1e-7c2d-4e5f-8a6b-9c0d1e2f3a4b\n")},
		{name: "Entra ID turned on", base: "Cluster/aks", old: override("  aadProfile: null\n")},
		{name: "local accounts turned back on", base: "Cluster/aks", new: override("  aadProfile:\n    disableLocalAccounts: false\n")},
		{name: "OIDC issuer turned on", base: "Cluster/aks", old: override("  oidcIssuerProfile: null\n  securityProfile: null\n")},
		{name: "workload identity disabled with enabled false", base: "Cluster/aks", new: override("  securityProfile:\n    workloadIdentity:\n      enabled: false\n")},
		{name: "disabled workload identity block removed", base: "Cluster/aks",
			old: override("  securityProfile:\n    workloadIdentity:\n      enabled: false\n"), new: override("  securityProfile: null\n")},
		{name: "add-on disabled with enabled false", base: "Cluster/aks", new: override("  addonProfiles:\n    - name: azurepolicy\n      enabled: false\n    - name: omsagent\n      enabled: false\n    - name: azureKeyvaultSecretsProvider\n      enabled: false\n")},
		{name: "add-on added and the list reordered", base: "Cluster/aks",
			old: override("  addonProfiles:\n    - name: omsagent\n      enabled: false\n"),
			new: override("  addonProfiles:\n    - name: azurepolicy\n      enabled: true\n    - name: omsagent\n      enabled: false\n")},
		{name: "Kubernetes upgraded one minor version", base: "Cluster/aks", new: map[string]any{"spec": map[string]any{"profiles": []any{map[string]any{"name": "aks", "version": "1.1.0"}}}}},
		{name: "Kubernetes upgraded from a v-prefixed version", base: "Cluster/aks",
			old: map[string]any{"spec": map[string]any{"profiles": []any{map[string]any{"name": "aks", "version": "0.9.0"}}}}},
		{name: "pool count, min and max changed", base: "Cluster/aks", new: pools(with(system, "count", 5, "min", 3, "max", 9), with(user, "count", 2, "min", 1, "max", 20))},
		{name: "pool labels and taints changed", base: "Cluster/aks", new: pools(with(system, "labels", map[string]any{"tier": "system"}),
			with(user, "labels", map[string]any{"workload": "batch"}, "taints", []any{map[string]any{"key": "batch", "effect": "NoSchedule"}}))},
		{name: "pool zones reordered", base: "Cluster/aks", new: pools(with(system, "zones", []any{"3", "1", "2"}), user)},
		{name: "pool added", base: "Cluster/aks", new: pools(system, user, map[string]any{"name": "gpu", "count": 1, "instanceType": "Standard_NC6s_v3", "maxPods": 30})},
		{name: "user pool removed", base: "Cluster/aks", new: pools(system)},
		{name: "system pool removed while another remains", base: "Cluster/aks",
			old: pools(system, map[string]any{"name": "systemb", "system": true, "count": 2}, user), new: pools(system, user)},
		{name: "user pool made a system pool", base: "Cluster/aks", new: pools(system, with(user, "system", true, "count", 2, "min", 2))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			decode := func(patch map[string]any) v1alpha1.Object {
				t.Helper()
				obj, errs := v1alpha1.DecodeObject(v1alpha1test.Case{Base: tc.base, Patch: patch}.Apply(t, f))
				if errs != nil {
					t.Fatal(errs)
				}
				v1alpha1.Default(obj)
				return obj
			}
			old, obj := decode(tc.old), decode(tc.new)
			if errs := v1alpha1.Validate(context.Background(), old, f); len(errs) > 0 {
				t.Fatalf("old object invalid: %v", errs)
			}
			if errs := v1alpha1.ValidateUpdate(context.Background(), old, obj, f); len(errs) > 0 {
				t.Fatalf("update refused: %v", errs)
			}
		})
	}
}
