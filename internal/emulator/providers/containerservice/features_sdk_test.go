package containerservice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// The texts of the errors these tests expect (parts of the messages).
const (
	msgLegacyAAD         = "Azure AD integration (legacy) is retired"
	msgAADNotDisabled    = "Managed AAD can not be disabled."
	msgLocalAccounts     = "disableLocalAccounts can only be set on Azure AD integration enabled cluster"
	msgOIDCNotDisabled   = "OIDC issuer cannot be disabled once it is enabled"
	msgWorkloadNeedsOIDC = "Enabling workload identity requires enabling OIDC issuer"
	msgNotAllowed        = "Changing property '%s' is not allowed."
)

// wantError checks an error's code and that its message holds msg.
func wantError(t *testing.T, err error, code, msg string) {
	t.Helper()
	re := emulatortest.WantCode(t, err, code)
	if re.StatusCode != 400 {
		t.Errorf("status %d, want 400", re.StatusCode)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q lacks %q", err.Error(), msg)
	}
}

// featureEnv is an emulator with a resource group and a subnet for clusters.
type featureEnv struct {
	e      *emulatortest.Env
	c      clients
	rg     string
	subnet string
}

func newFeatureEnv(t *testing.T, rg string) featureEnv {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	e.ResourceGroup(t, rg)
	return featureEnv{e: e, c: c, rg: rg, subnet: c.subnet(t, rg)}
}

func (f featureEnv) spec(t *testing.T) armcontainerservice.ManagedCluster {
	return clusterSpec(t, f.subnet)
}

func (f featureEnv) put(t *testing.T, name string, mc armcontainerservice.ManagedCluster) (armcontainerservice.ManagedCluster, error) {
	t.Helper()
	return f.c.create(context.Background(), f.rg, name, mc)
}

func (f featureEnv) mustPut(t *testing.T, name string, mc armcontainerservice.ManagedCluster) armcontainerservice.ManagedCluster {
	t.Helper()
	r, err := f.put(t, name, mc)
	if err != nil {
		t.Fatalf("PUT %s: %v", name, err)
	}
	return r
}

func (f featureEnv) get(t *testing.T, name string) armcontainerservice.ManagedCluster {
	t.Helper()
	return emulatortest.Must[armcontainerservice.ManagedClustersClientGetResponse](t)(f.c.mc.Get(context.Background(), f.rg, name, nil)).ManagedCluster
}

// refused checks that a refused create left no cluster.
func (f featureEnv) refused(t *testing.T, name string) {
	t.Helper()
	if _, err := f.c.mc.Get(context.Background(), f.rg, name, nil); err == nil {
		t.Errorf("the refused cluster %s exists", name)
	}
}

var guidPattern = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

func TestManagedClusterAAD(t *testing.T) {
	f := newFeatureEnv(t, "rg-aad")
	legacy := func(m *armcontainerservice.ManagedCluster) {
		m.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(false),
			ClientAppID: to.Ptr("00000000-0000-0000-0000-000000000002"), ServerAppID: to.Ptr("00000000-0000-0000-0000-000000000001"),
			ServerAppSecret: to.Ptr("secret")}
	}
	cases := []struct {
		name, code, msg string
		edit            func(*armcontainerservice.ManagedCluster)
	}{
		{"legacy", "InvalidParameter", msgLegacyAAD, legacy},
		{"legacy-noapps", "InvalidParameter", msgLegacyAAD, func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(false)}
		}},
		{"legacy-implicit", "InvalidParameter", msgLegacyAAD, func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{AdminGroupObjectIDs: []*string{to.Ptr("8b3b7a2e-59b3-4b8f-9c1e-2b0f8e5d1a11")}}
		}},
		{"nolocal-noaad", "BadRequest", msgLocalAccounts, func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AADProfile = nil
			m.Properties.DisableLocalAccounts = to.Ptr(true)
		}},
		{"group-not-guid", "InvalidAdminGroupObjectID", "not a valid GUID", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AADProfile.AdminGroupObjectIDs = []*string{to.Ptr("8b3b7a2e-59b3-4b8f-9c1e-2b0f8e5d1a11"), to.Ptr("aks-admins")}
		}},
	}
	for _, tc := range cases {
		t.Run("create/"+tc.name, func(t *testing.T) {
			spec := f.spec(t)
			tc.edit(&spec)
			_, err := f.put(t, tc.name, spec)
			wantError(t, err, tc.code, tc.msg)
			f.refused(t, tc.name)
		})
	}

	t.Run("tenant", func(t *testing.T) {
		// Without a tenant ID, managed AAD uses the subscription's tenant.
		spec := f.spec(t)
		spec.Properties.AADProfile.TenantID = nil
		mc := f.mustPut(t, "deftenant", spec)
		if got := *mc.Properties.AADProfile.TenantID; got != f.e.TenantID {
			t.Errorf("aadProfile.tenantID %s, want the subscription's tenant %s", got, f.e.TenantID)
		}
		if got := *mc.Identity.TenantID; got != f.e.TenantID {
			t.Errorf("identity.tenantId %s, want %s", got, f.e.TenantID)
		}
		// A tenant ID that is sent stays.
		given := f.mustPut(t, "gventenant", f.spec(t))
		if got := *given.Properties.AADProfile.TenantID; got != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
			t.Errorf("aadProfile.tenantID %s, want the one sent", got)
		}
	})

	t.Run("update", func(t *testing.T) {
		f.mustPut(t, "aad", f.spec(t))
		off := f.spec(t)
		off.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(false)}
		_, err := f.put(t, "aad", off)
		wantError(t, err, "BadRequest", msgAADNotDisabled)
		null := f.spec(t)
		null.Properties.AADProfile = azcore.NullValue[*armcontainerservice.ManagedClusterAADProfile]()
		_, err = f.put(t, "aad", null)
		wantError(t, err, "BadRequest", msgAADNotDisabled)
		// Leaving aadProfile out keeps it.
		omit := f.spec(t)
		omit.Properties.AADProfile = nil
		if mc := f.mustPut(t, "aad", omit); mc.Properties.AADProfile == nil || !*mc.Properties.AADProfile.Managed {
			t.Errorf("aadProfile after a PUT without it: %+v", mc.Properties.AADProfile)
		}
		if got := f.get(t, "aad").Properties.AADProfile; !*got.Managed || *got.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
			t.Errorf("aadProfile after refused updates: %+v", got)
		}

		// A cluster without AAD: local accounts cannot be disabled, managed AAD can be added,
		// legacy AAD cannot.
		plain := f.spec(t)
		plain.Properties.AADProfile = nil
		f.mustPut(t, "plain", plain)
		plain.Properties.DisableLocalAccounts = to.Ptr(true)
		_, err = f.put(t, "plain", plain)
		wantError(t, err, "BadRequest", msgLocalAccounts)
		legacy(&plain)
		plain.Properties.DisableLocalAccounts = nil
		_, err = f.put(t, "plain", plain)
		wantError(t, err, "InvalidParameter", msgLegacyAAD)
		plain.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(true), EnableAzureRBAC: to.Ptr(true)}
		plain.Properties.DisableLocalAccounts = to.Ptr(true)
		mc := f.mustPut(t, "plain", plain)
		if !*mc.Properties.AADProfile.Managed || *mc.Properties.AADProfile.TenantID != f.e.TenantID || !*mc.Properties.DisableLocalAccounts {
			t.Errorf("after enabling managed AAD: %+v", mc.Properties.AADProfile)
		}
		_, err = f.c.mc.ListClusterAdminCredentials(context.Background(), f.rg, "plain", nil)
		emulatortest.WantCode(t, err, "BadRequest")
	})
}

func TestManagedClusterOIDCIssuer(t *testing.T) {
	f := newFeatureEnv(t, "rg-oidc")
	issuerRe := regexp.MustCompile(`^https://westeurope\.oic\.prod-aks\.azure\.com/` + regexp.QuoteMeta(f.e.TenantID) + `/(` + guidPattern + `)/$`)

	spec := f.spec(t)
	spec.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true)}
	spec.Properties.SecurityProfile = &armcontainerservice.ManagedClusterSecurityProfile{
		WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: to.Ptr(true)}}
	mc := f.mustPut(t, "wi", spec)
	url := *mc.Properties.OidcIssuerProfile.IssuerURL
	if !issuerRe.MatchString(url) || !*mc.Properties.SecurityProfile.WorkloadIdentity.Enabled {
		t.Fatalf("issuer URL %s, workload identity %v", url, mc.Properties.SecurityProfile.WorkloadIdentity.Enabled)
	}

	// The URL is kept by a GET-modify-PUT, a PUT without it, a PUT with another one and a PUT
	// that leaves the profile out.
	cur := f.get(t, "wi")
	cur.Tags["touched"] = to.Ptr("yes")
	if got := *f.mustPut(t, "wi", cur).Properties.OidcIssuerProfile.IssuerURL; got != url {
		t.Errorf("GET-modify-PUT changed the issuer URL: %s, was %s", got, url)
	}
	if got := *f.mustPut(t, "wi", spec).Properties.OidcIssuerProfile.IssuerURL; got != url {
		t.Errorf("PUT changed the issuer URL: %s", got)
	}
	forged := f.spec(t)
	forged.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true), IssuerURL: to.Ptr("https://example.com/")}
	if got := *f.mustPut(t, "wi", forged).Properties.OidcIssuerProfile.IssuerURL; got != url {
		t.Errorf("a sent issuer URL replaced the read-only one: %s", got)
	}
	if got := f.get(t, "wi").Properties; *got.OidcIssuerProfile.IssuerURL != url || !*got.SecurityProfile.WorkloadIdentity.Enabled {
		t.Errorf("after updates: issuer %s, workload identity %v", *got.OidcIssuerProfile.IssuerURL, *got.SecurityProfile.WorkloadIdentity.Enabled)
	}

	// Once on, the issuer stays on.
	off := f.spec(t)
	off.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(false)}
	_, err := f.put(t, "wi", off)
	wantError(t, err, "BadRequest", msgOIDCNotDisabled)
	off.Properties.OidcIssuerProfile = azcore.NullValue[*armcontainerservice.ManagedClusterOIDCIssuerProfile]()
	_, err = f.put(t, "wi", off)
	wantError(t, err, "BadRequest", msgOIDCNotDisabled)

	// A cluster without the issuer says so, and gets a URL of its own when it turns it on.
	plain := f.mustPut(t, "plain", f.spec(t))
	if p := plain.Properties.OidcIssuerProfile; p == nil || *p.Enabled || p.IssuerURL != nil {
		t.Errorf("oidcIssuerProfile of a cluster without it: %+v", p)
	}
	wiOnly := f.spec(t)
	wiOnly.Properties.SecurityProfile = spec.Properties.SecurityProfile
	_, err = f.put(t, "plain", wiOnly)
	wantError(t, err, "InvalidParameter", msgWorkloadNeedsOIDC)
	on := f.spec(t)
	on.Properties.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: to.Ptr(true)}
	url2 := *f.mustPut(t, "plain", on).Properties.OidcIssuerProfile.IssuerURL
	if !issuerRe.MatchString(url2) || issuerRe.FindStringSubmatch(url2)[1] == issuerRe.FindStringSubmatch(url)[1] {
		t.Errorf("issuer URL %s (the first cluster's %s)", url2, url)
	}
	if got := f.mustPut(t, "plain", wiOnly); !*got.Properties.SecurityProfile.WorkloadIdentity.Enabled || *got.Properties.OidcIssuerProfile.IssuerURL != url2 {
		t.Errorf("workload identity once the issuer is on: %+v", got.Properties.SecurityProfile)
	}

	// Workload identity without the issuer is refused on create.
	_, err = f.put(t, "nooidc", wiOnly)
	wantError(t, err, "InvalidParameter", msgWorkloadNeedsOIDC)
	f.refused(t, "nooidc")
}

func TestManagedClusterWorkloadAutoScaler(t *testing.T) {
	f := newFeatureEnv(t, "rg-keda")
	spec := f.spec(t)
	spec.Properties.WorkloadAutoScalerProfile = &armcontainerservice.ManagedClusterWorkloadAutoScalerProfile{
		Keda: &armcontainerservice.ManagedClusterWorkloadAutoScalerProfileKeda{Enabled: to.Ptr(true)}}
	mc := f.mustPut(t, "keda", spec)
	if w := mc.Properties.WorkloadAutoScalerProfile; w == nil || !*w.Keda.Enabled || w.VerticalPodAutoscaler != nil {
		t.Errorf("workloadAutoScalerProfile %+v", w)
	}
	spec.Properties.WorkloadAutoScalerProfile.Keda.Enabled = to.Ptr(false)
	spec.Properties.WorkloadAutoScalerProfile.VerticalPodAutoscaler = &armcontainerservice.ManagedClusterWorkloadAutoScalerProfileVerticalPodAutoscaler{Enabled: to.Ptr(true)}
	f.mustPut(t, "keda", spec)
	if w := f.get(t, "keda").Properties.WorkloadAutoScalerProfile; *w.Keda.Enabled || !*w.VerticalPodAutoscaler.Enabled {
		t.Errorf("after update: keda %v, VPA %v", *w.Keda.Enabled, *w.VerticalPodAutoscaler.Enabled)
	}
	bad := f.spec(t)
	bad.Properties.WorkloadAutoScalerProfile = &armcontainerservice.ManagedClusterWorkloadAutoScalerProfile{Keda: &armcontainerservice.ManagedClusterWorkloadAutoScalerProfileKeda{}}
	_, err := f.put(t, "nokedaflag", bad)
	wantError(t, err, "InvalidParameter", "workloadAutoScalerProfile.keda.enabled")
}

func TestManagedClusterAddons(t *testing.T) {
	f := newFeatureEnv(t, "rg-addons")
	workspace := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/logs", f.e.SubscriptionID)
	addon := func(enabled bool, cfg map[string]string) *armcontainerservice.ManagedClusterAddonProfile {
		p := &armcontainerservice.ManagedClusterAddonProfile{Enabled: to.Ptr(enabled)}
		if cfg != nil {
			p.Config = map[string]*string{}
			for k, v := range cfg {
				p.Config[k] = to.Ptr(v)
			}
		}
		return p
	}

	// Keys in any casing come back in AKS's, each enabled add-on with its identity.
	spec := f.spec(t)
	spec.Properties.AddonProfiles = map[string]*armcontainerservice.ManagedClusterAddonProfile{
		"AzurePolicy":                  addon(true, nil),
		"azurekeyvaultsecretsprovider": addon(true, map[string]string{"enableSecretRotation": "true"}),
		"OMSAgent":                     addon(true, map[string]string{"logAnalyticsWorkspaceResourceID": workspace}),
	}
	mc := f.mustPut(t, "addons", spec)
	names := slices.Sorted(maps.Keys(mc.Properties.AddonProfiles))
	if fmt.Sprint(names) != "[azureKeyvaultSecretsProvider azurepolicy omsagent]" {
		t.Fatalf("add-on keys %v", names)
	}
	idents := map[string]armcontainerservice.ManagedClusterAddonProfileIdentity{}
	for _, n := range names {
		p := mc.Properties.AddonProfiles[n]
		want := fmt.Sprintf("/subscriptions/%s/resourcegroups/MC_rg-addons_addons_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-addons",
			f.e.SubscriptionID, strings.ToLower(n))
		if !*p.Enabled || p.Identity == nil || *p.Identity.ResourceID != want ||
			!regexp.MustCompile(`^`+guidPattern+`$`).MatchString(*p.Identity.ClientID) || !regexp.MustCompile(`^`+guidPattern+`$`).MatchString(*p.Identity.ObjectID) {
			t.Errorf("add-on %s: %+v", n, p.Identity)
			continue
		}
		idents[n] = *p.Identity
	}
	kv := mc.Properties.AddonProfiles["azureKeyvaultSecretsProvider"].Config
	if *kv["enableSecretRotation"] != "true" || *kv["rotationPollInterval"] != "2m" {
		t.Errorf("key vault add-on config %v", kv)
	}
	if *mc.Properties.AddonProfiles["omsagent"].Config["logAnalyticsWorkspaceResourceID"] != workspace {
		t.Errorf("omsagent config %v", mc.Properties.AddonProfiles["omsagent"].Config)
	}

	// Identities stay across a GET-modify-PUT and a PUT that leaves the add-ons out.
	cur := f.get(t, "addons")
	cur.Tags["touched"] = to.Ptr("yes")
	f.mustPut(t, "addons", cur)
	f.mustPut(t, "addons", f.spec(t))
	same := spec
	same.Properties.AddonProfiles = map[string]*armcontainerservice.ManagedClusterAddonProfile{"azurepolicy": addon(true, nil)}
	f.mustPut(t, "addons", same)
	after := f.get(t, "addons").Properties.AddonProfiles
	for n, id := range idents {
		if got := after[n].Identity; got == nil || *got.ClientID != *id.ClientID || *got.ObjectID != *id.ObjectID || *got.ResourceID != *id.ResourceID {
			t.Errorf("add-on %s identity changed: %+v, was %+v", n, got, id)
		}
	}

	// A disabled add-on has no identity; enabled again, it gets one.
	off := f.spec(t)
	off.Properties.AddonProfiles = map[string]*armcontainerservice.ManagedClusterAddonProfile{"azurepolicy": addon(false, nil)}
	if p := f.mustPut(t, "addons", off).Properties.AddonProfiles["azurepolicy"]; *p.Enabled || p.Identity != nil {
		t.Errorf("disabled azurepolicy: enabled %v identity %+v", *p.Enabled, p.Identity)
	}
	off.Properties.AddonProfiles["azurepolicy"] = addon(true, nil)
	if p := f.mustPut(t, "addons", off).Properties.AddonProfiles["azurepolicy"]; p.Identity == nil || *p.Identity.ResourceID != *idents["azurepolicy"].ResourceID {
		t.Errorf("re-enabled azurepolicy: %+v", p.Identity)
	}

	cases := []struct {
		name, target string
		addons       map[string]*armcontainerservice.ManagedClusterAddonProfile
	}{
		{"unknown", "addonProfiles.httpApplicationRouter", map[string]*armcontainerservice.ManagedClusterAddonProfile{"httpApplicationRouter": addon(true, nil)}},
		{"twice", "addonProfiles.", map[string]*armcontainerservice.ManagedClusterAddonProfile{"azurepolicy": addon(true, nil), "azurePolicy": addon(true, nil)}},
		{"noflag", "addonProfiles.azurepolicy.enabled", map[string]*armcontainerservice.ManagedClusterAddonProfile{"azurepolicy": {}}},
		{"oms-noworkspace", "addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID", map[string]*armcontainerservice.ManagedClusterAddonProfile{"omsagent": addon(true, nil)}},
		{"oms-notworkspace", "addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID", map[string]*armcontainerservice.ManagedClusterAddonProfile{
			"omsagent": addon(true, map[string]string{"logAnalyticsWorkspaceResourceID": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/logs"})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := f.spec(t)
			s.Properties.AddonProfiles = tc.addons
			_, err := f.put(t, tc.name, s)
			wantError(t, err, "InvalidParameter", `"target": "`+tc.target)
			f.refused(t, tc.name)
			// Updates are checked too.
			_, err = f.put(t, "addons", s)
			emulatortest.WantCode(t, err, "InvalidParameter")
		})
	}
	// A disabled omsagent needs no workspace.
	s := f.spec(t)
	s.Properties.AddonProfiles = map[string]*armcontainerservice.ManagedClusterAddonProfile{"omsagent": addon(false, nil)}
	f.mustPut(t, "omsoff", s)
}

// poolJSON is a pool's properties as JSON, to compare pools.
func poolJSON(t *testing.T, p any) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAgentPoolSettings(t *testing.T) {
	f := newFeatureEnv(t, "rg-pools")
	ctx := context.Background()

	type edit func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties)
	bad := []struct {
		name, target string
		edit         edit
	}{
		{"maxpods-low", "agentPoolProfile.maxPods", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.MaxPods = to.Ptr[int32](9) }},
		{"maxpods-high", "agentPoolProfile.maxPods", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.MaxPods = to.Ptr[int32](251) }},
		{"disk-small", "agentPoolProfile.osDiskSizeGB", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.OSDiskSizeGB = to.Ptr[int32](29)
		}},
		{"disk-large", "agentPoolProfile.osDiskSizeGB", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.OSDiskSizeGB = to.Ptr[int32](2049)
		}},
		{"disk-type", "agentPoolProfile.osDiskType", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.OSDiskType = to.Ptr(armcontainerservice.OSDiskType("Premium"))
		}},
		{"taint", "agentPoolProfile.nodeTaints", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.NodeTaints = []*string{to.Ptr("gpu=true:Sometimes")}
		}},
		{"pool-tag", "", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.Tags = map[string]*string{"azure-owned": to.Ptr("x")}
		}},
	}
	// The same rules on the agentPools API and inline in the cluster PUT.
	f.mustPut(t, "pools", f.spec(t))
	for _, tc := range bad {
		t.Run("pool/"+tc.name, func(t *testing.T) {
			props := armcontainerservice.ManagedClusterAgentPoolProfileProperties{Count: to.Ptr[int32](1)}
			tc.edit(&props)
			_, err := f.c.putPool(ctx, f.rg, "pools", "extra", props)
			if tc.target == "" {
				emulatortest.WantCode(t, err, "InvalidTagName")
				return
			}
			wantError(t, err, "InvalidParameter", tc.target)
		})
		t.Run("inline/"+tc.name, func(t *testing.T) {
			spec := f.spec(t)
			props := armcontainerservice.ManagedClusterAgentPoolProfileProperties{}
			tc.edit(&props)
			p := spec.Properties.AgentPoolProfiles[1]
			p.MaxPods, p.OSDiskSizeGB, p.OSDiskType, p.NodeTaints, p.Tags = props.MaxPods, props.OSDiskSizeGB, props.OSDiskType, props.NodeTaints, props.Tags
			_, err := f.put(t, tc.name, spec)
			if tc.target == "" {
				emulatortest.WantCode(t, err, "InvalidTagName")
			} else {
				wantError(t, err, "InvalidParameter", tc.target)
			}
			f.refused(t, tc.name)
		})
	}

	// Settings within the limits are stored and returned, on both APIs.
	spec := f.spec(t)
	w := spec.Properties.AgentPoolProfiles[1]
	w.MaxPods, w.OSDiskSizeGB, w.OSDiskType = to.Ptr[int32](50), to.Ptr[int32](64), to.Ptr(armcontainerservice.OSDiskTypeEphemeral)
	w.Tags = map[string]*string{"team": to.Ptr("data"), "cost": to.Ptr("42")}
	w.NodeLabels = map[string]*string{"workload": to.Ptr("batch"), "example.com/tier": to.Ptr("gold")}
	w.NodeTaints = []*string{to.Ptr("batch=true:NoSchedule"), to.Ptr("spot:PreferNoSchedule")}
	mc := f.mustPut(t, "settings", spec)
	got := mc.Properties.AgentPoolProfiles[1]
	if *got.MaxPods != 50 || *got.OSDiskSizeGB != 64 || *got.OSDiskType != armcontainerservice.OSDiskTypeEphemeral ||
		*got.Tags["team"] != "data" || len(got.Tags) != 2 || *got.NodeLabels["example.com/tier"] != "gold" || len(got.NodeTaints) != 2 {
		t.Errorf("inline pool %s", poolJSON(t, got))
	}
	sys := mc.Properties.AgentPoolProfiles[0]
	if *sys.MaxPods != 110 || *sys.OSDiskSizeGB != 128 || *sys.OSDiskType != armcontainerservice.OSDiskTypeManaged {
		t.Errorf("defaults %d %d %s", *sys.MaxPods, *sys.OSDiskSizeGB, *sys.OSDiskType)
	}
	ap, err := f.c.putPool(ctx, f.rg, "settings", "gpu", armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count: to.Ptr[int32](1), MaxPods: to.Ptr[int32](250), OSDiskSizeGB: to.Ptr[int32](2048), OSDiskType: to.Ptr(armcontainerservice.OSDiskType("managed")),
		Tags: map[string]*string{"gpu": to.Ptr("yes")}, NodeLabels: map[string]*string{"accelerator": to.Ptr("nvidia")},
		NodeTaints: []*string{to.Ptr("nvidia.com/gpu=present:NoExecute")}})
	if err != nil {
		t.Fatal(err)
	}
	if p := ap.Properties; *p.MaxPods != 250 || *p.OSDiskSizeGB != 2048 || *p.OSDiskType != armcontainerservice.OSDiskTypeManaged ||
		*p.Tags["gpu"] != "yes" || *p.NodeLabels["accelerator"] != "nvidia" || *p.NodeTaints[0] != "nvidia.com/gpu=present:NoExecute" {
		t.Errorf("gpu pool %s", poolJSON(t, p))
	}

	// maxPods, osDiskSizeGB and osDiskType are fixed once the pool exists; sending the same
	// values, or 0 for the disk size, is fine.
	for _, tc := range []struct {
		prop string
		edit edit
	}{
		{"maxPods", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.MaxPods = to.Ptr[int32](60) }},
		{"osDiskSizeGB", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.OSDiskSizeGB = to.Ptr[int32](256)
		}},
		{"osDiskType", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
			p.OSDiskType = to.Ptr(armcontainerservice.OSDiskTypeManaged)
		}},
	} {
		t.Run("change/"+tc.prop, func(t *testing.T) {
			props := armcontainerservice.ManagedClusterAgentPoolProfileProperties{}
			tc.edit(&props)
			_, err := f.c.putPool(ctx, f.rg, "settings", "work", props)
			wantError(t, err, "PropertyChangeNotAllowed", fmt.Sprintf(msgNotAllowed, tc.prop))
			spec := f.spec(t)
			p := spec.Properties.AgentPoolProfiles[1]
			p.MaxPods, p.OSDiskSizeGB, p.OSDiskType = to.Ptr[int32](50), to.Ptr[int32](64), to.Ptr(armcontainerservice.OSDiskTypeEphemeral)
			switch tc.prop {
			case "maxPods":
				p.MaxPods = props.MaxPods
			case "osDiskSizeGB":
				p.OSDiskSizeGB = props.OSDiskSizeGB
			case "osDiskType":
				p.OSDiskType = props.OSDiskType
			}
			_, err = f.put(t, "settings", spec)
			wantError(t, err, "PropertyChangeNotAllowed", fmt.Sprintf(msgNotAllowed, tc.prop))
		})
	}
	if _, err := f.c.putPool(ctx, f.rg, "settings", "work", armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		MaxPods: to.Ptr[int32](50), OSDiskSizeGB: to.Ptr[int32](0), OSDiskType: to.Ptr(armcontainerservice.OSDiskTypeEphemeral)}); err != nil {
		t.Errorf("a PUT with the pool's own settings: %v", err)
	}

	// Tags, labels and taints are replaced by an update, through either API.
	up, err := f.c.putPool(ctx, f.rg, "settings", "work", armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Tags: map[string]*string{"team": to.Ptr("ml")}, NodeLabels: map[string]*string{"workload": to.Ptr("train")}, NodeTaints: []*string{}})
	if err != nil {
		t.Fatal(err)
	}
	if p := up.Properties; len(p.Tags) != 1 || *p.Tags["team"] != "ml" || len(p.NodeLabels) != 1 || *p.NodeLabels["workload"] != "train" || len(p.NodeTaints) != 0 || *p.MaxPods != 50 {
		t.Errorf("after the pool update %s", poolJSON(t, p))
	}
	spec.Properties.AgentPoolProfiles[1].Tags = map[string]*string{"team": to.Ptr("infra"), "env": to.Ptr("prod")}
	spec.Properties.AgentPoolProfiles[1].NodeTaints = []*string{to.Ptr("dedicated=infra:NoSchedule")}
	f.mustPut(t, "settings", spec)
	p := emulatortest.Must[armcontainerservice.AgentPoolsClientGetResponse](t)(f.c.pools.Get(ctx, f.rg, "settings", "work", nil)).Properties
	if len(p.Tags) != 2 || *p.Tags["env"] != "prod" || len(p.NodeTaints) != 1 || *p.NodeTaints[0] != "dedicated=infra:NoSchedule" {
		t.Errorf("after the cluster update %s", poolJSON(t, p))
	}
}

// TestManagedClusterDay2 makes the changes strata's day-2 operations make and checks that each
// is stored and returned exactly, and that a PUT without agentPoolProfiles leaves the pools be.
func TestManagedClusterDay2(t *testing.T) {
	f := newFeatureEnv(t, "rg-day2")
	ctx := context.Background()
	f.mustPut(t, "prod", f.spec(t))
	if _, err := f.c.putPool(ctx, f.rg, "prod", "extra", armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count: to.Ptr[int32](2), NodeLabels: map[string]*string{"a": to.Ptr("b")}}); err != nil {
		t.Fatal(err)
	}
	pools := func() map[string]string {
		out := map[string]string{}
		for pg := f.c.pools.NewListPager(f.rg, "prod", nil); pg.More(); {
			for _, ap := range emulatortest.Must[armcontainerservice.AgentPoolsClientListResponse](t)(pg.NextPage(ctx)).Value {
				out[*ap.Name] = poolJSON(t, ap)
			}
		}
		return out
	}
	before := pools()
	if len(before) != 3 {
		t.Fatalf("pools %v", slices.Sorted(maps.Keys(before)))
	}

	groups := func(ids ...string) []*string {
		out := make([]*string, len(ids))
		for i, id := range ids {
			out[i] = to.Ptr(id)
		}
		return out
	}
	const g1, g2, g3 = "8b3b7a2e-59b3-4b8f-9c1e-2b0f8e5d1a11", "0c3f3a54-2a3e-4c8e-9d55-5f0a6c1b2d33", "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
	steps := []struct {
		name    string
		tags    map[string]string
		tier    armcontainerservice.ManagedClusterSKUTier
		channel armcontainerservice.UpgradeChannel
		groups  []string
	}{
		{"first", map[string]string{"owner": "strata", "env": "prod"}, armcontainerservice.ManagedClusterSKUTierFree, armcontainerservice.UpgradeChannelStable, []string{g1, g2}},
		{"second", map[string]string{"env": "staging"}, armcontainerservice.ManagedClusterSKUTierPremium, armcontainerservice.UpgradeChannelPatch, []string{g3}},
		{"third", map[string]string{}, armcontainerservice.ManagedClusterSKUTierStandard, armcontainerservice.UpgradeChannelNone, []string{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			spec := f.spec(t)
			spec.Tags = map[string]*string{}
			for k, v := range st.tags {
				spec.Tags[k] = to.Ptr(v)
			}
			spec.SKU.Tier = to.Ptr(st.tier)
			spec.Properties.AutoUpgradeProfile.UpgradeChannel = to.Ptr(st.channel)
			spec.Properties.AADProfile.AdminGroupObjectIDs = groups(st.groups...)
			spec.Properties.AgentPoolProfiles = nil
			check := func(how string, mc armcontainerservice.ManagedCluster) {
				t.Helper()
				tags := map[string]string{}
				for k, v := range mc.Tags {
					tags[k] = *v
				}
				var gs []string
				for _, g := range mc.Properties.AADProfile.AdminGroupObjectIDs {
					gs = append(gs, *g)
				}
				if !maps.Equal(tags, st.tags) || *mc.SKU.Tier != st.tier || *mc.Properties.AutoUpgradeProfile.UpgradeChannel != st.channel ||
					!slices.Equal(gs, st.groups) && len(gs)+len(st.groups) > 0 {
					t.Errorf("%s: tags %v tier %s channel %s groups %v", how, tags, *mc.SKU.Tier, *mc.Properties.AutoUpgradeProfile.UpgradeChannel, gs)
				}
				if len(mc.Properties.AgentPoolProfiles) != 3 {
					t.Errorf("%s: %d pools", how, len(mc.Properties.AgentPoolProfiles))
				}
			}
			check("PUT", f.mustPut(t, "prod", spec))
			check("GET", f.get(t, "prod"))
			if after := pools(); !maps.Equal(after, before) {
				t.Errorf("pools changed by a PUT without agentPoolProfiles:\n%v\n%v", before, after)
			}
		})
	}

	// A GET-modify-PUT that drops a tag drops it.
	cur := f.get(t, "prod")
	cur.Tags = map[string]*string{"owner": to.Ptr("someone")}
	if mc := f.mustPut(t, "prod", cur); len(mc.Tags) != 1 || *mc.Tags["owner"] != "someone" {
		t.Errorf("tags after GET-modify-PUT %v", mc.Tags)
	}
}
