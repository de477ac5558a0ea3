package containerservice_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"golang.org/x/crypto/ssh"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

const loc = "westeurope"

var pollOpts = &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}

func sshKey(t *testing.T, rsaKey bool) string {
	var pub any
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	} else {
		p, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = p
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

type clients struct {
	mc    *armcontainerservice.ManagedClustersClient
	pools *armcontainerservice.AgentPoolsClient
	vnets *armnetwork.VirtualNetworksClient
	rgs   *armresources.ResourceGroupsClient
}

func newClients(t *testing.T, e *emulatortest.Env) clients {
	var c clients
	var err error
	if c.mc, err = armcontainerservice.NewManagedClustersClient(e.SubscriptionID, e.Cred, e.ClientOptions); err != nil {
		t.Fatal(err)
	}
	if c.pools, err = armcontainerservice.NewAgentPoolsClient(e.SubscriptionID, e.Cred, e.ClientOptions); err != nil {
		t.Fatal(err)
	}
	if c.vnets, err = armnetwork.NewVirtualNetworksClient(e.SubscriptionID, e.Cred, e.ClientOptions); err != nil {
		t.Fatal(err)
	}
	if c.rgs, err = armresources.NewResourceGroupsClient(e.SubscriptionID, e.Cred, e.ClientOptions); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c clients) subnet(t *testing.T, rg string) string {
	ctx := context.Background()
	p := emulatortest.Must[*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse]](t)(c.vnets.BeginCreateOrUpdate(ctx, rg, "aks-vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(loc),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.10.0.0/16")}},
			Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.10.0.0/20")}}},
		},
	}, nil))
	return *emulatortest.Must[armnetwork.VirtualNetworksClientCreateOrUpdateResponse](t)(p.PollUntilDone(ctx, pollOpts)).Properties.Subnets[0].ID
}

// clusterSpec is an AKS cluster as strata would ask for one.
func clusterSpec(t *testing.T, subnet string) armcontainerservice.ManagedCluster {
	return armcontainerservice.ManagedCluster{
		Location: to.Ptr(loc),
		Tags:     map[string]*string{"owner": to.Ptr("strata")},
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		SKU:      &armcontainerservice.ManagedClusterSKU{Name: to.Ptr(armcontainerservice.ManagedClusterSKUNameBase), Tier: to.Ptr(armcontainerservice.ManagedClusterSKUTierStandard)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			KubernetesVersion: to.Ptr("1.30"),
			DNSPrefix:         to.Ptr("prod-aks"),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{
				{Name: to.Ptr("system"), Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem), Count: to.Ptr[int32](3), VMSize: to.Ptr("Standard_D4s_v3"),
					AvailabilityZones: []*string{to.Ptr("1"), to.Ptr("2"), to.Ptr("3")}, VnetSubnetID: to.Ptr(subnet)},
				{Name: to.Ptr("work"), Mode: to.Ptr(armcontainerservice.AgentPoolModeUser), VMSize: to.Ptr("Standard_D8s_v3"),
					EnableAutoScaling: to.Ptr(true), MinCount: to.Ptr[int32](1), MaxCount: to.Ptr[int32](5), VnetSubnetID: to.Ptr(subnet)},
			},
			LinuxProfile: &armcontainerservice.LinuxProfile{AdminUsername: to.Ptr("azureuser"), SSH: &armcontainerservice.SSHConfiguration{
				PublicKeys: []*armcontainerservice.SSHPublicKey{{KeyData: to.Ptr(sshKey(t, true))}}}},
			AADProfile: &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(true), EnableAzureRBAC: to.Ptr(true),
				AdminGroupObjectIDs: []*string{to.Ptr("8b3b7a2e-59b3-4b8f-9c1e-2b0f8e5d1a11")}, TenantID: to.Ptr("72f988bf-86f1-41af-91ab-2d7cd011db47")},
			AutoUpgradeProfile: &armcontainerservice.ManagedClusterAutoUpgradeProfile{UpgradeChannel: to.Ptr(armcontainerservice.UpgradeChannelRapid)},
			NetworkProfile:     &armcontainerservice.NetworkProfile{NetworkPlugin: to.Ptr(armcontainerservice.NetworkPluginAzure)},
		},
	}
}

func (c clients) create(ctx context.Context, rg, name string, mc armcontainerservice.ManagedCluster) (armcontainerservice.ManagedCluster, error) {
	p, err := c.mc.BeginCreateOrUpdate(ctx, rg, name, mc, nil)
	if err != nil {
		return armcontainerservice.ManagedCluster{}, err
	}
	r, err := p.PollUntilDone(ctx, pollOpts)
	return r.ManagedCluster, err
}

func (c clients) putPool(ctx context.Context, rg, cluster, name string, p armcontainerservice.ManagedClusterAgentPoolProfileProperties) (armcontainerservice.AgentPool, error) {
	poller, err := c.pools.BeginCreateOrUpdate(ctx, rg, cluster, name, armcontainerservice.AgentPool{Properties: &p}, nil)
	if err != nil {
		return armcontainerservice.AgentPool{}, err
	}
	r, err := poller.PollUntilDone(ctx, pollOpts)
	return r.AgentPool, err
}

// kubeconfig decodes the one kubeconfig of a credential list.
func kubeconfig(t *testing.T, res armcontainerservice.CredentialResults, name string) map[string]any {
	t.Helper()
	if len(res.Kubeconfigs) != 1 || *res.Kubeconfigs[0].Name != name {
		t.Fatalf("kubeconfigs %+v", res.Kubeconfigs)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(res.Kubeconfigs[0].Value, &cfg); err != nil {
		t.Fatalf("the kubeconfig is not YAML: %v", err)
	}
	return cfg
}

func field(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

func TestKubernetesVersions(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	r := emulatortest.Must[armcontainerservice.ManagedClustersClientListKubernetesVersionsResponse](t)(c.mc.ListKubernetesVersions(ctx, loc, nil))
	var minors []string
	defaults := 0
	for _, v := range r.Values {
		minors = append(minors, *v.Version)
		if v.IsDefault != nil && *v.IsDefault {
			defaults++
			if *v.Version != "1.31" {
				t.Errorf("default version %s", *v.Version)
			}
		}
		if len(v.PatchVersions) == 0 {
			t.Errorf("%s has no patch versions", *v.Version)
		}
	}
	if fmt.Sprint(minors) != "[1.29 1.30 1.31]" || defaults != 1 {
		t.Errorf("versions %v, %d defaults", minors, defaults)
	}
	up := r.Values[1].PatchVersions["1.30.9"].Upgrades
	var ups []string
	for _, u := range up {
		ups = append(ups, *u)
	}
	if !slices.Contains(ups, "1.30.12") || !slices.Contains(ups, "1.31.8") || slices.Contains(ups, "1.30.6") {
		t.Errorf("upgrades of 1.30.9: %v", ups)
	}
	_, err := c.mc.ListKubernetesVersions(ctx, "atlantis", nil)
	emulatortest.WantCode(t, err, "LocationNotAvailableForResourceType")
}

func TestManagedClusterLifecycle(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-aks")
	subnet := c.subnet(t, "rg-aks")

	mc, err := c.create(ctx, "rg-aks", "prod", clusterSpec(t, subnet))
	if err != nil {
		t.Fatal(err)
	}
	p := mc.Properties
	if *p.ProvisioningState != "Succeeded" || *p.CurrentKubernetesVersion != "1.30.12" || *p.KubernetesVersion != "1.30" {
		t.Errorf("state %s versions %s/%s", *p.ProvisioningState, *p.KubernetesVersion, *p.CurrentKubernetesVersion)
	}
	if !regexp.MustCompile(`^prod-aks-[0-9a-f]{8}\.hcp\.westeurope\.azmk8s\.io$`).MatchString(*p.Fqdn) {
		t.Errorf("fqdn %s", *p.Fqdn)
	}
	if *p.NodeResourceGroup != "MC_rg-aks_prod_westeurope" || *p.PowerState.Code != armcontainerservice.CodeRunning {
		t.Errorf("node RG %s power %v", *p.NodeResourceGroup, *p.PowerState.Code)
	}
	if *mc.SKU.Tier != armcontainerservice.ManagedClusterSKUTierStandard || *p.AutoUpgradeProfile.UpgradeChannel != armcontainerservice.UpgradeChannelRapid ||
		!*p.AADProfile.Managed || mc.Identity.PrincipalID == nil || *p.NetworkProfile.ServiceCidr != "10.0.0.0/16" {
		t.Errorf("cluster %+v", mc)
	}
	if len(p.AgentPoolProfiles) != 2 || *p.AgentPoolProfiles[0].Name != "system" || *p.AgentPoolProfiles[1].Count != 1 ||
		*p.AgentPoolProfiles[0].CurrentOrchestratorVersion != "1.30.12" {
		t.Errorf("agent pools %+v", p.AgentPoolProfiles)
	}
	rg := emulatortest.Must[armresources.ResourceGroupsClientGetResponse](t)(c.rgs.Get(ctx, "MC_rg-aks_prod_westeurope", nil))
	if !strings.EqualFold(*rg.ManagedBy, *mc.ID) {
		t.Errorf("node resource group managed by %v", rg.ManagedBy)
	}

	// Credentials.
	admin := kubeconfig(t, emulatortest.Must[armcontainerservice.ManagedClustersClientListClusterAdminCredentialsResponse](t)(c.mc.ListClusterAdminCredentials(ctx, "rg-aks", "prod", nil)).CredentialResults, "clusterAdmin")
	server := "https://" + *p.Fqdn + ":443"
	if field(admin, "clusters", 0, "cluster", "server") != server || field(admin, "current-context") != "prod-admin" ||
		field(admin, "users", 0, "name") != "clusterAdmin_rg-aks_prod" || field(admin, "users", 0, "user", "token") == nil {
		t.Errorf("admin kubeconfig %v", admin)
	}
	caPEM, _ := base64.StdEncoding.DecodeString(field(admin, "clusters", 0, "cluster", "certificate-authority-data").(string))
	certPEM, _ := base64.StdEncoding.DecodeString(field(admin, "users", 0, "user", "client-certificate-data").(string))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA is not PEM")
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		t.Fatal("the client certificate is not PEM")
	}
	cert := emulatortest.Must[*x509.Certificate](t)(x509.ParseCertificate(blk.Bytes))
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the client certificate is not signed by the CA: %v", err)
	}
	again := kubeconfig(t, emulatortest.Must[armcontainerservice.ManagedClustersClientListClusterAdminCredentialsResponse](t)(c.mc.ListClusterAdminCredentials(ctx, "rg-aks", "prod", nil)).CredentialResults, "clusterAdmin")
	if field(again, "clusters", 0, "cluster", "certificate-authority-data") != field(admin, "clusters", 0, "cluster", "certificate-authority-data") {
		t.Error("the cluster CA changed between two calls")
	}
	user := kubeconfig(t, emulatortest.Must[armcontainerservice.ManagedClustersClientListClusterUserCredentialsResponse](t)(c.mc.ListClusterUserCredentials(ctx, "rg-aks", "prod", nil)).CredentialResults, "clusterUser")
	if field(user, "users", 0, "user", "exec", "command") != "kubelogin" || field(user, "clusters", 0, "cluster", "server") != server ||
		!slices.Contains(field(user, "users", 0, "user", "exec", "args").([]any), any("72f988bf-86f1-41af-91ab-2d7cd011db47")) {
		t.Errorf("user kubeconfig of an AAD cluster %v", user)
	}

	// GET and lists.
	g := emulatortest.Must[armcontainerservice.ManagedClustersClientGetResponse](t)(c.mc.Get(ctx, "rg-aks", "prod", nil))
	if *g.Properties.Fqdn != *p.Fqdn || len(g.Properties.AgentPoolProfiles) != 2 {
		t.Errorf("GET %+v", g.Properties)
	}
	n := 0
	for pg := c.mc.NewListByResourceGroupPager("rg-aks", nil); pg.More(); {
		n += len(emulatortest.Must[armcontainerservice.ManagedClustersClientListByResourceGroupResponse](t)(pg.NextPage(ctx)).Value)
	}
	for pg := c.mc.NewListPager(nil); pg.More(); {
		n += len(emulatortest.Must[armcontainerservice.ManagedClustersClientListResponse](t)(pg.NextPage(ctx)).Value)
	}
	if n != 2 {
		t.Errorf("listed %d clusters", n)
	}

	// Updates: tags, then an upgrade by PUT; a downgrade is refused.
	tp := emulatortest.Must[*runtime.Poller[armcontainerservice.ManagedClustersClientUpdateTagsResponse]](t)(c.mc.BeginUpdateTags(ctx, "rg-aks", "prod",
		armcontainerservice.TagsObject{Tags: map[string]*string{"owner": to.Ptr("strata"), "env": to.Ptr("prod")}}, nil))
	if tr := emulatortest.Must[armcontainerservice.ManagedClustersClientUpdateTagsResponse](t)(tp.PollUntilDone(ctx, pollOpts)); *tr.Tags["env"] != "prod" {
		t.Errorf("tags %v", tr.Tags)
	}
	upgrade := clusterSpec(t, subnet)
	upgrade.Properties.KubernetesVersion = to.Ptr("1.31.8")
	upgrade.Properties.AgentPoolProfiles = nil
	u, err := c.create(ctx, "rg-aks", "prod", upgrade)
	if err != nil {
		t.Fatal(err)
	}
	if *u.Properties.CurrentKubernetesVersion != "1.31.8" || *u.Properties.Fqdn != *p.Fqdn || len(u.Properties.AgentPoolProfiles) != 2 {
		t.Errorf("after upgrade %+v", u.Properties)
	}
	cur := emulatortest.Must[armcontainerservice.ManagedClustersClientGetResponse](t)(c.mc.Get(ctx, "rg-aks", "prod", nil)).ManagedCluster
	cur.Tags["round"] = to.Ptr("trip")
	rt, err := c.create(ctx, "rg-aks", "prod", cur)
	if err != nil {
		t.Fatalf("GET-modify-PUT: %v", err)
	}
	if *rt.Properties.Fqdn != *p.Fqdn || *rt.Identity.PrincipalID != *mc.Identity.PrincipalID || *rt.Tags["round"] != "trip" || len(rt.Properties.AgentPoolProfiles) != 2 {
		t.Errorf("after GET-modify-PUT: %+v", rt.Properties)
	}
	down := clusterSpec(t, subnet)
	down.Properties.KubernetesVersion = to.Ptr("1.29.14")
	_, err = c.create(ctx, "rg-aks", "prod", down)
	emulatortest.WantCode(t, err, "OperationNotAllowed")

	// Agent pools as child resources.
	gpu, err := c.putPool(ctx, "rg-aks", "prod", "gpu", armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count: to.Ptr[int32](0), VMSize: to.Ptr("Standard_NC6s_v3"), AvailabilityZones: []*string{to.Ptr("1")}})
	if err != nil {
		t.Fatal(err)
	}
	if *gpu.Properties.Mode != armcontainerservice.AgentPoolModeUser || *gpu.Properties.CurrentOrchestratorVersion != "1.31.8" {
		t.Errorf("gpu pool %+v", gpu.Properties)
	}
	gpu, err = c.putPool(ctx, "rg-aks", "prod", "gpu", armcontainerservice.ManagedClusterAgentPoolProfileProperties{Count: to.Ptr[int32](2)})
	if err != nil || *gpu.Properties.Count != 2 || *gpu.Properties.VMSize != "Standard_NC6s_v3" {
		t.Errorf("scaling the gpu pool: %v %+v", err, gpu.Properties)
	}
	var poolNames []string
	for pg := c.pools.NewListPager("rg-aks", "prod", nil); pg.More(); {
		for _, ap := range emulatortest.Must[armcontainerservice.AgentPoolsClientListResponse](t)(pg.NextPage(ctx)).Value {
			poolNames = append(poolNames, *ap.Name)
		}
	}
	if fmt.Sprint(poolNames) != "[system work gpu]" {
		t.Errorf("pools %v", poolNames)
	}
	_, err = c.putPool(ctx, "rg-aks", "prod", "system", armcontainerservice.ManagedClusterAgentPoolProfileProperties{Mode: to.Ptr(armcontainerservice.AgentPoolModeUser)})
	emulatortest.WantCode(t, err, "MustDefineAtLeastOneSystemPool")
	_, err = c.pools.BeginDelete(ctx, "rg-aks", "prod", "system", nil)
	emulatortest.WantCode(t, err, "MustDefineAtLeastOneSystemPool")
	dp := emulatortest.Must[*runtime.Poller[armcontainerservice.AgentPoolsClientDeleteResponse]](t)(c.pools.BeginDelete(ctx, "rg-aks", "prod", "gpu", nil))
	emulatortest.Must[armcontainerservice.AgentPoolsClientDeleteResponse](t)(dp.PollUntilDone(ctx, pollOpts))
	_, err = c.pools.Get(ctx, "rg-aks", "prod", "gpu", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")

	// Upgrade profile.
	prof := emulatortest.Must[armcontainerservice.ManagedClustersClientGetUpgradeProfileResponse](t)(c.mc.GetUpgradeProfile(ctx, "rg-aks", "prod", nil))
	if *prof.Properties.ControlPlaneProfile.KubernetesVersion != "1.31.8" || len(prof.Properties.AgentPoolProfiles) != 2 {
		t.Errorf("upgrade profile %+v", prof.Properties)
	}

	// Delete: 202 and an operation the SDK follows; the node resource group goes too.
	del := emulatortest.Must[*runtime.Poller[armcontainerservice.ManagedClustersClientDeleteResponse]](t)(c.mc.BeginDelete(ctx, "rg-aks", "prod", nil))
	emulatortest.Must[armcontainerservice.ManagedClustersClientDeleteResponse](t)(del.PollUntilDone(ctx, pollOpts))
	_, err = c.mc.Get(ctx, "rg-aks", "prod", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
	_, err = c.rgs.Get(ctx, "MC_rg-aks_prod_westeurope", nil)
	emulatortest.WantCode(t, err, "ResourceGroupNotFound")
}

func TestManagedClusterErrors(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-bad")
	subnet := c.subnet(t, "rg-bad")

	cases := []struct {
		name, code string
		edit       func(*armcontainerservice.ManagedCluster)
	}{
		{"nosystem", "MustDefineAtLeastOneSystemPool", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[0].Mode = to.Ptr(armcontainerservice.AgentPoolModeUser)
		}},
		{"oldversion", "AgentPoolK8sVersionNotSupported", func(m *armcontainerservice.ManagedCluster) { m.Properties.KubernetesVersion = to.Ptr("1.27.3") }},
		{"baddns", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) { m.Properties.DNSPrefix = to.Ptr("-bad-") }},
		{"poolname", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[1].Name = to.Ptr("Work_Pool")
		}},
		{"poollong", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[1].Name = to.Ptr("abcdefghijklm")
		}},
		{"poolcount", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[0].Count = to.Ptr[int32](1001)
		}},
		{"systemzero", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[0].Count = to.Ptr[int32](0)
		}},
		{"autoscale", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) { m.Properties.AgentPoolProfiles[1].MinCount = nil }},
		{"ed25519", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.LinuxProfile.SSH.PublicKeys[0].KeyData = to.Ptr(sshKey(t, false))
		}},
		{"channel", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AutoUpgradeProfile.UpgradeChannel = to.Ptr(armcontainerservice.UpgradeChannel("weekly"))
		}},
		{"tier", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.SKU.Tier = to.Ptr(armcontainerservice.ManagedClusterSKUTier("Gold"))
		}},
		{"gpuzone3", "AvailabilityZoneNotSupported", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[1].VMSize = to.Ptr("Standard_NC6s_v3")
			m.Properties.AgentPoolProfiles[1].AvailabilityZones = []*string{to.Ptr("3")}
		}},
		{"nosubnet", "InvalidParameter", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[0].VnetSubnetID = to.Ptr(strings.Replace(subnet, "/nodes", "/absent", 1))
		}},
		{"newerpool", "NodePoolMcVersionIncompatible", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AgentPoolProfiles[1].OrchestratorVersion = to.Ptr("1.31.8")
		}},
		{"badgroup", "InvalidAdminGroupObjectID", func(m *armcontainerservice.ManagedCluster) {
			m.Properties.AADProfile.AdminGroupObjectIDs = []*string{to.Ptr("admins")}
		}},
		{"bad.name", "InvalidResourceName", func(*armcontainerservice.ManagedCluster) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := clusterSpec(t, subnet)
			tc.edit(&spec)
			_, err := c.create(ctx, "rg-bad", tc.name, spec)
			emulatortest.WantCode(t, err, tc.code)
			if _, err := c.mc.Get(ctx, "rg-bad", tc.name, nil); err == nil {
				t.Error("a refused cluster exists")
			}
		})
	}
	// Nothing was left behind by the refused creates.
	n := 0
	for pg := c.mc.NewListByResourceGroupPager("rg-bad", nil); pg.More(); {
		n += len(emulatortest.Must[armcontainerservice.ManagedClustersClientListByResourceGroupResponse](t)(pg.NextPage(ctx)).Value)
	}
	if n != 0 {
		t.Errorf("%d clusters after refused creates", n)
	}

	// Local accounts disabled: no admin credential.
	spec := clusterSpec(t, subnet)
	spec.Properties.DisableLocalAccounts = to.Ptr(true)
	if _, err := c.create(ctx, "rg-bad", "nolocal", spec); err != nil {
		t.Fatal(err)
	}
	_, err := c.mc.ListClusterAdminCredentials(ctx, "rg-bad", "nolocal", nil)
	emulatortest.WantCode(t, err, "BadRequest")
	// The last pool cannot go.
	wp := emulatortest.Must[*runtime.Poller[armcontainerservice.AgentPoolsClientDeleteResponse]](t)(c.pools.BeginDelete(ctx, "rg-bad", "nolocal", "work", nil))
	emulatortest.Must[armcontainerservice.AgentPoolsClientDeleteResponse](t)(wp.PollUntilDone(ctx, pollOpts))
	_, err = c.pools.BeginDelete(ctx, "rg-bad", "nolocal", "system", nil)
	emulatortest.WantCode(t, err, "OperationNotAllowed")
	// A control plane upgrade cannot skip a minor version.
	old := clusterSpec(t, subnet)
	old.Properties.KubernetesVersion = to.Ptr("1.29")
	if _, err := c.create(ctx, "rg-bad", "old", old); err != nil {
		t.Fatal(err)
	}
	old.Properties.KubernetesVersion = to.Ptr("1.31")
	_, err = c.create(ctx, "rg-bad", "old", old)
	emulatortest.WantCode(t, err, "OperationNotAllowed")
	// A pool name is checked on the agentPools API too.
	_, err = c.putPool(ctx, "rg-bad", "nolocal", "Bad-Pool", armcontainerservice.ManagedClusterAgentPoolProfileProperties{Count: to.Ptr[int32](1)})
	emulatortest.WantCode(t, err, "InvalidParameter")
}

// TestManagedClusterWithLatency follows a create and a delete that take time, as the SDK's
// pollers do against AKS.
func TestManagedClusterWithLatency(t *testing.T) {
	e := emulatortest.Start(t, func(o *emulator.Options) { o.Latency, o.LatencyScale = "realistic", 0.003 })
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-slow")
	subnet := c.subnet(t, "rg-slow")
	p := emulatortest.Must[*runtime.Poller[armcontainerservice.ManagedClustersClientCreateOrUpdateResponse]](t)(c.mc.BeginCreateOrUpdate(ctx, "rg-slow", "slow", clusterSpec(t, subnet), nil))
	g := emulatortest.Must[armcontainerservice.ManagedClustersClientGetResponse](t)(c.mc.Get(ctx, "rg-slow", "slow", nil))
	if *g.Properties.ProvisioningState != "Creating" || len(g.Properties.AgentPoolProfiles) != 2 {
		t.Errorf("while creating: %s, %d pools", *g.Properties.ProvisioningState, len(g.Properties.AgentPoolProfiles))
	}
	mc := emulatortest.Must[armcontainerservice.ManagedClustersClientCreateOrUpdateResponse](t)(p.PollUntilDone(ctx, pollOpts))
	if *mc.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("after create: %s", *mc.Properties.ProvisioningState)
	}
	var first *http.Response
	del := emulatortest.Must[*runtime.Poller[armcontainerservice.ManagedClustersClientDeleteResponse]](t)(c.mc.BeginDelete(policy.WithCaptureResponse(ctx, &first), "rg-slow", "slow", nil))
	if first.StatusCode != http.StatusAccepted || first.Header.Get("Azure-AsyncOperation") == "" || first.Header.Get("Location") == "" {
		t.Errorf("delete answered %d", first.StatusCode)
	}
	g = emulatortest.Must[armcontainerservice.ManagedClustersClientGetResponse](t)(c.mc.Get(ctx, "rg-slow", "slow", nil))
	if *g.Properties.ProvisioningState != "Deleting" {
		t.Errorf("while deleting: %s", *g.Properties.ProvisioningState)
	}
	emulatortest.Must[armcontainerservice.ManagedClustersClientDeleteResponse](t)(del.PollUntilDone(ctx, pollOpts))
	_, err := c.mc.Get(ctx, "rg-slow", "slow", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
}
